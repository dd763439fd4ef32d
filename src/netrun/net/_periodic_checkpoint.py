"""Capturing a net's state for a checkpoint, and periodic checkpoints of a running net.

:func:`capture_checkpoint` copies everything a checkpoint holds into plain data on the
caller's thread (the engine snapshot is taken under the engine lock); writing it (pickling,
files, fsync) is :meth:`CheckpointPayload.write`, which may run on another thread.

Periodic checkpoints (``Net(checkpoint_path=..., checkpoint_every_epochs=N,
checkpoint_every_seconds=T)``) are taken by the driver on the event loop between two
iterations of its loop, so no epoch that runs *on the loop* is half done. The net is not
paused: the capture takes about as long as copying the state (the engine snapshot and the
value dict), and the writing runs on a background thread while the net keeps going (one
write at a time; a checkpoint that falls due while the previous one is still being written
waits for the next occasion). When a run ends (blocked or paused) a last checkpoint is
written before ``start()`` returns (or, in a background run, when the net becomes blocked,
before ``wait_until_blocked()`` returns), if any epoch ended since the previous one.

**Epochs in flight.** Epochs running elsewhere when a periodic checkpoint is captured
(thread or process pools, async functions awaiting something) are *rewound* in the
checkpoint: recorded as startable with their original input packets and values, without
the packets they created, and without the values they sent to output queues or that still
wait on edges and input ports. After a resume they **run again from the start**, with their
retry counters as they were. A live (not deferred) epoch in a thread pool that had already
sent a salvo *and* whose packets already entered a downstream epoch may thus have those
outputs twice after the resume; nodes with ``defer_net_actions=True`` (and all process-pool
nodes) never do, because their actions reach the engine only when the epoch commits. The
number of rewound epochs is ``CheckpointMetadata.in_flight_epochs``.

A checkpoint that cannot be written (full disk, unpicklable value, unreachable backend) does
not stop the net: the previous checkpoint stays, the error is kept in
``net.last_checkpoint_error`` and reported with a ``RuntimeWarning`` naming the path.
"""

from __future__ import annotations

import dataclasses
import datetime
import threading
import time
import warnings
import weakref
from typing import Any, Optional

__all__ = ["CheckpointPayload", "capture_checkpoint", "PeriodicCheckpointer"]


@dataclasses.dataclass
class CheckpointPayload:
    """A captured net state, ready to be written by :func:`save_checkpoint_state`."""

    definition: str
    net_state: dict[str, Any]
    values: dict[str, Any]
    output_queues: dict[str, list]
    node_configs: dict[str, Any]  # the four sections of node_configs.json
    history: Optional[list]
    dead_letters: list
    retry_exceptions: dict[str, list]
    in_flight: int = 0
    periodic: bool = False

    def write(self, target: Any, *, backend: Any = None, storage_options: Optional[dict] = None,
              fsync: bool = True) -> None:
        from netrun.net.checkpoint import CheckpointMetadata, save_checkpoint_state

        metadata = CheckpointMetadata(timestamp=datetime.datetime.now(datetime.timezone.utc).isoformat(),
                                      in_flight_epochs=self.in_flight, periodic=self.periodic)
        save_checkpoint_state(target, self.definition, None, self.values, history_data=self.history,
                              metadata=metadata, net_state=self.net_state, output_queues=self.output_queues,
                              fsync=fsync, dead_letters=self.dead_letters,
                              retry_exceptions=self.retry_exceptions, backend=backend,
                              storage_options=storage_options, **self.node_configs)


def _epoch_state(run: Any) -> dict[str, Any]:
    if type(run) is tuple:
        from netrun.net._records import waiting_state

        return waiting_state(run)
    state = run.to_state()
    if run.retry_timestamps:
        state["retry_timestamps"] = [t.isoformat() for t in run.retry_timestamps]
    return state


