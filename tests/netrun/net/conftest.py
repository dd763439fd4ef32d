"""Fixtures for the runtime tests: every net made through ``make_net`` is stopped after the
test, so no loop thread or pool outlives it."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from netrun.net import Net  # noqa: E402


@pytest.fixture
def make_net():
    nets: list[Net] = []

    def make(graph, **options):
        net = Net(graph, **options)
        nets.append(net)
        return net

    yield make
    for net in nets:
        try:
            net.stop()
        except Exception:
            pass
