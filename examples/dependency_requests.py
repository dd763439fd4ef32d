"""Dependency edges and requests: source nodes that fire when someone downstream needs them.

``Settings`` is a source node (no inputs) that reads the current settings. The edge
``Settings.out -> Apply.settings`` is a **dependency edge**, so ``Apply`` may *request* input:

* ``on_startup``: the net's first step requests once, so ``Settings`` runs when the net starts;
* ``on_no_salvo_triggered``: when data waits at ``Apply`` but its salvo condition cannot fire
  (no settings yet), ``Apply`` requests again and ``Settings`` fires;
* ``net.request("Apply")`` asks explicitly; requests with the same label made together give
  one ``Settings`` epoch.

Run: ``.venv/bin/python examples/dependency_requests.py``
"""

from __future__ import annotations

from netrun.config import NetConfig
from netrun.config.runtime import runtime_setup
from netrun.net import Net

CONFIG = {
    "graph": {
        "nodes": [
            {"name": "Settings", "out_ports": {"out": {}}},
            {"name": "Apply", "in_ports": {"settings": {}, "item": {}}, "out_ports": {"out": {}},
             "in_salvo_conditions": {"default": {
                 "max_salvos": {"type": "finite", "max": 1},
                 "ports": {"settings": {"type": "count", "count": 1}, "item": {"type": "count", "count": 1}},
                 "term": {"type": "and", "terms": [
                     {"type": "port", "port_name": "settings", "state": {"type": "non_empty"}},
                     {"type": "port", "port_name": "item", "state": {"type": "non_empty"}}]}}},
             "dependency_request": {"triggers": ["on_startup", "on_no_salvo_triggered"], "label": "main"}},
        ],
        "edges": [
            {"source_node": "Settings", "source_port": "out", "target_node": "Apply",
             "target_port": "settings", "dependency": True},
        ],
    },
}


def make_settings(reads: list):
    def settings(ctx, packets):
        reads.append(ctx.epoch_id)
        ctx.load_output_port("out", ctx.create_packet({"scale": 10 * len(reads)}))
        ctx.send_output_salvo("default")
    return settings


def apply(ctx, packets):
    settings = ctx.consume_packet(packets["settings"][0])
    item = ctx.consume_packet(packets["item"][0])
    ctx.load_output_port("out", ctx.create_packet(item * settings["scale"]))
    ctx.send_output_salvo("default")


def main() -> dict:
    reads: list = []
    net = Net.from_setup(runtime_setup(NetConfig.model_validate(CONFIG)))
    net.set_node_exec("Settings", make_settings(reads))
    net.set_node_exec("Apply", apply)
    with net:
        net.inject_data("Apply", "item", [1])
        net.start()  # on_startup: Settings runs once; Apply uses its settings
        first = net.flush_output_queue("Apply::out")
        net.inject_data("Apply", "item", [2])
        net.start()  # no settings waiting: Apply requests them (on_no_salvo_triggered)
        second = net.flush_output_queue("Apply::out")
        net.request("Apply")
        net.request("Apply")  # same label, same step: one Settings epoch
        net.inject_data("Apply", "item", [3])
        net.start()
        third = net.flush_output_queue("Apply::out")
    result = {"first": first, "second": second, "third": third, "settings_reads": len(reads)}
    print(f"outputs: {first} {second} {third}; Settings ran {len(reads)} times")
    return result


if __name__ == "__main__":
    main()
