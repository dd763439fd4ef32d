"""The published 0.5.0 lifecycle and run API, as methods of ``Net`` on the one scheduler.

Mixed into :class:`~netrun.net.Net` before :class:`~netrun.net._run_methods.RunMethods`.
Every method drives the same :class:`~netrun.net._scheduler.Scheduler` as the PROJECT_SPEC
methods; nothing here runs epochs another way.

**Naming: one method name, two call forms.** 0.5.0's run methods are coroutines
(``await net.run_until_blocked()``); PROJECT_SPEC's are synchronous (``net.run_step()``), and
where both define a name, PROJECT_SPEC's call form wins. The rule:

* a net opened with ``await net.init()`` (``async with Net(...)`` does that) is in *async
  mode*: called from a coroutine (a running event loop in the calling thread), ``run_step``,
  ``run_until_blocked``, ``wait_until_blocked`` and ``close`` return coroutines with 0.5.0's
  semantics and return values, running on the caller's loop;
* otherwise (and always when called from plain synchronous code) they are PROJECT_SPEC's
  synchronous methods on the net's private loop thread. ``run_until_blocked()`` then returns
  0.5.0's tuple as well;
* the 0.5.0 names without a PROJECT_SPEC counterpart (``init``, ``execute_epoch``,
  ``execute_node``, ``start_background``, ``wait_until_stopped``) are coroutines; each has a
  ``*_sync`` form (``init_sync``, ``close_sync``, ``run_until_blocked_sync``,
  ``run_step_sync``, ``execute_epoch_sync``, ``execute_node_sync``) that runs on the net's
  persistent private loop, so the sync API works (0.5.0's ``asyncio.run`` per call did not).

Return values: ``run_step`` / ``run_until_blocked`` give ``(progress, net_actions,
epoch_logs)``: whether any epoch started, the engine actions as ``NetActionLog`` records
when the observability layer provides them (else ``[]``), and the :class:`EpochLog` of every
epoch that ended during the call. ``execute_epoch`` / ``execute_node`` (inside the net)
return the epoch's :class:`EpochLog`; ``execute_node(..., outside_net=True)`` returns
``{out_port: [values]}``.

Errors: every epoch failure is an :class:`~netrun.errors.EpochError` (see
``_compat_policy.py``): raised by the run call, or queued in ``net.exception_queue`` when the
node does not propagate exceptions; ``net.propagate_exceptions()`` raises the queued ones.
"""

from __future__ import annotations

import asyncio
from typing import Any

from netrun._util.compat import ExceptionGroup as _ExceptionGroup
from netrun.errors import EpochNotFoundError, NetStateError, NodeConfigError
from netrun.net._controls import set_node_enabled
from netrun.net._compat_policy import fire_init_nodes, is_loop_of_core
from netrun.net._compat_run import (
    check_inputs,
    check_startable,
    create_epoch,
    execute_outside,
    net_from_config,
    run_selected,
)
from netrun.net._detached import pick_salvo_condition
from netrun.net.state import NetState

__all__ = ["CompatMethods", "net_from_config"]


