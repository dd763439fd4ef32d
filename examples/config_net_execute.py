"""Running one node by hand: ``execute_node`` inside the net (an epoch like any other, its
outputs flow on) and outside it (the function called directly, the net untouched), and
``execute_epoch`` for an epoch that waits at a disabled node.

Run: ``python examples/config_net_execute.py``
"""

from __future__ import annotations

from netrun.config import NetConfig
from netrun.net import Net


def square(x: int) -> int:
    return x * x


def label(x: int) -> str:
    return f"value {x}"


def build() -> NetConfig:
    fn = lambda name, func: {"name": name, "factory": "netrun.node_factories.from_function",  # noqa: E731
                             "factory_args": {"func": func}}
    return NetConfig.model_validate({"graph": {
        "nodes": [fn("square", square), fn("label", label)],
        "edges": [{"source_node": "square", "source_port": "out", "target_node": "label", "target_port": "x"}],
    }})


def main() -> dict:
    with Net(build()) as net:
        outside = net.execute_node_sync("square", {"x": [7]}, outside_net=True)   # {'out': [49]}
        log = net.execute_node_sync("square", {"x": [3]})                         # an epoch in the net
        net.run_until_blocked_sync()                                               # 9 flows on to 'label'
        inside = net.flush_output_queue("label::out")
        net.disable_node("label")
        net.inject_data("label", "x", [5])
        net.run_until_blocked_sync()                                               # 'label' waits
        [waiting] = net.get_startable_epochs_by_node("label")
        by_hand = net.execute_epoch_sync(waiting)
        result = {"outside": outside, "inside": inside, "epoch": log.outcome,
                  "by_hand": (by_hand.outcome, net.flush_output_queue("label::out"))}
    print(result)
    return result


if __name__ == "__main__":
    main()
