"""Failures of a config-built net: every one is an ``EpochError`` naming node, epoch, pool,
worker and retries, with the cause chained.

* ``propagate_exceptions = true`` (the default): ``run_until_blocked`` raises it; epochs
  already running finish normally and keep their packets (they are not cancelled);
* ``propagate_exceptions = false``: errors wait in ``net.exception_queue``;
  ``net.propagate_exceptions()`` raises them (one, or an ``ExceptionGroup``);
* ``max_epochs``: an epoch beyond the limit is cancelled, its packets go to the dead-letter
  queue, and a ``MaxEpochsExceeded`` is reported the same way.

Run: ``python examples/config_net_errors.py``
"""

from __future__ import annotations

from netrun.config import NetConfig
from netrun.errors import EpochError
from netrun.net import Net


def risky(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative input {x}")
    return x + 1


def build(**net_settings) -> NetConfig:
    return NetConfig.model_validate({"graph": {"nodes": [
        {"name": "risky", "factory": "netrun.node_factories.from_function", "factory_args": {"func": risky}},
    ]}, **net_settings})


def main() -> dict:
    out: dict = {}
    with Net(build()) as net:                                  # errors propagate
        net.inject_data("risky", "x", [-1])
        try:
            net.run_until_blocked_sync()
        except EpochError as error:
            out["raised"] = (error.node_name, error.pool_id, type(error.__cause__).__name__)
        out["dead_letters"] = [e.packet_values for e in net.clear_dead_letter_queue()]
    with Net(build(propagate_exceptions=False)) as net:       # errors are queued
        net.inject_data("risky", "x", [-2, 5, -3])
        net.run_until_blocked_sync()
        out["results"] = net.flush_output_queue("risky::out")
        out["queued"] = len(net.exception_queue)
        try:
            net.propagate_exceptions()
        except Exception as group:  # an ExceptionGroup of EpochErrors (backport on Python 3.10)
            out["group"] = sorted(str(e.__cause__) for e in group.exceptions)
    with Net(build(max_epochs=2, propagate_exceptions=False)) as net:
        net.inject_data("risky", "x", [1, 2, 3])
        net.run_until_blocked_sync()
        out["max_epochs"] = (net.flush_output_queue("risky::out"),
                             type(net.exception_queue[0].__cause__).__name__,
                             [list(e.packet_values.values()) for e in net.dead_letter_queue.get_all()])
    print(out)
    return out


if __name__ == "__main__":
    main()