def capture_checkpoint(net: Any, *, live: bool, definition: Optional[str] = None) -> CheckpointPayload:
    """Copy ``net``'s state. ``live`` (a periodic checkpoint of a running net, called on the
    loop between driver iterations) rewinds the epochs in flight (module docstring)."""
    from netrun.net._checkpoint_files import node_config_sections
    from netrun.net._checkpoint_runtime import capture_runtime

    core = net._core
    if definition is None:
        definition = net.to_toml()
    node_configs = node_config_sections(net)
    store = core.store
    with core.engine.lock:
        sim = core.engine.sim
        if not hasattr(sim, "snapshot"):
            from netrun.errors import NetrunRuntimeError

            raise NetrunRuntimeError("Cannot save a checkpoint: the installed engine has no NetSim.snapshot(); "
                                     "use the netrun_sim engine shipped with netrun")
        engine = sim.snapshot()
        runs = list(core.runs.values())
        values = dict(store._active)
        queues = core.queues.snapshot() if core.queues is not None else {}
    in_flight = [r for r in runs if type(r) is not tuple and r.started] if live else []
    rewound = _rewind(engine, in_flight, values, queues) if in_flight else 0
    retry_exceptions = {r.id: list(r.retry_exceptions) for r in runs
                        if type(r) is not tuple and r.retry_exceptions}
    history = net._history
    return CheckpointPayload(
        definition=definition,
        net_state={"engine": engine, "epochs": [_epoch_state(r) for r in runs], "state": core.state.name,
                   "runtime": capture_runtime(net, in_flight)},
        values=values,
        output_queues=queues,
        node_configs=node_configs,
        history=[e.to_dict() for e in history.get_entries()] if history is not None else None,
        dead_letters=net.dead_letter_queue.get_all(),
        retry_exceptions=retry_exceptions,
        in_flight=rewound,
        periodic=live,
    )


def _rewind(engine: dict, in_flight: list, values: dict, queues: dict) -> int:
    """Turn running epochs back into startable ones in snapshot data (see module docs)."""
    epochs = {e["id"]: e for e in engine["epochs"]}
    rewound: dict[str, Any] = {}
    sent: set[str] = set()
    for run in in_flight:
        data = epochs.get(run.id)
        if data is None:
            continue
        if data["state"] == 1:  # Running in the engine (a pool may not have started it yet)
            for salvo in data["out_salvos"]:
                sent.update(pid for _, pid in salvo[1])  # [condition, [[port, pid], ...]]
            data["state"] = 0
            data["out_salvos"] = []
            data["orphaned_packets"] = []
            engine["startable"].append(run.id)
        rewound[run.id] = run
        saved = getattr(run, "saved_inputs", None) or {}
        ctx_values = getattr(run.ctx, "packet_values", None) or {}
        for _, pid in run.pairs:
            if pid not in values:
                if pid in saved:
                    values[pid] = saved[pid]
                elif pid in ctx_values:
                    values[pid] = ctx_values[pid]
    locations = []
    for key, pids in engine["locations"]:
        if key[0] in ("N", "O") and key[1] in rewound:
            inputs = {pid for _, pid in rewound[key[1]].pairs}
            for pid in pids:  # packets the epoch created and still holds
                if pid not in inputs:
                    values.pop(pid, None)
            continue
        if sent and key[0] in ("I", "E", "X"):
            kept = [pid for pid in pids if pid not in sent]
            for pid in pids:
                if pid in sent:
                    values.pop(pid, None)
            if not kept:
                continue
            pids = kept
        locations.append([key, pids])
    for eid, run in rewound.items():
        locations.append([["N", eid], [pid for _, pid in run.pairs]])
    engine["locations"] = locations
    for name, items in queues.items():
        queues[name] = [item for item in items if item[2] not in rewound]
    return len(rewound)


