"""The express path (``_express.py``): plain sync epochs on the loop run in rounds, with the
engine lock held once per round and context operations going straight to the engine's fast
lane. These tests pin down that it is taken when it may be, that it is left the moment
something needs the general path (mid-round and mid-epoch), and that it keeps every
guarantee of the general path."""

from __future__ import annotations

import threading

import pytest

from _net_graphs import pipeline
from netrun.errors import ContextMisuseError, NodeExecutionFailed, OutputPortNotFoundError
from netrun.net import NetState


def _through(record=None):
    def fn(ctx, packets):
        if record is not None:
            record.append(ctx._lane is not None)
        value = ctx.consume_packet(packets["in"][0])
        ctx.load_output_port("out", ctx.create_packet(value))
        ctx.send_output_salvo("send")

    return fn


def test_a_plain_sync_node_runs_express_and_keeps_order(make_net):
    net = make_net(pipeline("A", "B"))
    seen: list = []
    net.set_node_exec("A", _through(seen))
    net.set_node_exec("B", _through(seen))
    net.inject_data("A", "in", range(300))
    net.start()
    assert net.flush_output_queue("B::out") == list(range(300))
    assert seen == [True] * 600


@pytest.mark.parametrize("option", [{"timeout": 5.0}, {"rate_limit_per_second": 1e6},
                                    {"defer_net_actions": True}])
def test_nodes_with_per_epoch_features_take_the_general_path(make_net, option):
    net = make_net(pipeline("A"))
    seen: list = []
    net.set_node_exec("A", _through(seen))
    net.set_node_config("A", **option)
    net.inject_data("A", "in", [1, 2])
    net.start()
    assert net.flush_output_queue("A::out") == [1, 2]
    assert seen == [False, False]


def test_a_recorder_installed_inside_an_epoch_sees_every_later_action(make_net):
    """``on_net_actions`` registered by a node function switches the engine off its quiet
    lane in the middle of an express round: the rest of that epoch's operations and every
    later epoch are recorded."""
    net = make_net(pipeline("A"))
    batches: list = []
    lanes: list = []

    def fn(ctx, packets):
        value = ctx.consume_packet(packets["in"][0])
        if value == 2:
            net.on_net_actions(batches.append)
        lanes.append(ctx._lane is not None)
        ctx.load_output_port("out", ctx.create_packet(value))
        ctx.send_output_salvo("send")

    net.set_node_exec("A", fn)
    net.inject_data("A", "in", range(5))
    net.start()
    assert net.flush_output_queue("A::out") == list(range(5))
    assert lanes == [True, True, False, False, False]  # from the switch on: the general path
    kinds = [log.action_kind for batch in batches for log in batch]
    # epoch 2 (switched mid-epoch): its create, load and send onwards are recorded
    assert kinds.count("FinishEpoch") == 3 and kinds.count("StartEpoch") == 2
    assert kinds.count("CreatePacket") == 3 and kinds.count("SendOutputSalvo") == 3


def test_a_failure_mid_round_pauses_and_loses_nothing(make_net):
    net = make_net(pipeline("A", "B"))

    def fragile(ctx, packets):
        value = ctx.consume_packet(packets["in"][0])
        if value == 3:
            raise ValueError("three")
        ctx.load_output_port("out", ctx.create_packet(value))
        ctx.send_output_salvo("send")

    net.set_node_exec("A", fragile)
    net.set_node_exec("B", _through())
    net.inject_data("A", "in", range(6))
    net.start()  # on_error="pause": the round stops at the failure
    assert net.state is NetState.PAUSED
    [entry] = net.dead_letter_queue.get_all()  # the failed epoch, with its consumed value
    assert entry.node_name == "A" and list(entry.packet_values.values()) == [3]
    assert isinstance(entry.exception, ValueError)
    out = net.flush_output_queue("B::out")
    net.start()
    out += net.flush_output_queue("B::out")
    assert out == [0, 1, 2, 4, 5]


def test_misuse_inside_an_express_epoch_raises_the_general_errors(make_net):
    net = make_net(pipeline("A"), on_error="raise")
    kept: list = []

    def twice(ctx, packets):
        kept.append(ctx)
        ctx.consume_packet(packets["in"][0])
        ctx.consume_packet(packets["in"][0])

    net.set_node_exec("A", twice)
    net.inject_data("A", "in", [1])
    with pytest.raises(NodeExecutionFailed) as info:
        net.start()
    assert isinstance(info.value.original_exception, ContextMisuseError)
    assert "already consumed" in str(info.value.original_exception)
    with pytest.raises(ContextMisuseError, match="used after its attempt ended"):
        kept[0].create_packet(1)


