"""Errors of config-built nets: every epoch failure is an ``EpochError`` (node, epoch, pool,
worker, retries, chained cause), ``propagate_exceptions`` / ``exception_queue``,
``print_exceptions``, ``max_epochs`` and ``error_on_undeclared_output``.

Regression tests for the published runtime's bugs (study §11): 13 (a failure cancelled
sibling epochs and destroyed their packets) and 17 (an unconsumed input or unsent output
escaped as a raw engine error).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from _config_nets import boom, config, double, edge, fn, manual, sink

from netrun._util.compat import ExceptionGroup as _ExceptionGroup
from netrun.errors import (
    CannotFinishNonEmptyEpochError,
    EpochError,
    EpochIncompleteError,
    EpochTimeout,
    MaxEpochsExceeded,
    PacketTypeMismatch,
    UndeclaredOutputError,
    UnsentOutputSalvoError,
    ValueFunctionFailed,
)
from netrun.net import Net


@pytest.fixture
def nets():
    made: list[Net] = []

    def make(source, **options) -> Net:
        net = Net(source, handle_sigint=False, **options)
        made.append(net)
        return net

    yield make
    for net in made:
        net.stop()


def run_failing(net: Net) -> EpochError:
    with pytest.raises(EpochError) as info:
        net.run_until_blocked()
    return info.value


# ---------------------------------------------------------------------------- EpochError
def test_a_node_exception_is_an_epoch_error_naming_everything(nets):
    net = nets(config([fn("b", boom)]))
    [pid] = net.inject_data("b", "x", [1])
    error = run_failing(net)
    assert str(error).startswith("Epoch failed on node 'b' (pool='main', worker=0, retries=0): "
                                 "ValueError: boom 1")
    assert (error.node_name, error.pool_id, error.retry_count) == ("b", "main", 0)
    assert isinstance(error.__cause__, ValueError) and str(error.__cause__) == "boom 1"
    [entry] = net.dead_letter_queue.get_all()
    assert entry.epoch_id == error.epoch_id and entry.packet_values == {pid: 1}


def test_pool_worker_and_retries_are_named(nets):
    net = nets(config([fn("b", boom, pools=["io"], retries=2)],
                      pools={"io": {"spec": {"type": "thread", "num_workers": 2}}}))
    net.inject_data("b", "x", [3])
    error = run_failing(net)
    assert error.pool_id == "io" and error.retry_count == 2
    assert error.worker_id in (0, 1)  # the thread that ran the last attempt
    assert f"(pool='io', worker={error.worker_id}, retries=2): ValueError: boom 3" in str(error)


@pytest.mark.parametrize("defer", [False, True])
def test_unconsumed_input_is_an_epoch_error_not_a_raw_engine_error(nets, defer):
    """Published-runtime bug (§11.17): CannotFinishNonEmptyEpochError escaped raw."""
    net = nets(config([manual("A", lambda ctx, packets: None, defer_net_actions=defer)]))
    [pid] = net.inject_data("A", "x", [1])
    error = run_failing(net)
    cause = error.__cause__
    assert isinstance(cause, EpochIncompleteError)
    assert f"left input packet(s) ['{pid}'] in the epoch: consume every input packet" in str(cause)
    assert isinstance(cause.__cause__, CannotFinishNonEmptyEpochError)
    assert net.dead_letter_queue.get_all()[0].packet_values == {pid: 1}


def test_unsent_output_is_an_epoch_error(nets):
    def no_send(ctx, packets):
        ctx.load_output_port("out", ctx.create_packet(ctx.consume_packet(packets["x"][0])))

    net = nets(config([manual("A", no_send)]))
    net.inject_data("A", "x", [1])
    error = run_failing(net)
    assert "did not send them: call ctx.send_output_salvo(<condition>) (conditions: send)" in str(error)
    assert isinstance(error.__cause__.__cause__, UnsentOutputSalvoError)


def test_timeout_type_mismatch_and_value_function_are_epoch_errors(nets):
    async def slow(ctx, packets):
        await asyncio.sleep(5)

    net = nets(config([manual("A", slow, timeout=0.05)]))
    net.inject_data("A", "x", [1])
    assert isinstance(run_failing(net).__cause__, EpochTimeout)

    net = nets(config([fn("d", double)]))
    net.inject_data("d", "x", ["text"])
    error = run_failing(net)
    assert isinstance(error.__cause__, PacketTypeMismatch)
    assert "input port 'x' of node 'd': expected" in str(error)

    def lazy(ctx, packets):
        ctx.consume_packet(packets["x"][0])
        ctx.load_output_port("out", ctx.create_packet_from_value_func(lambda: 1 / 0))
        ctx.send_output_salvo("send")

    net = nets(config([manual("A", lazy), fn("s", sink)], [edge("A", "s")]))
    net.inject_data("A", "x", [1])
    error = run_failing(net)
    assert error.node_name == "s" and isinstance(error.__cause__, ValueFunctionFailed)
    assert isinstance(error.__cause__.__cause__, ZeroDivisionError)


def test_outside_net_execution_failure_is_an_epoch_error(nets):
    net = nets(config([fn("b", boom)]))
    with pytest.raises(EpochError, match=r"Epoch failed on node 'b' \(pool=None, worker=None, retries=0\): "
                                         r"ValueError: boom 4") as info:
        net.execute_node_sync("b", {"x": [4]}, outside_net=True)
    assert isinstance(info.value.__cause__, ValueError)


# ---------------------------------------------------------------------------- siblings
def test_a_failure_does_not_cancel_or_destroy_sibling_epochs(nets):
    """Published-runtime bug (§11.13): the first failure cancelled every other in-flight
    epoch and destroyed its input packets."""
    async def slow(ctx, packets):
        value = await ctx.consume_packet(packets["x"][0])
        await asyncio.sleep(0.1)
        await ctx.load_output_port("out", await ctx.create_packet(value * 10))
        await ctx.send_output_salvo("send")

    net = nets(config([manual("slow", slow), fn("b", boom)]))
    net.inject_data("slow", "x", [1, 2])
    net.inject_data("b", "x", [1])
    started = time.perf_counter()
    error = run_failing(net)
    assert error.node_name == "b"
    # the running sibling finished and kept its result; the one not yet started waits
    done = net.flush_output_queue("slow::out")
    assert done and all(v in (10, 20) for v in done) and time.perf_counter() - started >= 0.1
    assert len(done) + len(net.get_startable_epochs_by_node("slow")) == 2
    assert [e.node_name for e in net.dead_letter_queue.get_all()] == ["b"]
    net.run_until_blocked()  # nothing lost: the rest runs on the next call
    assert sorted(done + net.flush_output_queue("slow::out")) == [10, 20]


def test_several_failures_in_one_run_are_all_raised(nets):
    async def late_boom(ctx, packets):
        value = await ctx.consume_packet(packets["x"][0])
        await asyncio.sleep(0.02)  # both epochs are running when the first fails
        raise ValueError(f"boom {value}")

    net = nets(config([manual("b", late_boom), manual("c", late_boom)]))
    net.inject_data("b", "x", [1])
    net.inject_data("c", "x", [2])
    with pytest.raises(_ExceptionGroup, match="Multiple epoch failures") as info:
        net.run_until_blocked()
    assert sorted(e.node_name for e in info.value.exceptions) == ["b", "c"]


# ---------------------------------------------------------------------------- queue / print
def test_exception_queue_without_propagation(nets):
    net = nets(config([fn("b", boom, propagate_exceptions=False), fn("d", double)]))
    net.inject_data("b", "x", [1, 2])
    net.inject_data("d", "x", [3])
    net.run_until_blocked()  # does not raise
    assert net.flush_output_queue("d::out") == [6]
    assert [type(e) for e in net.exception_queue] == [EpochError, EpochError]
    with pytest.raises(_ExceptionGroup, match="Multiple epoch failures") as info:
        net.propagate_exceptions()
    assert {str(e.__cause__) for e in info.value.exceptions} == {"boom 1", "boom 2"}
    assert net.exception_queue == []
    net.propagate_exceptions()  # empty: nothing raised

    net = nets(config([fn("b", boom)], propagate_exceptions=False))
    net.inject_data("b", "x", [7])
    net.run_until_blocked()
    with pytest.raises(EpochError, match="ValueError: boom 7"):
        net.propagate_exceptions()


def test_print_exceptions(nets, capsys):
    net = nets(config([fn("b", boom)], print_exceptions=True, propagate_exceptions=False))
    net.inject_data("b", "x", [5])
    net.run_until_blocked()
    err = capsys.readouterr().err
    assert "netrun: Epoch failed on node 'b' (pool='main', worker=0, retries=0): ValueError: boom 5" in err
    assert "Traceback" in err


def test_an_explicit_on_error_keeps_project_spec_handling(nets):
    net = nets(config([fn("b", boom)], on_error="continue"))
    net.inject_data("b", "x", [1])
    net.run_until_blocked()  # no raise: on_error="continue"
    assert len(net.dead_letter_queue) == 1 and net.exception_queue == []


# ---------------------------------------------------------------------------- max_epochs
def test_max_epochs_cancels_the_extra_epoch_into_the_dead_letter_queue(nets):
    net = nets(config([fn("d", double, max_epochs=2)]))
    pids = net.inject_data("d", "x", [1, 2, 3])
    error = run_failing(net)
    cause = error.__cause__
    assert isinstance(cause, MaxEpochsExceeded) and (cause.node_name, cause.max_epochs) == ("d", 2)
    assert "Node 'd' reached its max_epochs=2; a further epoch" in str(error)
    assert net.flush_output_queue("d::out") == [2, 4]
    [entry] = net.dead_letter_queue.get_all()
    assert entry.packet_values == {pids[2]: 3}  # not lost
    assert net._core.nodes["d"].epoch_count == 2


def test_net_level_max_epochs_is_the_default(nets):
    net = nets(config([fn("d", double), fn("e", double, max_epochs=-1)], max_epochs=1,
                      propagate_exceptions=False))
    net.inject_data("d", "x", [1, 2])
    net.inject_data("e", "x", [1, 2])
    net.run_until_blocked()
    assert net.flush_all_output_queues() == {"d::out": [2], "e::out": [2, 4]}
    assert [type(e.__cause__) for e in net.exception_queue] == [MaxEpochsExceeded]


# ---------------------------------------------------------------------------- undeclared outputs
def _two_outputs(ctx, packets):
    value = ctx.consume_packet(packets["x"][0])
    ctx.load_output_port("out", ctx.create_packet(value))
    ctx.load_output_port("side", ctx.create_packet(-value))
    ctx.send_output_salvo("send")


@pytest.mark.parametrize("defer", [False, True])
def test_error_on_undeclared_output(nets, defer):
    net = nets(config([manual("A", _two_outputs, outs=("out", "side"), defer_net_actions=defer)],
                      output_queues={"results": {"ports": [["A", "out"]]}}, error_on_undeclared_output=True))
    [pid] = net.inject_data("A", "x", [1])
    error = run_failing(net)
    assert isinstance(error.__cause__, UndeclaredOutputError)
    assert "Node 'A' (epoch" in str(error) and "output port 'side', which has no edge and no output queue" in str(error)
    assert net.flush_output_queue("results") == []  # nothing left the epoch
    assert net.dead_letter_queue.get_all()[0].packet_values == {pid: 1}


def test_undeclared_output_is_dropped_with_a_note(nets):
    net = nets(config([manual("A", _two_outputs, outs=("out", "side"))],
                      output_queues={"results": {"ports": [["A", "out"]]}}))
    net.inject_data("A", "x", [1, 2])
    net.run_until_blocked()
    assert net.flush_output_queue("results") == [1, 2]
    assert len(net.value_store) == 0  # dropped, not leaked
    notes = [e.message for e in net.get_node_log("A") if e.level == "warning"]
    assert len(notes) == 1 and "output port 'side' (no edge, no output queue) are dropped" in notes[0]
