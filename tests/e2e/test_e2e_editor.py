"""The editor and the monitor in a real browser (Playwright driving Debian's Chromium)."""

from __future__ import annotations

import json
import re
import textwrap

import pytest

from netrun.config import NetConfig

pytestmark = pytest.mark.e2e

expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect


def _handle(page, node: str, kind: str, port: str):
    return page.locator(f'.svelte-flow__node[data-id="{node}"] .svelte-flow__handle.{kind}[data-handleid="{port}"]')


def _settled_box(page, locator) -> dict:
    """The element's box once it stopped moving (the view may pan after a node is added)."""
    box = locator.bounding_box()
    for _ in range(50):
        page.wait_for_timeout(60)
        again = locator.bounding_box()
        if again == box:
            return box
        box = again
    raise AssertionError(f"{locator} kept moving")


def _drag(page, source, target) -> None:
    """Drag from the middle of ``source`` to the middle of ``target`` in small steps."""
    a, b = _settled_box(page, source), _settled_box(page, target)
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=12)
    page.mouse.up()


def _add_plain_node(page, name: str, ins: str, outs: str) -> None:
    page.get_by_test_id("add-node-button").click()
    page.get_by_test_id("add-node-name").fill(name)
    page.get_by_test_id("add-node-in").fill(ins)
    page.get_by_test_id("add-node-out").fill(outs)
    page.get_by_test_id("add-node-confirm").click()
    expect(page.get_by_test_id(f"node-{name}")).to_be_visible()


def _open_from_dialog(page, path: str) -> None:
    page.get_by_test_id("open-button").click()
    page.get_by_test_id(f"file-{path}").click()
    expect(page.get_by_test_id(f"tab-{path}")).to_be_visible()


def test_open_add_two_nodes_connect_save_reload(page, ui_server, tmp_path, screenshots):
    root = tmp_path / "project"
    root.mkdir()
    net_file = root / "flow.netrun.toml"
    net_file.write_text("# Drawn in the browser; this comment stays.\n")
    base = ui_server(root)

    page.goto(base)
    _open_from_dialog(page, "flow.netrun.toml")
    _add_plain_node(page, "source", "", "out")
    _add_plain_node(page, "sink", "in", "")

    _drag(page, _handle(page, "source", "source", "out"), _handle(page, "sink", "target", "in"))
    edges = page.locator(".svelte-flow__edge")
    expect(edges).to_have_count(1)
    expect(page.get_by_test_id("problem-count")).to_have_text("valid")

    page.get_by_test_id("undo-button").click()  # the connection is one undo step
    expect(edges).to_have_count(0)
    page.get_by_test_id("redo-button").click()
    expect(edges).to_have_count(1)

    page.get_by_test_id("save-button").click()
    expect(page.get_by_test_id("toast").filter(has_text="Saved flow.netrun.toml")).to_be_visible()
    text = net_file.read_text()
    assert text.startswith("# Drawn in the browser; this comment stays.\n")
    saved = NetConfig.from_file(net_file)
    assert [n.name for n in saved.graph.nodes] == ["source", "sink"]
    assert [str(e) for e in saved.graph.edges] == ["source.out -> sink.in"]
    positions = {n.name: n.extra["ui"]["position"] for n in saved.graph.nodes}
    assert positions["sink"]["x"] > positions["source"]["x"]

    page.reload()
    _open_from_dialog(page, "flow.netrun.toml")
    expect(page.get_by_test_id("node-source")).to_be_visible()
    expect(page.get_by_test_id("node-sink")).to_be_visible()
    expect(edges).to_have_count(1)
    expect(page.locator(".svelte-flow__edge")).to_have_attribute("data-id", "source.out->sink.in")
    page.get_by_test_id("node-sink").click()
    expect(page.get_by_test_id("node-name")).to_have_value("sink")
    page.screenshot(path=str(screenshots / "editor.png"))


E2E_NODES = '''
import time


def double(x: int) -> int:
    time.sleep(0.004)
    return 2 * x


def inc(x: int) -> int:
    time.sleep(0.01)
    if x % 100 == 0:
        raise ValueError(f"{x} is a round number")
    return x + 1
'''

E2E_NET = '''
# A small pipeline whose second node rejects round numbers.
edges = [
    { from = "double.out", to = "inc.x" },
]

[net]
on_error = "continue"

[nodes.double]
factory = "netrun.factories.from_function"
factory_args = { func = "e2e_nodes.double" }
meta = { ui = { position = { x = 60, y = 120 } } }

[nodes.inc]
factory = "netrun.factories.from_function"
factory_args = { func = "e2e_nodes.inc" }
meta = { ui = { position = { x = 380, y = 120 } } }
'''


def _counter(page, key: str) -> int:
    return int(page.get_by_test_id(f"counter-{key}").locator(".value").inner_text())


