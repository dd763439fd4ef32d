"""A net built from a ``NetConfig`` and driven with the published 0.5.0 lifecycle API.

``async with Net(config)`` initialises the net (pools, init functions, ``run_on_init``
nodes) and closes it at the end; ``await net.run_until_blocked()`` returns
``(progress, net_actions, epoch_logs)``. The same net works from plain synchronous code with
``with Net(config)`` and ``run_until_blocked_sync()`` (one persistent event loop per net).

Run: ``python examples/config_net_lifecycle.py``
"""

from __future__ import annotations

import asyncio

from netrun.config import NetConfig
from netrun.net import Net


def numbers() -> int:
    """A source node: fired once at init (run_on_init)."""
    return 21


def double(x: int) -> int:
    return 2 * x


def build() -> NetConfig:
    return NetConfig.model_validate({"graph": {
        "nodes": [
            {"name": "numbers", "factory": "netrun.node_factories.from_function",
             "factory_args": {"func": numbers}, "execution_config": {"run_on_init": True}},
            {"name": "double", "factory": "netrun.node_factories.from_function",
             "factory_args": {"func": double}},
        ],
        "edges": [{"source_node": "numbers", "source_port": "out", "target_node": "double", "target_port": "x"}],
    }})


async def run_async() -> tuple[list[int], list[str]]:
    async with Net(build()) as net:              # init: 'numbers' ran once
        net.inject_data("double", "x", [1, 2])
        progress, net_actions, epoch_logs = await net.run_until_blocked()
        assert progress
        return net.flush_output_queue("double::out"), [log.outcome for log in epoch_logs]


def run_sync() -> list[int]:
    with Net(build()) as net:                    # the same, from synchronous code
        net.run_until_blocked_sync()
        return net.flush_output_queue("double::out")


def main() -> tuple[list[int], list[str], list[int]]:
    values, outcomes = asyncio.run(run_async())
    values_sync = run_sync()
    print(f"async: {values} ({outcomes}); sync: {values_sync}")
    return values, outcomes, values_sync


if __name__ == "__main__":
    main()
