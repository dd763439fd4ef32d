"""Small ``NetConfig`` builders for the config front door tests (``test_config_net*.py``)."""

from __future__ import annotations

from typing import Any

from netrun.config import NetConfig

FROM_FUNCTION = "netrun.node_factories.from_function"


def fn(name: str, func: Any, **execution_config: Any) -> dict:
    """A node made by ``from_function`` (ports from the signature, condition ``trigger``)."""
    node = {"name": name, "factory": FROM_FUNCTION, "factory_args": {"func": func}}
    if execution_config:
        node["execution_config"] = execution_config
    return node


def manual(name: str, exec_func: Any, *, outs: tuple[str, ...] = ("out",), **execution_config: Any) -> dict:
    """A node with input ``x`` (one packet per epoch), the given outputs (all sent by
    condition ``send``) and an explicit exec function."""
    return {
        "name": name,
        "in_ports": {"x": {}},
        "out_ports": {o: {} for o in outs},
        "in_salvo_conditions": {"go": {
            "max_salvos": {"type": "finite", "max": 1},
            "ports": {"x": {"type": "count", "count": 1}},
            "term": {"type": "port", "port_name": "x", "state": {"type": "non_empty"}}}},
        "out_salvo_conditions": {"send": {
            "max_salvos": {"type": "infinite"},
            "ports": {o: {"type": "all"} for o in outs},
            "term": {"type": "port", "port_name": outs[0], "state": {"type": "non_empty"}}}},
        "execution_config": {"exec_node_func": exec_func, **execution_config},
    }


def edge(source: str, target: str, port: str = "x", out: str = "out") -> dict:
    return {"source_node": source, "source_port": out, "target_node": target, "target_port": port}


def config(nodes: list, edges: tuple | list = (), **net: Any) -> NetConfig:
    return NetConfig.model_validate({"graph": {"nodes": nodes, "edges": list(edges)}, **net})


# node functions (module level: from_function resolves annotations)
def source() -> int:
    return 5


def double(x: int) -> int:
    return 2 * x


def sink(x: int) -> int:
    return x


def boom(x: int) -> int:
    raise ValueError(f"boom {x}")


def pipeline(**source_config: Any) -> NetConfig:
    """source -> double -> sink; ``sink::out`` is the automatic output queue."""
    return config([fn("source", source, **source_config), fn("double", double), fn("sink", sink)],
                  [edge("source", "double"), edge("double", "sink")])
