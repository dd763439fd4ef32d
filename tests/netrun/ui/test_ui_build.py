"""ui/build.py: build only when the assets are missing or the sources changed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def build(tmp_path, monkeypatch):
    """The build script as a module, pointed at a scratch ui/ folder and static folder."""
    spec = importlib.util.spec_from_file_location("netrun_ui_build_script", REPO / "ui" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ui = tmp_path / "ui"
    (ui / "src").mkdir(parents=True)
    (ui / "src" / "app.js").write_text("console.log(1)")
    (ui / "package.json").write_text(json.dumps({"name": "x", "scripts": {"build": "true"}}))
    static = tmp_path / "static"
    monkeypatch.setattr(module, "UI_DIR", ui)
    monkeypatch.setattr(module, "BUILD_DIR", ui / "build")
    monkeypatch.setattr(module, "STATIC_DIR", static)
    monkeypatch.setattr(module, "STAMP", static / ".build-stamp")
    return module


def _fake_npm(build, monkeypatch, calls):
    """npm replaced by a recorder that 'builds' an index.html."""
    monkeypatch.setattr(build.shutil, "which", lambda name: "/usr/bin/npm" if name == "npm" else None)

    def run(cmd):
        calls.append(cmd[1:])
        if cmd[1:] == ["run", "build"]:
            out = build.BUILD_DIR
            out.mkdir(exist_ok=True)
            (out / "index.html").write_text("<html>built</html>")

    monkeypatch.setattr(build, "_run", run)


def test_missing_assets_are_stale_and_get_built_once(build, monkeypatch):
    calls = []
    _fake_npm(build, monkeypatch, calls)
    assert build.is_stale()
    assert build.main([]) == 0
    assert calls == [["install", "--no-audit", "--no-fund"], ["run", "build"]]
    assert (build.STATIC_DIR / "index.html").read_text() == "<html>built</html>"
    assert not build.is_stale()
    calls.clear()
    assert build.main([]) == 0
    assert calls == []  # up to date: nothing runs
    assert build.main(["--check"]) == 0


def test_a_changed_source_makes_the_build_stale(build, monkeypatch):
    calls = []
    _fake_npm(build, monkeypatch, calls)
    build.main([])
    (build.UI_DIR / "src" / "app.js").write_text("console.log(2)")
    assert build.is_stale()
    assert build.main(["--check"]) == 1
    (build.UI_DIR / "src" / "app.js").write_text("console.log(1)")
    assert not build.is_stale()  # contents, not modification times, decide


def test_a_lock_file_means_npm_ci(build, monkeypatch):
    calls = []
    _fake_npm(build, monkeypatch, calls)
    (build.UI_DIR / "package-lock.json").write_text("{}")
    build.main([])
    assert calls[0] == ["ci", "--no-audit", "--no-fund"]


def test_old_build_output_is_replaced_but_the_gitignore_kept(build, monkeypatch):
    calls = []
    _fake_npm(build, monkeypatch, calls)
    build.STATIC_DIR.mkdir()
    (build.STATIC_DIR / ".gitignore").write_text("*\n!.gitignore\n")
    (build.STATIC_DIR / "stale.js").write_text("old")
    build.main(["--force"])
    assert sorted(p.name for p in build.STATIC_DIR.iterdir()) == [".build-stamp", ".gitignore", "index.html"]


def test_without_npm_the_error_says_what_to_install(build, monkeypatch, capsys):
    monkeypatch.setattr(build.shutil, "which", lambda name: None)
    assert build.main([]) == 1
    err = capsys.readouterr().err
    assert "npm was not found on PATH; install Node.js 20.19 or newer" in err


def test_a_failing_npm_command_is_reported(build, monkeypatch, capsys):
    monkeypatch.setattr(build.shutil, "which", lambda name: "/bin/false")
    monkeypatch.setattr(build.subprocess, "run", lambda *a, **k: type("R", (), {"returncode": 2})())
    assert build.main([]) == 1
    assert "failed with exit code 2" in capsys.readouterr().err


def test_the_static_folder_ignores_everything_but_itself():
    assert (REPO / "src" / "netrun" / "ui" / "static" / ".gitignore").read_text() == "*\n!.gitignore\n"
