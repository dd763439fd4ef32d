"""netrun_sim: the pure-Python packet/epoch engine (placeholder until the engine lands)."""
__all__: list[str] = []
class NetrunError(Exception):
    pass
