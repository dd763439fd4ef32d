"""Editor API: running the open net, watching it over /ws/monitor, attaching to a remote net."""

from __future__ import annotations

import time

import pytest

from netrun.config import NetConfig
from netrun.ui._netbuild import net_from_config
from netrun.ui.monitor import MonitorServer

WS = "ws://127.0.0.1/ws/monitor"  # the test client's websocket URL must carry an allowed host


def _data(client):
    return client.get("/api/file", params={"path": "pipeline.netrun.toml"}).json()["data"]


def _start(client, data, inject):
    return client.post("/api/run/start", json={"path": "pipeline.netrun.toml", "data": data, "inject": inject})


def _read_until(ws, predicate, limit=400):
    """Messages until one satisfies ``predicate`` (bounded: batches arrive every 50 ms)."""
    seen = []
    for _ in range(limit):
        message = ws.receive_json()
        seen.append(message)
        if predicate(message):
            return message, seen
    raise AssertionError(f"no matching message in {limit}: last {seen[-1] if seen else None}")


def test_run_streams_batches_and_exposes_dead_letters_node_detail_and_reinjection(client):
    response = _start(client, _data(client), [{"node": "double", "port": "x", "values": [1, 2, 3, 4]}])
    assert response.status_code == 200
    assert response.json()["source"]["kind"] == "run"
    with client.websocket_connect(WS) as ws:
        first = ws.receive_json()
        assert first == {"type": "source", "source": {"kind": "run", "label": "run of pipeline.netrun.toml",
                                                      "status": first["source"]["status"]}}
        done, _ = _read_until(ws, lambda m: m.get("counters", {}).get("epochs_finished") == 7
                              and m["counters"]["epochs_failed"] == 1)
        assert done["nodes"]["inc"]["last_error"] == "ValueError: six is not allowed"
        assert done["counters"]["dlq"] == 1
        [entry] = client.get("/api/monitor/dlq").json()["entries"]
        assert entry["node_name"] == "inc" and entry["inputs"] == {"x": [6]}
        detail = client.get("/api/monitor/node", params={"node": "double"}).json()
        assert {e["logs"][0][1] for e in detail["epochs"]} == {"doubling 1", "doubling 2", "doubling 3", "doubling 4"}
        assert client.post("/api/monitor/dlq/reinject", json={"epoch_id": entry["epoch_id"]}).json() == {"packets": 1}
        _read_until(ws, lambda m: m.get("counters", {}).get("epochs_failed") == 2)
    assert client.post("/api/run/stop").json()["source"]["kind"] == "none"
    assert client.get("/api/run/status").json()["source"] == {"kind": "none", "label": "", "status": "idle"}


def test_a_second_run_while_one_is_running_is_refused(client):
    data = _data(client)
    data["graph"]["nodes"][0]["factory_args"]["func"] = "uitest_nodes.slow"
    assert _start(client, data, [{"node": "double", "port": "x", "values": list(range(20))}]).status_code == 200
    with client.websocket_connect(WS) as ws:
        _read_until(ws, lambda m: m.get("status") == "running")
    again = _start(client, data, [])
    assert again.status_code == 409
    assert "already running; stop it first" in again.json()["detail"]["message"]
    started = time.monotonic()
    client.post("/api/run/stop")
    assert time.monotonic() - started < 5  # stopping waits only for the epochs in flight


def test_injecting_into_a_missing_port_is_refused_and_nothing_runs(client):
    response = _start(client, _data(client), [{"node": "double", "port": "nope", "values": [1]}])
    assert response.status_code == 422
    assert "node 'double' has no input port 'nope'; its input ports: x" in response.json()["detail"]["message"]
    assert client.get("/api/run/status").json()["source"]["kind"] == "none"
    unknown = _start(client, _data(client), [{"node": "ghost", "port": "x", "values": [1]}])
    assert unknown.status_code == 422 and "no such node" in unknown.json()["detail"]["message"]


def test_running_an_invalid_net_reports_the_config_problem(client):
    data = _data(client)
    data["graph"]["nodes"][0]["factory_args"]["func"] = "uitest_nodes.missing_function"
    response = _start(client, data, [])
    assert response.status_code == 422
    assert "missing_function" in response.json()["detail"]["message"]


def test_a_net_with_a_remote_pool_cannot_be_run_from_the_editor(client):
    data = _data(client)
    data["pools"] = {"far": {"spec": {"type": "remote", "url": "ws://127.0.0.1:1"}}}
    response = _start(client, data, [])
    assert response.status_code == 422
    assert "pool 'far' is a remote pool" in response.json()["detail"]["message"]


def test_monitor_requests_without_a_run_are_refused(client):
    response = client.get("/api/monitor/dlq")
    assert response.status_code == 409
    assert "run the net or attach to one first" in response.json()["detail"]["message"]
    assert client.post("/api/run/stop").status_code == 409


def test_attach_relays_a_remote_nets_monitor(client, project):
    def sink(x: int) -> None:
        print("sink got", x)

    cfg = NetConfig.from_data({"on_error": "continue", "graph": {"nodes": [
        {"name": "S", "factory": "netrun.factories.from_function", "factory_args": {"func": sink}}]}})
    net, _ = net_from_config(cfg)
    server = MonitorServer(net, interval=0.05).start()
    try:
        response = client.post("/api/monitor/attach", json={"url": server.url})
        assert response.json()["source"]["kind"] == "remote"
        net.inject_data("S", "x", [1, 2, 3])
        net.start(threaded=True).wait_until_blocked(10)
        with client.websocket_connect(WS) as ws:
            assert ws.receive_json()["source"]["url"] == server.url
            _read_until(ws, lambda m: m.get("counters", {}).get("epochs_finished") == 3)
        detail = client.get("/api/monitor/node", params={"node": "S"}).json()
        assert len(detail["epochs"]) == 3
        missing = client.get("/api/monitor/node", params={"node": "nope"})
        assert missing.status_code == 502 and "node 'nope' is not in the monitored net" in missing.json()["detail"]["message"]
        assert client.post("/api/monitor/detach").json()["source"]["kind"] == "none"
    finally:
        server.stop()
        net.stop()


def test_attach_needs_a_websocket_url_that_answers(client):
    bad = client.post("/api/monitor/attach", json={"url": "http://127.0.0.1:9"})
    assert bad.status_code == 422 and "must start with ws://" in bad.json()["detail"]["message"]
    down = client.post("/api/monitor/attach", json={"url": "ws://127.0.0.1:9"})
    assert down.status_code == 502 and "cannot attach to ws://127.0.0.1:9" in down.json()["detail"]["message"]


def test_the_monitor_socket_refuses_foreign_origins(client):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect(WS, headers={"origin": "http://evil.example"}) as ws:
            ws.receive_json()
    with client.websocket_connect(WS, headers={"origin": "http://localhost:5173"}) as ws:
        assert ws.receive_json()["type"] == "source"