def test_run_a_net_and_watch_the_monitor_counters_move(page, ui_server, tmp_path, screenshots):
    root = tmp_path / "project"
    root.mkdir()
    (root / "e2e_nodes.py").write_text(textwrap.dedent(E2E_NODES))
    (root / "pipeline.netrun.toml").write_text(textwrap.dedent(E2E_NET).lstrip())
    base = ui_server(root)

    page.goto(f"{base}/?file=pipeline.netrun.toml")
    expect(page.get_by_test_id("node-double")).to_be_visible()
    page.get_by_test_id("run-button").click()
    page.get_by_test_id("add-injection").click()
    page.get_by_test_id("inject-values-0").fill(json.dumps(list(range(1, 301))))
    page.get_by_test_id("run-confirm").click()

    expect(page.get_by_test_id("monitor-panel")).to_be_visible()
    page.wait_for_function(
        "() => +document.querySelector('[data-testid=counter-epochs_finished] .value')?.textContent > 20")
    first = _counter(page, "epochs_finished")
    page.wait_for_function(
        f"() => +document.querySelector('[data-testid=counter-epochs_finished] .value').textContent > {first}")
    expect(page.get_by_test_id("node-double")).to_have_attribute("data-state", "running")
    assert int(page.get_by_test_id("counter-queued").locator(".value").inner_text()) > 0

    # double's epochs run first; then inc's, some of which fail
    page.get_by_test_id("node-inc").click()
    page.wait_for_function(  # double's epochs are done; inc's are under way
        "() => +document.querySelector('[data-testid=counter-epochs_finished] .value').textContent > 360",
        timeout=30_000)
    expect(page.get_by_test_id("node-inc")).to_have_attribute("data-state", "running")
    expect(page.get_by_test_id("node-detail")).to_be_visible()
    page.add_style_tag(content="[data-testid=toast] { display: none !important; }")
    page.screenshot(path=str(screenshots / "monitor.png"))

    # 300 values through double, then inc; inc rejects 2x for x = 50, 100, ..., 300
    # (the runtime may report the failures a little after the last success)
    page.wait_for_function(
        """() => {
            const n = (key) => +document.querySelector(`[data-testid=counter-${key}] .value`).textContent;
            return n('epochs_finished') === 594 && n('epochs_failed') === 6 && n('dlq') === 6;
        }""",
        timeout=30_000)
    expect(page.get_by_test_id("dlq-entry")).to_have_count(6)
    expect(page.get_by_test_id("node-inc")).to_have_attribute("data-state", "failed")
    expect(page.get_by_test_id("node-detail").get_by_text("ValueError: 600 is a round number")).to_be_visible()

    page.get_by_test_id("stop-button").click()
    expect(page.get_by_test_id("stop-button")).to_be_disabled()


def test_factory_form_when_validation_problems_on_edges_and_tabs(page, ui_server, tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "e2e_nodes.py").write_text(textwrap.dedent(E2E_NODES))
    (root / "pipeline.netrun.toml").write_text(textwrap.dedent(E2E_NET).lstrip())
    (root / "broken.netrun.json").write_text(json.dumps({"graph": {
        "nodes": [{"name": "a", "out_ports": {"o": {}}}, {"name": "b", "in_ports": {"i": {}}}],
        "edges": [{"source_node": "a", "source_port": "o", "target_node": "b", "target_port": "zz"}]}}))
    base = ui_server(root)
    page.goto(f"{base}/?file=pipeline.netrun.toml")

    # a node from a factory, its parameters given in the form built from factory-info
    page.get_by_test_id("add-node-button").click()
    page.get_by_test_id("mode-factory").check()
    page.get_by_test_id("add-node-factory").fill("netrun.factories.from_function")
    page.get_by_test_id("add-node-factory").press("Tab")
    func = page.get_by_test_id("factory-arg-func").locator("input")
    func.fill("e2e_nodes.no_such_function")
    func.press("Tab")
    page.get_by_test_id("add-node-name").fill("again")
    page.get_by_test_id("add-node-confirm").click()
    expect(page.get_by_test_id("add-node-error")).to_contain_text("no_such_function")
    func.fill("e2e_nodes.inc")
    func.press("Tab")
    page.get_by_test_id("add-node-confirm").click()
    expect(page.locator('.svelte-flow__node[data-id="again"] .svelte-flow__handle.target[data-handleid="x"]')).to_have_count(1)

    # a salvo condition's `when` is checked as it is typed; only valid text reaches the file
    page.get_by_test_id("node-inc").click()
    page.get_by_role("button", name="Customize").first.click()
    when = page.get_by_test_id("when-in-trigger")
    when.fill("nonempty(x) andd")
    expect(page.get_by_test_id("when-in-trigger-error")).to_contain_text("unexpected 'andd' after a complete condition")
    when.fill("nonempty(x) and not full(x)")
    expect(page.get_by_test_id("when-in-trigger-error")).to_have_count(0)

    # a second file in a tab; its bad edge is drawn red with the problem on it
    page.get_by_test_id("open-button").click()
    page.get_by_test_id("file-broken.netrun.json").click()
    expect(page.get_by_test_id("tab-pipeline.netrun.toml")).to_be_visible()
    expect(page.get_by_test_id("problem-count")).to_have_text("1 problem(s)")
    label = page.get_by_test_id("edge-label-a.o->b.zz")
    expect(label).to_have_attribute("title", re.compile("node 'b' has no input port 'zz'"))
    page.get_by_test_id("tab-pipeline.netrun.toml").get_by_role("button").first.click()
    expect(page.get_by_test_id("node-again")).to_be_visible()