def test_unknown_output_port_in_an_express_epoch(make_net):
    net = make_net(pipeline("A"), on_error="raise")

    def wrong_port(ctx, packets):
        value = ctx.consume_packet(packets["in"][0])
        ctx.load_output_port("nope", ctx.create_packet(value))

    net.set_node_exec("A", wrong_port)
    net.inject_data("A", "in", [1])
    with pytest.raises(NodeExecutionFailed) as info:
        net.start()
    error = info.value.original_exception
    assert isinstance(error, OutputPortNotFoundError)
    assert "Node 'A' has no output port 'nope'" in str(error)


def test_packets_given_as_strings_and_value_functions_take_the_general_road(make_net):
    net = make_net(pipeline("A", "B"))

    def lazy(ctx, packets):
        value = ctx.consume_packet(str(packets["in"][0]))  # a plain ID string
        ctx.load_output_port("out", ctx.create_packet_from_value_func(lambda: value * 10))
        ctx.send_output_salvo("send")

    net.set_node_exec("A", lazy)
    net.set_node_exec("B", _through())
    net.inject_data("A", "in", [1, 2, 3])
    net.start()
    assert net.flush_output_queue("B::out") == [10, 20, 30]


def test_thread_pool_nodes_and_express_nodes_share_the_engine(make_net):
    """Thread-pool epochs talk to the engine live between the operations of the loop's
    express epochs: no deadlock, nothing lost, the loop's nodes stay express."""
    net = make_net(pipeline("A", "B", "C"), thread_pools={"io": {"size": 3}})
    lanes: list = []
    net.set_node_exec("A", _through(lanes))
    net.set_node_exec("B", _through())
    net.set_node_exec("C", _through(lanes))
    net.set_node_config("B", pool="io")
    net.inject_data("A", "in", range(500))
    done = threading.Event()
    result: list = []

    def run():
        net.start()
        result.extend(net.flush_output_queue("C::out"))
        done.set()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    assert done.wait(60), "the net did not finish"
    assert sorted(result) == list(range(500))
    assert lanes == [True] * 1000


def test_running_counts_inside_and_after_express_rounds_with_failures(make_net):
    """An express round counts as one running epoch of its node; a failing epoch carries its
    own count through its failure handling; nothing is left counted afterwards."""
    net = make_net(pipeline("A", "B"), on_error="continue")
    inside: list = []

    def sometimes(ctx, packets):
        inside.append((net.get_running_epochs_count("A"), net.get_running_epochs_count("B")))
        value = ctx.consume_packet(packets["in"][0])
        if value % 3 == 0:
            raise ValueError(f"bad {value}")
        ctx.load_output_port("out", ctx.create_packet(value))
        ctx.send_output_salvo("send")

    net.set_node_exec("A", sometimes)
    net.set_node_exec("B", _through())
    net.inject_data("A", "in", range(10))
    net.start()
    assert net.flush_output_queue("B::out") == [1, 2, 4, 5, 7, 8]
    assert len(net.dead_letter_queue) == 4
    assert all(a >= 1 for a, _ in inside)  # the running epoch is counted while it runs
    assert net.get_running_epochs_count("A") == 0 and net.get_running_epochs_count("B") == 0
    assert net._core.running == 0
    net.inject_data("A", "in", [10, 11])  # and the next run starts from clean counts
    net.start()
    assert net.flush_output_queue("B::out") == [10, 11]
    assert net._core.running == 0


