"""Editor API: opening, creating and saving net files; the project root boundary."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from netrun.config import NetConfig


def test_info_names_the_root_and_the_builtin_factories(client, project):
    info = client.get("/api/info").json()
    assert info["root"] == str(project.resolve())
    assert "netrun.factories.from_function" in info["factories"]
    assert info["initial_file"] is None


def test_files_lists_net_files_recursively_and_skips_tool_folders(client, project):
    (project / "sub").mkdir()
    (project / "sub" / "b.netrun.json").write_text('{"graph": {"nodes": []}}')
    (project / "node_modules").mkdir()
    (project / "node_modules" / "x.netrun.toml").write_text("")
    (project / "plain.toml").write_text("")
    files = [f["path"] for f in client.get("/api/files").json()["files"]]
    assert files == ["pipeline.netrun.toml", "sub/b.netrun.json"]


def test_open_gives_graph_layout_data_and_the_factory_ports(client):
    opened = client.get("/api/file", params={"path": "pipeline.netrun.toml"}).json()
    assert opened["path"] == "pipeline.netrun.toml"
    assert (opened["format"], opened["layout"]) == ("toml", "dsl")
    nodes = opened["data"]["graph"]["nodes"]
    assert [n["name"] for n in nodes] == ["double", "inc"]
    assert opened["data"]["graph"]["edges"] == [
        {"source_node": "double", "source_port": "out", "target_node": "inc", "target_port": "x"}]
    analysis = opened["analysis"]
    assert analysis["ok"] is True and analysis["problems"] == []
    assert analysis["nodes"]["double"]["in_ports"]["x"]["type"] == "int"
    assert set(analysis["nodes"]["inc"]["out_ports"]) == {"out"}
    assert analysis["nodes"]["inc"]["in_salvo_conditions"]["trigger"]["when"] == "nonempty(x)"


def test_malformed_toml_is_refused_with_the_parse_error_and_its_line(client, project):
    (project / "bad.netrun.toml").write_text('[nodes.A]\nout_ports = ["out"]\n[nodes.B\n')
    response = client.get("/api/file", params={"path": "bad.netrun.toml"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail["type"] == "ConfigFileError"
    assert detail["message"].startswith("malformed TOML")
    assert "[nodes.B" in detail["message"]
    assert (detail["file"], detail["line"]) == ("bad.netrun.toml", 3)


def test_malformed_json_is_refused_with_line_and_column(client, project):
    (project / "bad.netrun.json").write_text('{\n  "graph": {"nodes": [}\n}\n')
    detail = client.get("/api/file", params={"path": "bad.netrun.json"}).json()["detail"]
    assert detail["message"].startswith("malformed JSON")
    assert (detail["line"], detail["column"]) == (2, 23)


def test_a_file_with_schema_problems_lists_every_problem_with_its_line(client, project):
    (project / "typo.netrun.toml").write_text('[nodes.A]\nout_prots = ["out"]\n\n[nodes.B]\nretries = "x"\n')
    response = client.get("/api/file", params={"path": "typo.netrun.toml"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail["type"] == "ConfigValidationFailed"
    assert len(detail["problems"]) == 2
    assert detail["problems"][0]["line"] == 2
    assert "out_prots" in detail["problems"][0]["msg"]
    assert "out_prots" in detail["message"] and "(and 1 more)" in detail["message"]


@pytest.mark.parametrize("path", ["../outside.netrun.toml", "sub/../../outside.netrun.toml", "/etc/hosts.toml"])
def test_a_path_outside_the_root_is_refused(client, project, path):
    (project.parent / "outside.netrun.toml").write_text("")
    response = client.get("/api/file", params={"path": path})
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert detail["type"] == "PathOutsideRootError"
    assert "outside the project root" in detail["message"] and str(project.resolve()) in detail["message"]


def test_a_symlink_leading_outside_the_root_is_refused(client, project):
    target = project.parent / "secret.netrun.toml"
    target.write_text("")
    os.symlink(target, project / "link.netrun.toml")
    assert client.get("/api/file", params={"path": "link.netrun.toml"}).status_code == 403
    response = client.post("/api/file/save", json={"path": "link.netrun.toml", "data": {"graph": {"nodes": []}}})
    assert response.status_code == 403
    assert target.read_text() == ""


def test_saving_outside_the_root_writes_nothing(client, project):
    response = client.post("/api/file/save", json={"path": "../evil.netrun.json", "data": {"graph": {"nodes": []}}})
    assert response.status_code == 403
    assert not (project.parent / "evil.netrun.json").exists()


def test_a_file_that_is_not_toml_or_json_is_refused(client, project):
    (project / "notes.txt").write_text("hi")
    detail = client.get("/api/file", params={"path": "notes.txt"}).json()["detail"]
    assert detail["type"] == "NotANetFileError" and ".toml or .json" in detail["message"]


def test_a_missing_file_is_404_and_says_how_to_create_it(client):
    response = client.get("/api/file", params={"path": "nope.netrun.toml"})
    assert response.status_code == 404
    assert "New file" in response.json()["detail"]["message"]


def test_new_creates_an_empty_net_once(client, project):
    created = client.post("/api/file/new", json={"path": "dir/new.netrun.toml"}).json()
    assert created["data"] == {"graph": {"nodes": []}}
    assert (project / "dir" / "new.netrun.toml").is_file()
    again = client.post("/api/file/new", json={"path": "dir/new.netrun.toml"})
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]["message"]


def _add_node(data, name, *, ins=(), outs=(), position=None):
    node = {"name": name}
    if ins:
        node["in_ports"] = {p: {} for p in ins}
    if outs:
        node["out_ports"] = {p: {} for p in outs}
    if position:
        node["extra"] = {"ui": {"position": position}}
    data["graph"]["nodes"].append(node)


def test_save_keeps_comments_layout_and_positions_and_reopens_equal(client, project):
    data = client.get("/api/file", params={"path": "pipeline.netrun.toml"}).json()["data"]
    data["graph"]["nodes"][0]["extra"] = {"ui": {"position": {"x": 40, "y": 80}}}
    _add_node(data, "sink", ins=["in"], position={"x": 600, "y": 80})
    data["graph"]["edges"].append({"source_node": "inc", "source_port": "out", "target_node": "sink",
                                   "target_port": "in"})
    saved = client.post("/api/file/save", json={"path": "pipeline.netrun.toml", "data": data}).json()
    text = (project / "pipeline.netrun.toml").read_text()
    assert saved["text"] == text
    assert "# A two-node pipeline (this comment must survive saving)" in text
    assert "on_error = \"continue\"  # keep going after a failure" in text
    assert "[nodes.sink]" in text  # still the DSL layout
    reopened = client.get("/api/file", params={"path": "pipeline.netrun.toml"}).json()
    assert reopened["data"] == saved["data"]
    nodes = {n["name"]: n for n in reopened["data"]["graph"]["nodes"]}
    assert nodes["double"]["extra"]["ui"]["position"] == {"x": 40, "y": 80}
    assert nodes["sink"]["extra"]["ui"]["position"] == {"x": 600, "y": 80}
    assert len(reopened["data"]["graph"]["edges"]) == 2


def test_saving_json_is_deterministic_with_keys_in_schema_order(client, project):
    client.post("/api/file/new", json={"path": "n.netrun.json"})
    data = {"extra": {"note": 1}, "graph": {"edges": [], "nodes": []}, "retries": 2}
    _add_node(data, "A", outs=["out"], position={"x": 1, "y": 2})
    first = client.post("/api/file/save", json={"path": "n.netrun.json", "data": data}).json()["text"]
    second = client.post("/api/file/save", json={"path": "n.netrun.json", "data": data}).json()["text"]
    assert first == second
    assert list(json.loads(first)) == ["graph", "extra", "retries"]  # NetConfig field order
    assert NetConfig.from_file(project / "n.netrun.json").graph.nodes[0].extra["ui"]["position"] == {"x": 1, "y": 2}


def test_saving_invalid_data_is_refused_and_leaves_the_file_alone(client, project):
    before = (project / "pipeline.netrun.toml").read_text()
    data = {"graph": {"nodes": [{"name": "A", "in_ports": {"x": {"slots_spec": {"type": "finite", "capacity": -1}}}}]}}
    response = client.post("/api/file/save", json={"path": "pipeline.netrun.toml", "data": data})
    assert response.status_code == 422
    problems = response.json()["detail"]["problems"]
    assert problems and problems[0]["location"].startswith("graph.nodes[0].in_ports.x")
    assert (project / "pipeline.netrun.toml").read_text() == before


def test_request_with_a_foreign_host_header_is_refused(client):
    response = client.get("/api/info", headers={"host": "evil.example"})
    assert response.status_code == 400


def test_without_a_frontend_build_the_page_says_how_to_build_it(project, tmp_path):
    from fastapi.testclient import TestClient

    from netrun.ui import create_app

    with TestClient(create_app(project, static_dir=tmp_path / "empty"), base_url="http://127.0.0.1") as c:
        page = c.get("/")
    assert page.status_code == 503
    assert "python ui/build.py" in page.text


def test_the_built_frontend_is_served_at_the_root(project, tmp_path):
    from fastapi.testclient import TestClient

    from netrun.ui import create_app

    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text("<html>editor</html>")
    with TestClient(create_app(project, static_dir=static), base_url="http://127.0.0.1") as c:
        assert c.get("/").text == "<html>editor</html>"


def test_initial_file_outside_the_root_is_refused_at_startup(project):
    from netrun.ui import PathOutsideRootError, create_app

    with pytest.raises(PathOutsideRootError, match="outside the project root"):
        create_app(project, initial_file="../x.netrun.toml")


def test_initial_file_is_reported_relative_to_the_root(project):
    from fastapi.testclient import TestClient

    from netrun.ui import create_app

    app = create_app(project, initial_file=str(Path(project) / "pipeline.netrun.toml"))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.get("/api/info").json()["initial_file"] == "pipeline.netrun.toml"


def test_a_cross_site_form_post_is_not_taken_as_json(client, project):
    before = (project / "pipeline.netrun.toml").read_text()
    body = json.dumps({"path": "pipeline.netrun.toml", "data": {"graph": {"nodes": []}}})
    response = client.post("/api/file/save", content=body, headers={"content-type": "text/plain"})
    assert response.status_code == 422
    assert (project / "pipeline.netrun.toml").read_text() == before