class CompatMethods:
    """0.5.0 lifecycle/run methods of :class:`~netrun.net.Net` (see the module docstring)."""

    _core: Any
    _loop_thread: Any
    _compat_async = False  # opened with ``await net.init()``: 0.5.0 call forms from coroutines
    _compat_init_called = False
    _compat_inited = False
    _compat_paused = False
    _compat_task: asyncio.Task | None = None
    _compat_resume_threaded = False
    _compat_config: Any = None
    _compat_init_nodes: tuple = ()
    _run_init_nodes = True

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_file(cls, path: Any, *, keep_symlinks: bool = False, data_overrides: Any = None,
                  global_node_vars: Any = None, node_vars: Any = None, **net_options: Any) -> Any:
        """A net from a ``.toml`` / ``.json`` file (either layout): 0.5.0's
        ``Net.from_file(path, **overrides)``. The overrides are those of
        ``NetConfig.from_file`` (``keep_symlinks``, ``data_overrides`` merged into the file's
        top level, ``global_node_vars``, ``node_vars``); any other keyword is a ``Net(...)``
        option (``run_init_nodes=False``, ``on_error=...``). Every problem of the file is
        reported at once in :class:`netrun.config.ConfigValidationFailed` naming the file."""
        import inspect

        from netrun.config import ConfigValidationFailed, NetConfig, validate_config

        accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "graph"}
        unknown = sorted(set(net_options) - accepted - {"run_init_nodes"})
        if unknown:
            fields = [k for k in unknown if k in NetConfig.model_fields]
            which = "is a NetConfig field" if len(fields) == 1 else "are NetConfig fields"
            hint = (f"; {', '.join(fields)} {which}: pass data_overrides={{{fields[0]!r}: ...}}"
                    if fields else "")
            raise TypeError(f"Net.from_file({str(path)!r}) got unknown keyword(s) {', '.join(unknown)}: "
                            f"it takes keep_symlinks, data_overrides, global_node_vars, node_vars "
                            f"and Net(...) options{hint}")
        cfg = NetConfig.from_file(path, keep_symlinks=keep_symlinks, data_overrides=data_overrides,
                                  global_node_vars=global_node_vars, node_vars=node_vars)
        problems = validate_config(cfg)
        if problems:
            raise ConfigValidationFailed(problems, file=str(cfg.file_path))
        return cls(cfg, **net_options)

    # ------------------------------------------------------------------ helpers
    def _async_call(self) -> bool:
        """Whether a clashing name is called in its 0.5.0 (coroutine) form."""
        if not self._compat_async:
            return False
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return not self._loop_thread.in_loop_thread()

    async def _collecting(self, run: Any) -> tuple[bool, list, list]:
        """Await a drive while collecting the ``EpochLog`` of every epoch that ends."""
        core = self._core
        observe = getattr(core, "observe", None)
        if observe is not None and hasattr(observe, "collect"):  # net actions + epoch logs
            with observe.collect() as collector:
                progress = await run
            return bool(progress), collector.net_actions, collector.epoch_logs
        logs: list = []

        def collect(node_name: str, epoch_id: str, log: Any) -> None:
            logs.append(log)

        core.epoch_end_callbacks.append(collect)
        try:
            progress = await run
        finally:
            core.epoch_end_callbacks.remove(collect)
        return bool(progress), [], logs

    def _claimed_sync(self, make: Any) -> Any:
        """Run ``make()`` (a coroutine using a claimed drive) on the private loop."""
        core = self._core
        if self._loop_thread.in_loop_thread():
            raise NetStateError(
                "A synchronous run method was called from inside the net's own event loop "
                "(e.g. from a node function); this would deadlock")
        core.claim()
        try:
            return self._sync(make())  # type: ignore[attr-defined]
        except BaseException:
            if core.driving and not self._loop_thread.is_running:
                core.driving = False
            raise

    # ------------------------------------------------------------------ lifecycle
    async def init(self, run_init_nodes: bool | None = None) -> None:
        """Start pools, call init functions (except ``defer_init`` nodes'), and run the
        ``run_on_init`` nodes once each (skipping disabled nodes). Puts the net in async
        mode (module docstring). Raises ``NetStateError`` if called twice."""
        self._check_init()
        self._compat_async = True
        self._core.on_started = None  # init runs the run_on_init nodes itself
        await self._core.drive("init", body=self._init_body(run_init_nodes))

    def init_sync(self, run_init_nodes: bool | None = None) -> None:
        """:meth:`init` on the net's private loop (the sync API; works, unlike 0.5.0's)."""
        self._check_init()
        self._core.on_started = None  # init runs the run_on_init nodes itself
        self._claimed_sync(lambda: self._core.drive("init", claimed=True, body=self._init_body(run_init_nodes)))

    def _check_init(self) -> None:
        if self._core.state is NetState.STOPPED:
            raise NetStateError("Cannot init: the net is closed; build a new Net")
        if self._compat_init_called:
            raise NetStateError("The net is already initialised (init() was called before); "
                                "call init() once, or use `async with` / `with` alone")
        self._compat_init_called = True

    def _init_body(self, run_init_nodes: bool | None) -> Any:
        fire = self._run_init_nodes if run_init_nodes is None else run_init_nodes

        async def body() -> bool:
            core = self._core
            if self._compat_inited:
                return False
            ids = fire_init_nodes(self) if fire else []  # type: ignore[arg-type]
            self._compat_inited = True
            core.on_started = None
            if ids:
                await run_selected(core, ids)
            return bool(ids)

        return body

    async def async_close(self) -> None:
        """Close the net (0.5.0 ``await net.close()``): running epochs finish, close (stop)
        functions of initialised nodes run, pools shut down."""
        await self._stop_compat_task()
        await self.async_stop()  # type: ignore[attr-defined]

    def close_sync(self) -> None:
        """Close the net from synchronous code (same as :meth:`stop`)."""
        self.stop()  # type: ignore[attr-defined]

    def close(self) -> Any:  # type: ignore[override]
        """Close the net: ``net.close()`` (sync, PROJECT_SPEC ``stop``), or ``await
        net.close()`` in async mode (module docstring)."""
        if self._async_call():
            return self.async_close()
        self.stop()  # type: ignore[attr-defined]
        return None

    def __enter__(self) -> Any:
        if not self._compat_init_called and self._core.state is not NetState.STOPPED:
            self.init_sync()
        return self

    async def __aenter__(self) -> Any:
        if not self._compat_init_called and self._core.state is not NetState.STOPPED:
            await self.init()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.async_close()

    @property
    def initialized(self) -> bool:
        """Whether the net was initialised (``init()``) or has run."""
        return self._compat_init_called or self._compat_inited or bool(self._core.started)

    # ------------------------------------------------------------------ running
    def run_step(self, start_epochs: bool = True, threaded: bool = False, *,
                 auto_start_epochs: bool | None = None) -> Any:
        """PROJECT_SPEC: one step (returns whether an epoch started). In async mode from a
        coroutine: 0.5.0's ``await net.run_step(auto_start_epochs=True)`` returning
        ``(progress, net_actions, epoch_logs)``."""
        start = start_epochs if auto_start_epochs is None else auto_start_epochs
        if self._async_call():
            return self._async_step(start)
        return super().run_step(start, threaded)  # type: ignore[misc]

    async def _async_step(self, start: bool) -> tuple[bool, list, list]:
        if not start:
            return self._advance_only(), [], []
        return await self._collecting(self._core.drive("step"))

    def _advance_only(self) -> bool:
        core = self._core
        if core.driving:
            raise NetStateError("Cannot step the engine while the net is running; pause it first")
        before = len(core.runs)
        core.advance()
        return len(core.runs) != before

    def run_step_sync(self, auto_start_epochs: bool = True) -> tuple[bool, list, list]:
        """0.5.0's ``run_step`` from synchronous code: ``(progress, net_actions, epoch_logs)``."""
        if not auto_start_epochs:
            return self._sync(self._async_step(False), sigint=False)  # type: ignore[attr-defined]
        return self._claimed_sync(lambda: self._collecting(self._core.drive("step", claimed=True)))

    def run_until_blocked(self, *, auto_start_epochs: bool = True) -> Any:  # type: ignore[override]
        """Run until blocked; returns ``(progress, net_actions, epoch_logs)``. Sync (same as
        :meth:`start`) or, in async mode from a coroutine, a coroutine (0.5.0)."""
        if self._async_call():
            return self.async_run_until_blocked(auto_start_epochs=auto_start_epochs)
        return self.run_until_blocked_sync(auto_start_epochs=auto_start_epochs)

    def run_until_blocked_sync(self, *, auto_start_epochs: bool = True) -> tuple[bool, list, list]:
        """Run until blocked from synchronous code: ``(progress, net_actions, epoch_logs)``."""
        if not auto_start_epochs:
            return self._sync(self._async_step(False), sigint=False)  # type: ignore[attr-defined]
        return self._claimed_sync(lambda: self._collecting(self._core.drive("until_blocked", claimed=True)))

    async def async_run_until_blocked(self, *, auto_start_epochs: bool = True) -> tuple[bool, list, list]:  # type: ignore[override]
        """Async form of :meth:`run_until_blocked` on the caller's loop."""
        if not auto_start_epochs:
            return self._advance_only(), [], []
        return await self._collecting(self._core.drive("until_blocked"))

    async def execute_epoch(self, epoch_id: str) -> Any:
        """Run one startable epoch now (also of a disabled node); returns its ``EpochLog``.
        A failure is raised (or queued) as ``EpochError``."""
        core = self._core
        epoch_id = str(epoch_id)
        out: dict = {}

        async def body() -> bool:
            out.update(await run_selected(core, [epoch_id]))
            return True

        check_startable(core, epoch_id)
        await core.drive("execute_epoch", body=body)
        return out.get(epoch_id)

    def execute_epoch_sync(self, epoch_id: str) -> Any:
        """:meth:`execute_epoch` from synchronous code."""
        return self._sync(self.execute_epoch(epoch_id), sigint=False)  # type: ignore[attr-defined]

    async def execute_node(self, node: str, inputs: dict[str, list[Any]] | None = None, *,
                           outside_net: bool = False) -> Any:
        """Run a node once on ``inputs`` (``{in_port: [values]}``, default none).

        The input salvo condition is the first one satisfied by the input counts (else
        ``SalvoConditionNotMetError``). Inside the net (default) the values become packets
        on the node's input ports, an epoch is created for them and run like any other (its
        outputs flow on through edges and output queues); returns the epoch's ``EpochLog``.
        ``outside_net=True`` calls the function directly with a throw-away context, nothing
        touches the net; returns ``{out_port: [values]}`` of the salvos it sent. A failure
        is an ``EpochError`` either way.
        """
        core = self._core
        runtime = core.node(node)
        values = check_inputs(runtime, inputs)
        graph_node = core.engine.graph.nodes()[node]
        condition = pick_salvo_condition(graph_node, {p: len(v) for p, v in values.items()})
        if runtime.exec_func is None:
            raise NodeConfigError(f"Node '{node}' has no exec function to execute; set one with "
                                  f"net.set_node_exec('{node}', func) or a factory in its config")
        if outside_net:
            return await execute_outside(core, runtime, graph_node, values)
        out: dict = {}

        async def body() -> bool:
            epoch_id = create_epoch(core, runtime, values, condition)
            out["id"] = epoch_id
            out.update(await run_selected(core, [epoch_id]))
            return True

        await core.drive("execute_node", body=body)
        return out.get(out.get("id"))

    def execute_node_sync(self, node: str, inputs: dict[str, list[Any]] | None = None, *,
                          outside_net: bool = False) -> Any:
        """:meth:`execute_node` from synchronous code."""
        return self._sync(self.execute_node(node, inputs, outside_net=outside_net), sigint=False)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ background
    async def start_background(self) -> None:
        """Initialise if needed and keep running in the background on the caller's loop
        (new work is picked up) until ``pause()``, ``wait_until_blocked()`` or ``close()``."""
        if not self._compat_init_called and not self._core.started:
            await self.init()
        self._compat_async = True
        self._launch_background_task()

    def _launch_background_task(self) -> None:
        core = self._core
        if self._compat_task is not None and not self._compat_task.done():
            raise NetStateError("The net is already running in the background; pause() or "
                                "wait_until_blocked() first")
        core.claim()
        self._compat_paused = False
        self._compat_task = asyncio.get_running_loop().create_task(core.drive("background", claimed=True))

    def pause(self) -> None:  # type: ignore[override]
        """Running epochs finish, no new ones start. From the loop the net runs on (async
        mode) this only requests the pause; elsewhere it waits (PROJECT_SPEC)."""
        self._compat_paused = True
        core = self._core
        if core.driving and is_loop_of_core(core):
            core.request_pause()
            return
        self._compat_resume_threaded = getattr(self, "_background", None) is not None
        super().pause()  # type: ignore[misc]

    def resume(self) -> None:
        """Undo :meth:`pause`: a background run that was paused starts again (on the loop it
        ran on). Without a paused background run this only clears the flag."""
        was_paused, self._compat_paused = self._compat_paused, False
        if not was_paused or self._core.driving or self._core.state is NetState.STOPPED:
            return
        task = self._compat_task
        if task is not None:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
            self._launch_background_task()
        elif self._compat_resume_threaded:  # a PROJECT_SPEC start(threaded=True) run
            self._compat_resume_threaded = False
            self.start(threaded=True)  # type: ignore[attr-defined]

    @property
    def paused(self) -> bool:
        """Whether :meth:`pause` was called and not undone by :meth:`resume`."""
        return self._compat_paused

    def wait_until_blocked(self, timeout: float | None = None) -> Any:  # type: ignore[override]
        """PROJECT_SPEC: block until a background run finds the net blocked. In async mode
        from a coroutine: 0.5.0's ``await net.wait_until_blocked()`` (the background run
        ends once the net is blocked)."""
        if self._async_call():
            return self._async_wait_blocked(timeout)
        return super().wait_until_blocked(timeout)  # type: ignore[misc]

    async def _async_wait_blocked(self, timeout: float | None) -> bool:
        core = self._core
        task = self._compat_task
        if task is None:
            return await self.async_wait_until_blocked(timeout)  # type: ignore[attr-defined]
        if not await core.wait_idle(timeout):
            return False
        core.request_pause()
        await self._stop_compat_task(raise_error=True)
        return True

    async def wait_until_stopped(self) -> None:
        """Wait until the background run ends (``pause()``, SIGINT or ``close()``)."""
        task = self._compat_task
        if task is not None:
            await asyncio.shield(task)  # kept: resume() starts it again

    async def _stop_compat_task(self, raise_error: bool = False) -> None:
        task, self._compat_task = self._compat_task, None
        if task is None:
            return
        if not task.done():
            self._core.request_pause()
        try:
            await task
        except Exception:
            if raise_error:
                raise

    def is_blocked(self) -> bool:
        """Nothing running, no enabled node with an epoch it could start, and the engine
        can make no progress."""
        core = self._core
        if core.running or core.tasks:
            return False
        for name in core.ready_nodes:
            node = core.nodes[name]
            if node.enabled and node.ready:
                return False
        return not core.engine.dirty and core.engine.is_blocked()

    # ------------------------------------------------------------------ nodes
    def enable_node(self, node: str) -> None:
        """Let a disabled node start epochs again (its waiting epochs start on the next run,
        or at once during a background run)."""
        core = self._core
        set_node_enabled(core, core.node(node), True)  # (remembered while run_to_targets holds it)
        core.work_arrived()

    def disable_node(self, node: str) -> None:
        """Stop starting epochs of ``node``: its startable epochs wait (running ones finish)."""
        core = self._core
        set_node_enabled(core, core.node(node), False)

    def is_node_enabled(self, node: str) -> bool:
        """Whether ``node`` may start epochs (the setting it returns to after a
        ``run_to_targets`` hold, while one is in progress)."""
        core = self._core
        record = core.node(node)
        held = core.target_holds
        if held is not None and node in held:
            return held[node]
        return record.enabled

    # ------------------------------------------------------------------ inspection
    def get_packets_at_all_ports(self, node: str) -> dict[str, list[str]]:
        """``{input_port: [packet_id]}`` of the packets waiting at a node's input ports."""
        return {port: self.get_packets_at_port(node, port)  # type: ignore[attr-defined]
                for port in self._core.node(node).in_ports}

    def get_packets_in_epoch(self, epoch_id: str) -> list[str]:
        """IDs of the packets inside an epoch (its input salvo until consumed, and packets
        it created and has not sent)."""
        from netrun_sim import PacketLocation

        try:
            epoch = self._core.engine.get_epoch(str(epoch_id))
        except ValueError:  # not even an epoch ID
            epoch = None
        if epoch is None:
            raise EpochNotFoundError(f"Epoch {epoch_id} is not in the net (finished, cancelled or "
                                     f"never created); get_startable_epochs() lists the waiting ones")
        return self._core.engine.packets_at(PacketLocation.node(str(epoch_id)))

    @property
    def config(self) -> Any:
        """The ``NetConfig`` the net was built from (``None`` for ``Net(graph)``)."""
        return self._compat_config if self._compat_config is not None else getattr(self, "_definition", None)

    @property
    def netsim(self) -> Any:
        """The engine (``netrun_sim.NetSim``), for inspection; change it only through the net."""
        return self._core.engine.sim

    @property
    def epochs(self) -> dict[str, Any]:
        """``{epoch_id: engine Epoch}`` of the epochs the net holds (startable and running)."""
        engine = self._core.engine
        out = {}
        for epoch_id in list(self._core.runs):
            epoch = engine.get_epoch(epoch_id)
            if epoch is not None:
                out[epoch_id] = epoch
        return out

    # ------------------------------------------------------------------ errors
    @property
    def exception_queue(self) -> list:
        """``EpochError``s of nodes with ``propagate_exceptions = false`` (not raised)."""
        policy = self._core.failure_policy
        return policy.exception_queue if policy is not None else []

    def propagate_exceptions(self) -> None:
        """Raise the queued ``EpochError`` (one), or an ``ExceptionGroup`` of them, and clear
        the queue; nothing when it is empty."""
        policy = self._core.failure_policy
        if policy is None or not policy.exception_queue:
            return
        errors, policy.exception_queue = policy.exception_queue, []
        if len(errors) == 1:
            raise errors[0]
        raise _ExceptionGroup("Multiple epoch failures", errors)

    def clear_dead_letter_queue(self) -> list:
        """Return the dead-letter entries and empty the queue."""
        dlq = self._core.dlq
        entries = dlq.get_all()
        dlq.clear()
        return entries
