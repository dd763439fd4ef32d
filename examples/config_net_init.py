"""Node start-up in a config-built net: ``run_on_init`` fires a source node once when the
net initialises; ``defer_init`` calls a node's init function only before its first epoch
(a node that never runs is never initialised, and not closed either).

Run: ``python examples/config_net_init.py``
"""

from __future__ import annotations

from netrun.config import NetConfig
from netrun.net import Net

EVENTS: list[str] = []


def open_model(net) -> None:
    EVENTS.append("model loaded")


def close_model(net) -> None:
    EVENTS.append("model closed")


def seed() -> int:
    EVENTS.append("seed fired")
    return 4


def predict(ctx, packets) -> None:
    value = ctx.consume_packet(packets["x"][0])
    ctx.load_output_port("out", ctx.create_packet(value * 10))
    ctx.send_output_salvo("send")


def build() -> NetConfig:
    return NetConfig.model_validate({"graph": {
        "nodes": [
            {"name": "seed", "factory": "netrun.node_factories.from_function", "factory_args": {"func": seed},
             "execution_config": {"run_on_init": True}},
            {"name": "predict", "in_ports": {"x": {}}, "out_ports": {"out": {}},
             "in_salvo_conditions": {"go": {
                 "max_salvos": {"type": "finite", "max": 1}, "ports": {"x": {"type": "count", "count": 1}},
                 "term": {"type": "port", "port_name": "x", "state": {"type": "non_empty"}}}},
             "out_salvo_conditions": {"send": {
                 "max_salvos": {"type": "infinite"}, "ports": {"out": {"type": "all"}},
                 "term": {"type": "port", "port_name": "out", "state": {"type": "non_empty"}}}},
             "execution_config": {"exec_node_func": predict, "init_node_func": open_model,
                                  "close_node_func": close_model, "defer_init": True}},
        ],
        "edges": [{"source_node": "seed", "source_port": "out", "target_node": "predict", "target_port": "x"}],
    }})


def main() -> tuple[list[str], list[int]]:
    EVENTS.clear()
    with Net(build()) as net:
        EVENTS.append("initialised")
        net.run_until_blocked_sync()
        results = net.flush_output_queue("predict::out")
    print(EVENTS, results)
    return list(EVENTS), results


if __name__ == "__main__":
    main()
