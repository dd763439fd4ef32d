"""End-to-end fixtures: Debian's Chromium driven by Playwright, the editor on a random port.

Playwright's own browser downloads are not used (``playwright install`` is never run): the
tests launch ``/usr/bin/chromium``, installing it with apt when it is missing and the
tests run as root, and skip with the reason otherwise. The frontend is built first with
``python ui/build.py`` (a no-op when the built assets are up to date).

Set ``NETRUN_UI_SCREENSHOTS=docs/screenshots`` to write the README screenshots there
(otherwise they go to the test's temporary directory).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: an end-to-end test in a real browser")


def _install_chromium() -> str | None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "it cannot be installed here (needs root and apt-get)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd, timeout in ((["apt-get", "update"], 300), (["apt-get", "install", "-y", "chromium"], 900)):
        try:
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"'{' '.join(cmd)}' timed out after {timeout} s"
        if done.returncode != 0:
            return f"'{' '.join(cmd)}' failed: {done.stderr.strip()[-300:]}"
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """``/usr/bin/chromium``, installed with apt when missing (as root); else skip."""
    if not os.path.exists(CHROMIUM):
        why = _install_chromium()
        if not os.path.exists(CHROMIUM):
            pytest.skip(f"Chromium is not at {CHROMIUM} and {why or 'installing it did not provide it'}; "
                        "install it with 'apt-get install chromium'")
    return CHROMIUM


@pytest.fixture(scope="session")
def frontend() -> Path:
    """The built frontend (``python ui/build.py`` first; skip when it cannot be built)."""
    static = REPO / "src" / "netrun" / "ui" / "static"
    if shutil.which("npm") is None:
        if (static / "index.html").is_file():
            return static
        pytest.skip("the frontend is not built and npm is missing; install Node.js 20.19+ and run python ui/build.py")
    done = subprocess.run([sys.executable, str(REPO / "ui" / "build.py")], capture_output=True, text=True,
                          timeout=900)
    if done.returncode != 0:
        pytest.fail(f"python ui/build.py failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return static


@pytest.fixture(scope="session")
def browser(chromium_path, frontend):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (no browser download needed)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, timeout=30_000)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh page; JavaScript errors on it fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 760}, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def ui_server(frontend):
    """``start(root) -> base URL``: the editor for ``root`` on 127.0.0.1 and a random port,
    stopped after the test."""
    import uvicorn

    from netrun.ui import create_app

    servers = []

    def start(root: Path) -> str:
        app = create_app(root, interval=0.1)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        thread = threading.Thread(target=server.run, name="netrun-ui-e2e", daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 15
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the editor server did not start within 15 s")
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def screenshots(tmp_path) -> Path:
    """Where screenshots go (``NETRUN_UI_SCREENSHOTS`` or a temporary directory)."""
    target = os.environ.get("NETRUN_UI_SCREENSHOTS")
    folder = (REPO / target) if target and not os.path.isabs(target) else Path(target or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
