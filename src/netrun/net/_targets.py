"""``run_to_targets``: run only what feeds some nodes, and return what would start them.

>>> salvos = net.run_to_targets(["Report"])                 # doctest: +SKIP
>>> salvos[0].packets                                       # doctest: +SKIP
{'in': [42]}

The nodes upstream of the targets (a backward walk over the graph's edges) run as usual;
every other node, the targets included, is held back for the duration of the call (its
epochs stay startable). The call runs the net step by step (at most ``max_iterations``
steps) until nothing upstream can start, then returns one :class:`TargetInputSalvo` per
startable epoch of a target: its node, salvo condition, epoch ID and input values. The target
epochs are *not* executed; they stay startable, so a later ``start()`` runs them.

Unlike the published 0.5.0 runtime (which reported the same epoch again on every later
iteration), each target epoch is reported exactly once over the net's life: a second call
reports only epochs that became startable since.

A target is a node name, or ``(node name, salvo condition)`` to report only epochs created by
that input salvo condition. ``targets`` is one name or an iterable of targets (a bare tuple
counts as an iterable of targets, so wrap a pair in a list: ``[("B", "default")]``).
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Union

from netrun.errors import NetStateError, TargetNotFoundError

__all__ = ["TargetInputSalvo", "TargetMethods", "parse_targets", "upstream_nodes"]

Target = Union[str, tuple[str, str]]


@dataclass(frozen=True)
class TargetInputSalvo:
    """The input of one target epoch that ``run_to_targets`` stopped before running."""

    node_name: str
    salvo_condition: str
    epoch_id: str
    packets: dict[str, list[Any]] = field(default_factory=dict)  # {port: [values]}


def parse_targets(core: Any, targets: Target | Iterable[Target]) -> dict[str, set[str] | None]:
    """``{node: salvo conditions (None: any)}``; unknown nodes or conditions raise
    :class:`TargetNotFoundError`, malformed targets ``TypeError``."""
    items = [targets] if isinstance(targets, str) else list(targets)
    if not items:
        raise ValueError("run_to_targets needs at least one target (a node name or (node, salvo condition))")
    wanted: dict[str, set[str] | None] = {}
    for target in items:
        if isinstance(target, str):
            name, condition = target, None
        elif (isinstance(target, (tuple, list)) and len(target) == 2
              and all(isinstance(t, str) for t in target)):
            name, condition = target[0], target[1]
        else:
            raise TypeError(f"A target is a node name or a (node name, salvo condition) pair, got {target!r}")
        if name not in core.nodes:
            raise TargetNotFoundError(
                f"Target node {name!r} does not exist; the graph's nodes are: "
                f"{', '.join(sorted(core.nodes)) or 'none'}")
        conditions = core.info.in_conditions[name]
        if condition is not None and condition not in conditions:
            raise TargetNotFoundError(
                f"Target ({name!r}, {condition!r}): node '{name}' has no input salvo condition "
                f"{condition!r}; its input salvo conditions are: {', '.join(conditions) or 'none'}")
        if condition is None or (name in wanted and wanted[name] is None):
            wanted[name] = None  # any condition
        else:
            wanted.setdefault(name, set()).add(condition)  # type: ignore[union-attr]
    return wanted


def upstream_nodes(graph: Any, targets: Iterable[str]) -> set[str]:
    """Every node with a path of edges to one of ``targets`` (the targets not included,
    unless a cycle leads back to them)."""
    feeders: dict[str, list[str]] = {}
    for edge in graph.edges():
        feeders.setdefault(edge.target.node_name, []).append(edge.source.node_name)
    seen: set[str] = set()
    queue = deque(targets)
    while queue:
        for up in feeders.get(queue.popleft(), ()):
            if up not in seen:
                seen.add(up)
                queue.append(up)
    return seen


async def run_to_targets(core: Any, targets: Any, max_iterations: int, reported: set[str]) -> list[TargetInputSalvo]:
    """The async core of ``run_to_targets`` (see the module docstring)."""
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, int) or max_iterations < 1:
        raise ValueError(f"max_iterations must be an int >= 1, got {max_iterations!r}")
    wanted = parse_targets(core, targets)
    allowed = upstream_nodes(core.engine.graph, wanted) - set(wanted)
    if core.driving:
        raise NetStateError("Cannot run to targets while the net is running; call net.pause() first")
    holds = {name: node.enabled for name, node in core.nodes.items() if name not in allowed}
    core.target_holds = holds
    for name in holds:
        core.nodes[name].enabled = False
    try:
        for _ in range(max_iterations):
            if not await core.drive("step") and not core.engine.dirty:
                break
        else:
            warnings.warn(
                f"run_to_targets stopped after max_iterations={max_iterations} steps with work "
                f"left upstream of {sorted(wanted)}; pass a larger max_iterations to go further",
                RuntimeWarning, stacklevel=3)
    finally:
        core.target_holds = None
        for name, enabled in holds.items():
            node = core.nodes[name]
            node.enabled = enabled
            if enabled and node.ready:
                core.ready_nodes[name] = None
    return await _collect(core, wanted, reported)


async def _collect(core: Any, wanted: dict[str, set[str] | None], reported: set[str]) -> list[TargetInputSalvo]:
    store = core.store
    reported &= set(core.runs)  # forget epochs that have ended
    out: list[TargetInputSalvo] = []
    for run in sorted(tuple(core.runs.values()), key=_seq):
        if type(run) is tuple:
            epoch_id, name, pairs, condition = run[0], run[1], run[2], run[3]
        elif not run.started:
            epoch_id, name, pairs, condition = run.id, run.node.name, run.pairs, run.condition
        else:
            continue
        if name not in wanted or epoch_id in reported:
            continue
        conditions = wanted[name]
        controls = core.nodes[name].controls
        if (conditions is not None and condition not in conditions) or (controls and condition in controls):
            continue
        packets: dict[str, list[Any]] = {}
        for port, pid in pairs:
            value = await store.async_resolve_entry(pid, store.peek_entry(pid), name)
            packets.setdefault(port, []).append(value)
        reported.add(epoch_id)
        out.append(TargetInputSalvo(name, condition, epoch_id, packets))
    return out


def _seq(run: Any) -> int:
    return run[5] if type(run) is tuple else run.seq


class TargetMethods:
    """``run_to_targets`` / ``async_run_to_targets`` (mixed into :class:`netrun.net.Net`)."""

    _core: Any

    def _target_reported(self) -> set[str]:
        reported = self.__dict__.get("_reported_targets")
        if reported is None:
            reported = self.__dict__["_reported_targets"] = set()
        return reported

    def run_to_targets(self, targets: Any, *, max_iterations: int = 1000) -> Any:
        """Run only the nodes upstream of ``targets`` and return the input of every target
        epoch that became startable (a list of :class:`TargetInputSalvo`), each exactly once
        (see ``netrun.net._targets``). The target epochs are not executed. Unknown targets
        raise ``TargetNotFoundError``.

        Synchronous, like the net's other run methods; in a net opened with ``await
        net.init()`` and called from a coroutine it returns a coroutine instead (0.5.0's
        ``await net.run_to_targets(...)``), as the other 0.5.0 run methods do.
        """
        async_call = getattr(self, "_async_call", None)
        if async_call is not None and async_call():
            return self.async_run_to_targets(targets, max_iterations=max_iterations)
        loop_thread = self._loop_thread  # type: ignore[attr-defined]
        if loop_thread.in_loop_thread():
            raise NetStateError("run_to_targets was called from inside the net's own event loop "
                                "(e.g. from a node function); this would deadlock")
        self._check_open("run to targets")  # type: ignore[attr-defined]
        parse_targets(self._core, targets)  # bad targets fail here, before the loop starts
        return self._sync(run_to_targets(self._core, targets, max_iterations,  # type: ignore[attr-defined]
                                         self._target_reported()))

    async def async_run_to_targets(self, targets: Any, *, max_iterations: int = 1000) -> list[TargetInputSalvo]:
        """Async form of :meth:`run_to_targets` (runs on the caller's event loop)."""
        self._check_open("run to targets")  # type: ignore[attr-defined]
        return await run_to_targets(self._core, targets, max_iterations, self._target_reported())
