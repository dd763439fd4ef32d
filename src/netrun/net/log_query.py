"""``net.logs``: read and print the log lines of epochs and nodes (``NetLogQuery``).

Built on the node logs (every printed line, ``ctx.log`` entry and failure note, tagged
with its epoch), so it works without keeping every ``EpochLog`` in memory (the published
0.5.0 runtime needed ``retain_epoch_logs=True``). Memory stays bounded by the node logs'
own bound (``Net(..., node_log_max_entries=N)``) plus the bounded index of ended epochs
(``netrun.net._observability.DEFAULT_ENDED_EPOCH_INDEX``), which is filled only while
epoch logs are being built.

Which epochs are known: an epoch is known while it waits or runs; once ended it is known
if it wrote a log line, or if its ``EpochLog`` was built (an ``on_epoch_end`` callback,
``retain_epoch_logs``, a collecting ``run_step``) and is still in the bounded index.
:meth:`NetLogQuery.for_epoch` of any other ID raises :class:`EpochLogNotFoundError`.

Output formats (those of 0.5.0): ``for_epoch`` / ``for_node`` return ``[(datetime, text)]``,
``all_chronological`` ``[(datetime, epoch_id, node_name, text)]``; printed lines are
``[HH:MM:SS.mmm] text`` (without the stamp when ``include_timestamps=False``).
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any, Optional, TextIO

from netrun.errors import EpochLogNotFoundError

__all__ = ["NetLogQuery", "EpochLogNotFoundError"]


def _stamp(value: datetime) -> str:
    return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}"


class NetLogQuery:
    """Log lines of a net's epochs and nodes (``net.logs``); see the module docstring."""

    def __init__(self, core: Any) -> None:
        self._core = core
        self._logs = core.logs

    # ------------------------------------------------------------------ lookups
    def _node_of(self, epoch_id: str) -> Optional[str]:
        core = self._core
        node = self._logs.node_of_epoch(epoch_id)
        if node is not None:
            return node
        observe = core.observe
        known = observe.ended.get(epoch_id)
        if known is not None:
            return known[0]
        retained = observe.epoch_logs.get(epoch_id)
        if retained is not None:
            return retained.node_name
        node = core.node_of(epoch_id)
        if node is not None:
            return node
        for name, runtime in core.nodes.items():  # an epoch that logged without the manager's index
            if runtime.log is not None and runtime.log.has_epoch(epoch_id):
                return name
        return None

    def _epoch_node(self, epoch_id: Any) -> tuple[str, str]:
        if epoch_id is None or isinstance(epoch_id, (int, float, bool, bytes)):
            raise TypeError(f"net.logs needs an epoch ID (a string such as the epoch_id of an "
                            f"EpochLog), got {epoch_id!r}")
        eid = str(epoch_id)
        node = self._node_of(eid)
        if node is None:
            raise EpochLogNotFoundError(
                f"No log for epoch {eid!r}: this net has no record of it (it is not waiting or "
                f"running, wrote no log line, and no EpochLog of it was kept). Check the ID; to "
                f"keep a record of every ended epoch, create the net with retain_epoch_logs=True "
                f"or register an on_epoch_end callback")
        return eid, node

    def _pool_worker(self, epoch_id: str) -> Optional[str]:
        observe = self._core.observe
        known = observe.ended.get(epoch_id)
        if known is not None:
            pool, worker = known[1], known[2]
        else:
            retained = observe.epoch_logs.get(epoch_id)
            if retained is None:
                return None
            pool, worker = retained.pool_id, retained.worker_id
        if pool is None:
            return None
        return f"{pool}/{worker}" if worker is not None else str(pool)

    # ------------------------------------------------------------------ queries
    def for_epoch(self, epoch_id: Any) -> list[tuple[datetime, str]]:
        """An epoch's log lines, oldest first. Unknown epoch: :class:`EpochLogNotFoundError`."""
        eid, node = self._epoch_node(epoch_id)
        entries = self._logs.get_epoch_log(node, eid)
        if entries:
            return [(e.timestamp, str(e.message)) for e in entries]
        retained = self._core.observe.epoch_logs.get(eid)
        return list(retained.logs) if retained is not None else []

    def for_node(self, node_name: str) -> list[tuple[datetime, str]]:
        """A node's log lines (all epochs), oldest first. Unknown node:
        ``NodeNotFoundError``."""
        self._core.node(node_name)
        return [(e.timestamp, str(e.message)) for e in self._logs.get_node_log(node_name)]

    def all_chronological(self) -> list[tuple[datetime, Optional[str], str, str]]:
        """Every node's log lines merged by time: ``(timestamp, epoch_id, node, text)``."""
        lines = []
        for name in self._core.nodes:
            for e in self._logs.get_node_log(name):
                lines.append((e.timestamp, e.epoch_id, name, str(e.message)))
        lines.sort(key=lambda line: line[0])
        return lines

    # ------------------------------------------------------------------ printing
    def print_epoch(self, epoch_id: Any, include_timestamps: bool = True, *,
                    file: Optional[TextIO] = None) -> None:
        """Print an epoch's log lines."""
        out = file or sys.stdout
        for stamp, text in self.for_epoch(epoch_id):
            print(f"[{_stamp(stamp)}] {text}" if include_timestamps else text, file=out)

    def print_node(self, node_name: str, include_timestamps: bool = True, chronological: bool = False, *,
                   file: Optional[TextIO] = None) -> None:
        """Print a node's log lines: grouped by epoch under ``=== node ===`` and
        ``--- Epoch <id> [pool/worker] ---`` headings, or (``chronological=True``) one line
        each as ``[time] [epoch] text``."""
        self._core.node(node_name)
        out = file or sys.stdout
        entries = self._logs.get_node_log(node_name)
        if chronological:
            for e in entries:
                prefix = f"[{_stamp(e.timestamp)}] " if include_timestamps else ""
                print(f"{prefix}[{e.epoch_id or '-'}] {e.message}", file=out)
            return
        print(f"=== {node_name} ===", file=out)
        self._print_grouped(entries, include_timestamps, out)

    def _print_grouped(self, entries: list, include_timestamps: bool, out: TextIO) -> None:
        groups: dict[Optional[str], list] = {}
        for e in entries:
            groups.setdefault(e.epoch_id, []).append(e)
        for eid, group in groups.items():
            if eid is None:
                print("--- (outside epochs) ---", file=out)
            else:
                where = self._pool_worker(eid)
                print(f"--- Epoch {eid}{f' [{where}]' if where else ''} ---", file=out)
            for e in group:
                print(f"[{_stamp(e.timestamp)}] {e.message}" if include_timestamps else str(e.message), file=out)

    def print_all(self, include_timestamps: bool = True, chronological: bool = False, *,
                  file: Optional[TextIO] = None) -> None:
        """Print every node's log lines: node by node (as :meth:`print_node`), or
        (``chronological=True``) merged by time as ``[time] [node] text``."""
        out = file or sys.stdout
        if chronological:
            for stamp, _eid, node, text in self.all_chronological():
                prefix = f"[{_stamp(stamp)}] " if include_timestamps else ""
                print(f"{prefix}[{node}] {text}", file=out)
            return
        for name in self._core.nodes:
            entries = self._logs.get_node_log(name)
            if entries:
                print(f"=== {name} ===", file=out)
                self._print_grouped(entries, include_timestamps, out)
