"""``run_to_targets``: run what feeds a node, and look at its inputs before it runs.

``Load -> Clean -> Train -> Publish``, plus an unrelated ``Audit`` node. Asking for the
target ``Train`` runs only ``Load`` and ``Clean`` and returns, for each epoch ``Train`` would
run, a ``TargetInputSalvo`` (node, salvo condition, epoch ID, ``{port: [values]}``) exactly
once. ``Train`` itself, ``Publish`` and ``Audit`` do not run; a later ``start()`` runs them.

Run: ``.venv/bin/python examples/targets.py``
"""

from __future__ import annotations

from netrun.config import NetConfig
from netrun.config.runtime import runtime_setup
from netrun.net import Net


def per_item(port: str) -> dict:
    return {"default": {"max_salvos": {"type": "finite", "max": 1},
                        "ports": {port: {"type": "count", "count": 1}},
                        "term": {"type": "port", "port_name": port, "state": {"type": "non_empty"}}}}


CONFIG = {
    "graph": {
        "nodes": [
            {"name": "Load", "in_ports": {"path": {}}, "out_ports": {"out": {}}, "in_salvo_conditions": per_item("path")},
            {"name": "Clean", "in_ports": {"rows": {}}, "out_ports": {"out": {}}, "in_salvo_conditions": per_item("rows")},
            {"name": "Train", "in_ports": {"rows": {}}, "out_ports": {"out": {}}, "in_salvo_conditions": per_item("rows")},
            {"name": "Publish", "in_ports": {"model": {}}},
            {"name": "Audit", "in_ports": {"event": {}}},
        ],
        "edges": [
            {"source_node": "Load", "source_port": "out", "target_node": "Clean", "target_port": "rows"},
            {"source_node": "Clean", "source_port": "out", "target_node": "Train", "target_port": "rows"},
            {"source_node": "Train", "source_port": "out", "target_node": "Publish", "target_port": "model"},
        ],
    },
}


def step(func):
    """A node function applying ``func`` to its one input packet."""
    def run(ctx, packets):
        [(port, [packet])] = packets.items()
        ctx.load_output_port("out", ctx.create_packet(func(ctx.consume_packet(packet))))
        ctx.send_output_salvo("default")
    return run


def main() -> dict:
    ran: list = []

    def record(name):
        def run(ctx, packets):
            for refs in packets.values():
                for p in refs:
                    ran.append((name, ctx.consume_packet(p)))
        return run

    net = Net.from_setup(runtime_setup(NetConfig.model_validate(CONFIG)))
    net.set_node_exec("Load", step(lambda path: [len(path), -1, 3]))
    net.set_node_exec("Clean", step(lambda rows: [r for r in rows if r >= 0]))
    net.set_node_exec("Train", step(lambda rows: {"weights": sum(rows)}))
    net.set_node_exec("Publish", record("Publish"))
    net.set_node_exec("Audit", record("Audit"))
    with net:
        net.inject_data("Load", "path", ["a.csv", "bb.csv"])
        net.inject_data("Audit", "event", ["login"])
        salvos = net.run_to_targets(["Train"])
        for salvo in salvos:
            print(f"{salvo.node_name} would run epoch {salvo.epoch_id} ({salvo.salvo_condition}) "
                  f"with {salvo.packets}")
        before = list(ran)
        again = net.run_to_targets(["Train"])  # already reported: nothing new
        net.start()  # now everything runs, the held Train epochs included
    print(f"ran before start(): {before}; after: {ran}")
    return {"salvos": [s.packets for s in salvos], "again": again, "before": before, "after": ran}


if __name__ == "__main__":
    main()