def test_express_records_are_complete(make_net):
    """Express epochs build their ``EpochRun`` and context inline: every slot of both is set,
    and the context reads like one made by the general path."""
    from netrun.net._records import EpochRun
    from netrun.net.context import NodeExecutionContext

    net = make_net(pipeline("A"))
    seen: list = []

    def inspect(ctx, packets):
        run = ctx._run
        seen.append([s for s in EpochRun.__slots__ if s != "__dict__" and not hasattr(run, s)])
        seen.append([s for s in NodeExecutionContext.__slots__ if s != "__dict__" and not hasattr(ctx, s)])
        seen.append((ctx.retry_count, ctx.retry_timestamps, ctx.retry_exceptions, ctx.defer_net_actions,
                     ctx.deferred_actions, run.executor is net._core.main, run.in_engine, run.started > 0))
        _through()(ctx, packets)

    net.set_node_exec("A", inspect)
    net.inject_data("A", "in", [1])
    net.start()
    assert seen == [[], [], (0, [], [], False, None, True, True, True)]
    assert net.flush_output_queue("A::out") == [1]


def test_send_errors_in_an_express_epoch_are_the_general_paths(make_net):
    """An express send that the engine refuses changes nothing and takes the general road,
    which raises the runtime's error for an unknown condition and the engine's otherwise."""
    from netrun.errors import SalvoConditionNotFoundError

    net = make_net(pipeline("A"), on_error="raise")
    errors: list = []

    def sender(ctx, packets):
        value = ctx.consume_packet(packets["in"][0])
        try:
            ctx.send_output_salvo("nope")
        except SalvoConditionNotFoundError as error:
            errors.append(str(error))
        try:
            ctx.send_output_salvo("send")  # nothing loaded: the condition is not met
        except Exception as error:  # noqa: BLE001 - the engine's own error type
            errors.append(type(error).__name__)
        ctx.load_output_port("out", ctx.create_packet(value))
        ctx.send_output_salvo("send")

    net.set_node_exec("A", sender)
    net.inject_data("A", "in", [7])
    net.start()
    assert net.flush_output_queue("A::out") == [7]
    assert errors[0].startswith("Node 'A' has no output salvo condition 'nope'")
    assert errors[1] == "SalvoConditionNotMetError"


def test_a_node_function_may_wait_for_its_own_thread_that_uses_the_net(make_net):
    """The engine is not held while an express function runs: a helper thread of the
    function can use its ctx and the net meanwhile (holding it for the round deadlocked)."""
    import concurrent.futures

    net = make_net(pipeline("A"))
    pool = concurrent.futures.ThreadPoolExecutor(1)
    seen: list = []

    def fn(ctx, packets):
        value = ctx.consume_packet(packets["in"][0])
        packet = pool.submit(ctx.create_packet, value * 10).result(timeout=10)
        seen.append(pool.submit(net.get_packets_at_port, "A", "in").result(timeout=10))
        ctx.load_output_port("out", packet)
        ctx.send_output_salvo("send")

    net.set_node_exec("A", fn)
    net.inject_data("A", "in", [1, 2])
    try:
        net.start()
    finally:
        pool.shutdown()
    assert net.flush_output_queue("A::out") == [10, 20]
    assert len(seen) == 2


def test_start_callbacks_registered_inside_a_round_fire_for_the_next_epochs(make_net):
    net = make_net(pipeline("A"))
    started: list = []

    def fn(ctx, packets):
        value = ctx.consume_packet(packets["in"][0])
        if value == 1:
            net.on_epoch_start(lambda node, epoch_id: started.append(node))
        ctx.load_output_port("out", ctx.create_packet(value))
        ctx.send_output_salvo("send")

    net.set_node_exec("A", fn)
    net.inject_data("A", "in", range(5))
    net.start()
    assert net.flush_output_queue("A::out") == list(range(5))
    assert started == ["A", "A", "A"]  # epochs 2, 3 and 4, as on the general path


def test_end_callbacks_of_express_epochs_run_without_the_engine(make_net):
    """An end callback may wait for a thread that uses the net (it runs outside the engine
    lock, as on the general path)."""
    import concurrent.futures

    net = make_net(pipeline("A"))
    pool = concurrent.futures.ThreadPoolExecutor(1)
    seen: list = []

    def on_end(node, epoch_id, log):
        seen.append(pool.submit(net.get_packets_at_port, "A", "in").result(timeout=10))

    lanes: list = []

    net.on_epoch_end(on_end, net_actions=False)  # (lean: the engine stays on its quiet lane)
    net.set_node_exec("A", _through(lanes))
    net.inject_data("A", "in", [1, 2])
    try:
        net.start()
    finally:
        pool.shutdown()
    assert net.flush_output_queue("A::out") == [1, 2] and len(seen) == 2
    assert lanes == [True, True]  # the epochs were express ones