class PeriodicCheckpointer:
    """Takes the periodic checkpoints of one net (see the module docstring)."""

    def __init__(self, net: Any, path: Any, every_epochs: Optional[int], every_seconds: Optional[float],
                 backend: Any = None, storage_options: Optional[dict] = None) -> None:
        from netrun.errors import NodeConfigError

        if every_epochs is None and every_seconds is None:
            every_epochs = 1000
        if every_epochs is not None and (isinstance(every_epochs, bool) or not isinstance(every_epochs, int)
                                         or every_epochs < 1):
            raise NodeConfigError(f"checkpoint_every_epochs must be an integer >= 1, got {every_epochs!r}")
        if every_seconds is not None and (isinstance(every_seconds, bool)
                                          or not isinstance(every_seconds, (int, float)) or every_seconds <= 0):
            raise NodeConfigError(f"checkpoint_every_seconds must be a number > 0, got {every_seconds!r}")
        self._net_ref = weakref.ref(net)
        self.path = path
        self.backend = backend
        self.storage_options = storage_options
        self.every_epochs = every_epochs
        self.every_seconds = every_seconds
        self.ended = 0  # epochs ended since the last checkpoint (counted by the scheduler)
        self.last_time = time.monotonic()
        self.count = 0  # checkpoints written
        self.last_error: Optional[BaseException] = None
        self._writing: Optional[threading.Thread] = None
        self._definition: Optional[str] = None
        self._active = net._core.store._active

    def inputs_of(self, run: Any) -> dict[str, Any]:
        """The value entries of an epoch's input packets as it starts off the loop (an
        attempt in flight at a checkpoint is rewound to them)."""
        active = self._active
        return {pid: active[pid] for _, pid in run.pairs if pid in active}

    def due(self) -> bool:
        if self.ended == 0:
            return False
        if self.every_epochs is not None and self.ended >= self.every_epochs:
            return True
        return self.every_seconds is not None and time.monotonic() - self.last_time >= self.every_seconds

    def epoch_ended(self, core: Any) -> None:
        """Called by the scheduler on the loop when an epoch has ended (its effects are
        committed, nothing of it is half done): count it, and capture if due."""
        self.ended += 1
        if self.every_epochs is not None and self.ended >= self.every_epochs or (
            self.every_seconds is not None and time.monotonic() - self.last_time >= self.every_seconds
        ):
            self.maybe_take(core)

    def maybe_take(self, core: Any) -> None:
        """Capture now if due and no write runs (called on the loop at consistent points:
        between driver iterations and when an epoch has ended)."""
        if not self.due() or (self._writing is not None and self._writing.is_alive()):
            return
        payload = self._capture(core)
        if payload is None:
            return
        self._writing = threading.Thread(target=self._write, args=(payload,), daemon=True,
                                         name="netrun-checkpoint-writer")
        self._writing.start()

    def idle(self, core: Any) -> None:
        """The net is blocked (nothing runs, nothing can start): write a checkpoint now if any
        epoch ended since the last one, so a blocked net's checkpoint is complete."""
        if self.ended:
            self.run_ended(core)

    # How long the end of a run waits for a background write still in progress (a slow or
    # hung backend must not freeze the event loop for ever).
    FINAL_WAIT = 30.0

    def run_ended(self, core: Any) -> None:
        """The run stopped driving (blocked or paused): write a final checkpoint now (after
        the background write in progress, if any, waiting at most ``FINAL_WAIT`` seconds)."""
        self.wait(timeout=self.FINAL_WAIT)
        if self._writing is not None and self._writing.is_alive():
            self._failed(TimeoutError(
                f"the previous checkpoint write is still running after {self.FINAL_WAIT:g} s, so "
                f"the end-of-run checkpoint was skipped; check the storage backend"))
            return
        if self.ended == 0:
            return
        payload = self._capture(core)
        self._definition = None  # node setup may change before the next run
        if payload is not None:
            self._write(payload)

    def wait(self, timeout: Optional[float] = 30.0) -> None:
        """Wait for a background write to finish."""
        writing = self._writing
        if writing is not None:
            writing.join(timeout)

    def _capture(self, core: Any) -> Optional[CheckpointPayload]:
        net = self._net_ref()
        if net is None:
            return None
        if self._definition is None:
            self._definition = net.to_toml()  # node setup cannot change while the net runs
        try:
            payload = capture_checkpoint(net, live=True, definition=self._definition)
        except Exception as exc:
            self._failed(exc)
            return None
        self.ended = 0
        self.last_time = time.monotonic()
        return payload

    def _write(self, payload: CheckpointPayload) -> None:
        try:
            payload.write(self.path, backend=self.backend, storage_options=self.storage_options)
        except Exception as exc:
            self._failed(exc)
            return
        self.count += 1
        self.last_error = None

    def _failed(self, exc: BaseException) -> None:
        self.last_error = exc
        warnings.warn(f"Periodic checkpoint to '{self.path}' failed ({type(exc).__name__}: {exc}); the net "
                      f"keeps running and the previous checkpoint is unchanged", RuntimeWarning, stacklevel=2)

    def invalidate_definition(self) -> None:
        """Node functions or options changed (between runs): describe the net again."""
        self._definition = None
