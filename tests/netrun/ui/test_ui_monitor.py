"""The net monitor: batching at a fixed rate, counters, node detail, dead letters, WebSocket."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from netrun.config import NetConfig
from netrun.ui import MonitorError
from netrun.ui._netbuild import net_from_config
from netrun.ui.monitor import MonitorServer, NetMonitor
from netrun.ui.runs import MonitorHub


def passthrough(x: int) -> int:
    return x


def sink(x: int) -> None:
    return None


def chatty(x: int) -> int:
    print("got", x)
    if x < 0:
        raise ValueError(f"negative input {x}")
    return x


def _pipeline(first=passthrough, *, on_error: str = "continue") -> NetConfig:
    return NetConfig.from_data({"on_error": on_error, "graph": {"nodes": [
        {"name": "A", "factory": "netrun.factories.from_function", "factory_args": {"func": first}},
        {"name": "B", "factory": "netrun.factories.from_function", "factory_args": {"func": sink}},
    ], "edges": [{"source_node": "A", "source_port": "out", "target_node": "B", "target_port": "x"}]}})


@pytest.fixture
def make_net():
    nets = []

    def make(cfg: NetConfig):
        net, _ = net_from_config(cfg)
        nets.append(net)
        return net

    yield make
    for net in nets:
        net.stop()


async def _run_until_blocked(net, timeout: float = 60.0) -> None:
    runner = net.start(threaded=True)
    assert await asyncio.to_thread(runner.wait_until_blocked, timeout)


def test_ten_thousand_epochs_give_a_bounded_number_of_batches(make_net):
    net = make_net(_pipeline())
    interval = 0.05
    n = 5000  # two nodes: 10,000 epochs

    async def scenario():
        monitor = NetMonitor(net, interval=interval).attach()
        batches = []
        monitor.subscribe(batches.append)
        monitor.start()
        net.inject_data("A", "x", list(range(n)))
        started = time.monotonic()
        await _run_until_blocked(net)
        await asyncio.sleep(2 * interval)
        await monitor.stop()
        return batches, time.monotonic() - started

    batches, elapsed = asyncio.run(scenario())
    # one batch per tick (+ the final one), never one per packet or epoch
    assert 1 <= len(batches) <= elapsed / interval + 2
    assert len(batches) < 2 * n / 100
    assert [b["seq"] for b in batches] == sorted(b["seq"] for b in batches)
    final = batches[-1]
    assert final["counters"]["epochs_finished"] == 2 * n
    assert final["counters"]["epochs_started"] == 2 * n
    assert final["counters"]["running"] == 0 and final["counters"]["queued"] == 0
    assert final["nodes"]["A"]["finished"] == n and final["nodes"]["B"]["finished"] == n
    assert final["ports"]["B"]["in"]["x"] == {"waiting": 0, "capacity": None}


def test_a_batch_shows_packets_waiting_per_port_and_edge_against_capacity(make_net):
    cfg = _pipeline()
    bounded = {"x": {"slots_spec": {"type": "finite", "capacity": 10}}}  # overrides the factory's port
    cfg.graph.nodes[1] = cfg.graph.nodes[1].model_copy(update={"in_ports": NetConfig.from_data(
        {"graph": {"nodes": [{"name": "B", "in_ports": bounded}]}}).graph.nodes[0].in_ports})
    net = make_net(cfg)
    net.inject_data("B", "x", [1, 2, 3])
    batch = NetMonitor(net).snapshot()
    assert batch["ports"]["B"]["in"]["x"] == {"waiting": 3, "capacity": 10}
    assert batch["edges"]["A.out->B.x"] == {"waiting": 3, "capacity": 10}
    assert batch["status"] == "idle"
    json.dumps(batch)  # a batch is plain JSON


def test_node_detail_has_recent_epochs_with_prints_and_errors(make_net):
    net = make_net(_pipeline(chatty))
    monitor = NetMonitor(net, recent_epochs=3).attach()
    net.inject_data("A", "x", [1, 2, 3, 4, -5])
    asyncio.run(_run_until_blocked(net))
    detail = monitor.node_detail("A")
    assert len(detail["epochs"]) == 3  # only the most recent are kept
    newest = detail["epochs"][0]
    assert newest["outcome"] == "error"
    assert newest["error_type"] == "ValueError" and "negative input -5" in newest["error"]
    assert "Traceback" in newest["error_traceback"]
    assert [line for _, line in detail["epochs"][1]["logs"]] == ["got 4"]
    batch = monitor.snapshot()
    assert batch["nodes"]["A"]["state"] == "failed"
    assert batch["nodes"]["A"]["last_error"] == "ValueError: negative input -5"
    assert batch["counters"]["epochs_failed"] == 1 and batch["counters"]["dlq"] == 1
    assert [e["kind"] for e in batch["events"]] == ["epoch_failed"]
    assert monitor.snapshot()["events"] == []  # events are handed out once


def test_node_detail_of_an_unknown_node_names_the_known_ones(make_net):
    monitor = NetMonitor(make_net(_pipeline()))
    with pytest.raises(MonitorError, match="node 'Z' is not in the monitored net; nodes: A, B"):
        monitor.node_detail("Z")


def test_dead_letters_can_be_reinjected_once(make_net):
    net = make_net(_pipeline(chatty))
    monitor = NetMonitor(net).attach()
    net.inject_data("A", "x", [-1])
    asyncio.run(_run_until_blocked(net))
    [entry] = monitor.dead_letters()
    assert entry["node_name"] == "A" and entry["inputs"] == {"x": [-1]} and entry["reinjected"] is False
    assert monitor.reinject(entry["epoch_id"]) == 1
    assert net.wait_until_blocked(10)  # the background run picks the value up and fails again
    first, second = monitor.dead_letters()
    assert first["reinjected"] is True and second["reinjected"] is False
    assert second["inputs"] == {"x": [-1]} and second["epoch_id"] != first["epoch_id"]
    with pytest.raises(MonitorError, match="already re-injected"):
        monitor.reinject(entry["epoch_id"])
    with pytest.raises(MonitorError, match="no dead-letter entry for epoch 'nope'"):
        monitor.reinject("nope")


def test_event_list_per_batch_is_capped_and_counts_what_it_dropped(make_net):
    net = make_net(_pipeline(chatty))
    monitor = NetMonitor(net).attach()
    net.inject_data("A", "x", [-i for i in range(1, 61)])
    asyncio.run(_run_until_blocked(net))
    batch = monitor.snapshot()
    assert len(batch["events"]) == 50 and batch["dropped_events"] == 10
    assert batch["counters"]["epochs_failed"] == 60


def test_monitor_server_streams_batches_and_answers_requests(make_net):
    from websockets.asyncio.client import connect

    net = make_net(_pipeline(chatty))

    async def scenario():
        async with MonitorServer(net, interval=0.05) as server:
            assert server.url.startswith("ws://127.0.0.1:")
            async with connect(server.url) as ws:
                first = json.loads(await ws.recv())
                assert first["type"] == "batch"
                net.inject_data("A", "x", [1, 2, -3])
                await _run_until_blocked(net)
                await ws.send(json.dumps({"id": 7, "op": "node_detail", "node": "A"}))
                await ws.send(json.dumps({"id": 8, "op": "fly"}))
                await ws.send("not json")
                replies, batches = {}, []
                deadline = time.monotonic() + 5
                while len(replies) < 3 and time.monotonic() < deadline:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    if message["type"] == "reply":
                        replies[message["id"]] = message
                    else:
                        batches.append(message)
                return replies, batches

    replies, batches = asyncio.run(scenario())
    assert replies[7]["ok"] is True and replies[7]["result"]["epochs"][0]["outcome"] == "error"
    assert replies[8] == {"type": "reply", "id": 8, "ok": False,
                          "error": "unknown monitor request 'fly'; use node_detail, dead_letters or reinject"}
    assert replies[None]["error"] == "requests must be JSON objects"


def test_monitor_server_runs_on_its_own_thread_for_sync_code(make_net):
    from websockets.sync.client import connect

    net = make_net(_pipeline())
    with MonitorServer(net, interval=0.05) as server:
        with connect(server.url) as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "batch"
    assert server._thread is None  # stopped


def test_hub_keeps_only_the_latest_frames_for_a_slow_browser():
    async def scenario():
        hub = MonitorHub(queue_size=2)
        queue = hub.connect()
        for seq in range(10):
            hub.publish({"type": "batch", "seq": seq})
        return [queue.get_nowait() for _ in range(queue.qsize())]

    frames = asyncio.run(scenario())
    assert [f["seq"] for f in frames] == [8, 9]


def test_hub_request_without_a_source_is_refused():
    with pytest.raises(MonitorError, match="nothing is being monitored"):
        asyncio.run(MonitorHub().request("dead_letters"))


def test_the_monitor_does_not_make_the_net_record_engine_actions(make_net):
    net = make_net(_pipeline())
    monitor = NetMonitor(net).attach()
    assert net._core.observe.recorder is None  # no EpochLog.net_actions recorded for it
    net.inject_data("A", "x", [1, 2])
    asyncio.run(_run_until_blocked(net))
    detail = monitor.node_detail("A")
    assert [e["outcome"] for e in detail["epochs"]] == ["success", "success"]
    assert monitor.snapshot()["counters"]["epochs_finished"] == 4
    assert detail["epochs"][0]["out_salvo_count"] is None  # not recorded, and not shown
    # a user callback that wants the actions makes the net record them again
    remove = net.on_epoch_end(lambda n, e, log: None, node="A")
    assert net._core.observe.recorder is not None
    remove()
    monitor.detach()
    assert net._core.observe.recorder is None
