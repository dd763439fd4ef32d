"""Editor API: validation tied to nodes and edges, `when` checking, factories, actions, recipes."""

from __future__ import annotations

import textwrap


def _data(client):
    return client.get("/api/file", params={"path": "pipeline.netrun.toml"}).json()["data"]


def _analyze(client, data, path="pipeline.netrun.toml"):
    response = client.post("/api/analyze", json={"path": path, "data": data})
    assert response.status_code == 200
    return response.json()


def test_an_edge_to_a_missing_port_is_reported_on_that_edge(client):
    data = _data(client)
    data["graph"]["edges"][0]["target_port"] = "y"
    result = _analyze(client, data)
    assert result["ok"] is False
    on_edge = [p for p in result["problems"] if p["target"] == {"kind": "edge", "key": "double.out->inc.y"}]
    assert on_edge, result["problems"]
    assert "'y'" in on_edge[0]["msg"]


def test_fan_out_is_reported_on_the_extra_edge(client):
    data = _data(client)
    data["graph"]["nodes"].append({"name": "other", "in_ports": {"x": {}}})
    data["graph"]["edges"].append({"source_node": "double", "source_port": "out", "target_node": "other",
                                   "target_port": "x"})
    problems = _analyze(client, data)["problems"]
    fan_out = [p for p in problems if p["type"] == "fan_out"]
    assert fan_out and fan_out[0]["target"]["kind"] == "edge"


def test_a_salvo_condition_naming_a_missing_port_is_reported_on_its_node(client):
    data = {"graph": {"nodes": [{
        "name": "A", "in_ports": {"a": {}},
        "in_salvo_conditions": {"go": {"max_salvos": {"type": "finite", "max": 1},
                                       "term": {"type": "port", "port_name": "zz", "state": {"type": "non_empty"}}}},
    }]}}
    problems = _analyze(client, data)["problems"]
    assert problems[0]["target"] == {"kind": "node", "key": "A"}
    assert problems[0]["where"].startswith("in_salvo_conditions.go")
    assert "zz" in problems[0]["msg"]


def test_schema_problems_in_unsaved_data_come_back_as_problems_not_errors(client):
    data = {"graph": {"nodes": [{"name": "A", "out_ports": {"o": {"slots_spec": {"type": "finite"}}}}]}}
    result = _analyze(client, data)
    assert result["ok"] is False
    assert result["problems"][0]["target"] == {"kind": "node", "key": "A"}
    assert "capacity" in result["problems"][0]["location"] + result["problems"][0]["msg"]


def test_an_unknown_factory_shows_on_its_node(client):
    data = {"graph": {"nodes": [{"name": "A", "factory": "no_such_module.factory"}]}}
    result = _analyze(client, data)
    assert result["problems"][0]["target"] == {"kind": "node", "key": "A"}
    assert "no_such_module" in result["problems"][0]["msg"]


def test_analysis_shows_generated_defaults_for_plain_nodes(client):
    data = {"graph": {"nodes": [{"name": "A", "in_ports": {"a": {}, "b": {}}, "out_ports": {"o": {}}}]}}
    nodes = _analyze(client, data)["nodes"]
    assert nodes["A"]["in_salvo_conditions"]["default"]["when"] == "nonempty(a) and nonempty(b)"
    assert nodes["A"]["out_salvo_conditions"]["default"]["data"]["max_salvos"] == {"type": "finite", "max": 1}


def test_expression_check_returns_the_term_and_warns_about_unknown_ports(client):
    result = client.post("/api/expression", json={"when": "nonempty(a) and count(b) >= 2", "ports": ["a"]}).json()
    assert result["ok"] is True
    assert result["term"]["type"] == "and"
    assert result["term"]["terms"][1] == {"type": "port", "port_name": "b",
                                          "state": {"type": "equals_or_greater_than", "value": 2}}
    assert result["warnings"] == ["'b' is not an input port of this node (input ports: a)"]


def test_expression_check_points_at_the_error_column(client):
    result = client.post("/api/expression", json={"when": "nonempty(a) andd full(b)"}).json()
    assert result["ok"] is False
    assert result["error"]["column"] == 13
    assert "column 13" in result["error"]["message"]


def test_expression_request_without_text_is_a_422(client):
    assert client.post("/api/expression", json={"ports": []}).status_code == 422


def test_factory_info_gives_the_parameters(client):
    info = client.get("/api/factory-info", params={"factory": "netrun.factories.from_function"}).json()
    params = {p["name"]: p for p in info["parameters"]}
    assert params["func"]["required"] is True
    assert params["manual_output"] == {"name": "manual_output", "type": "bool", "default": False, "required": False}


def test_an_unknown_factory_is_a_404_naming_the_module(client):
    response = client.get("/api/factory-info", params={"factory": "not_a_module.thing"})
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert detail["type"] == "FactoryNotFoundError"
    assert "factory 'not_a_module.thing' not found" in detail["message"]
    assert "No module named 'not_a_module'" in detail["message"]


def test_factory_node_builds_a_node_with_the_factory_ports(client):
    response = client.post("/api/factory-node", json={
        "path": "pipeline.netrun.toml", "factory": "netrun.factories.from_function",
        "factory_args": {"func": "uitest_nodes.double"}, "name": "twice"})
    assert response.status_code == 200
    result = response.json()
    assert result["node"] == {"type": "node", "name": "twice", "factory": "netrun.factories.from_function",
                              "factory_args": {"func": "uitest_nodes.double"}}
    assert list(result["info"]["in_ports"]) == ["x"]


def test_factory_node_with_a_bad_argument_is_refused(client):
    response = client.post("/api/factory-node", json={
        "path": "pipeline.netrun.toml", "factory": "netrun.factories.from_function",
        "factory_args": {"func": "uitest_nodes.no_such_function"}, "name": "x"})
    assert response.status_code == 422
    assert "no_such_function" in response.json()["detail"]["message"]


def test_factory_node_with_an_unknown_factory_is_a_404(client):
    response = client.post("/api/factory-node", json={"factory": "nope_mod.f", "name": "x"})
    assert response.status_code == 404


ACTIONS = {"ui": {"actions": [{"id": "hello", "label": "Hello", "command": "echo hello $NODE_NAME"},
                              {"id": "fail", "label": "Fail", "command": "echo oops >&2; exit 3"}]}}


def test_actions_are_listed_and_run_with_their_output(client):
    data = _data(client)
    data["extra"] = ACTIONS
    listed = client.post("/api/actions/list", json={"path": "pipeline.netrun.toml", "data": data,
                                                    "node": "inc"}).json()
    assert [a["id"] for a in listed["actions"]] == ["hello", "fail"]
    ran = client.post("/api/actions/run", json={"path": "pipeline.netrun.toml", "data": data, "id": "hello",
                                                "node": "inc"}).json()
    assert ran["success"] is True and ran["stdout"] == "hello inc\n"
    failed = client.post("/api/actions/run", json={"path": "pipeline.netrun.toml", "data": data, "id": "fail"}).json()
    assert (failed["success"], failed["exit_code"], failed["stderr"]) == (False, 3, "oops\n")


def test_an_unknown_action_or_node_is_a_404(client):
    data = _data(client)
    data["extra"] = ACTIONS
    missing = client.post("/api/actions/run", json={"path": "pipeline.netrun.toml", "data": data, "id": "nope"})
    assert missing.status_code == 404
    assert "known actions: fail, hello" in missing.json()["detail"]["message"]
    no_node = client.post("/api/actions/list", json={"data": data, "node": "ghost"})
    assert no_node.status_code == 404


RECIPE = '''
def get_prompts(config):
    return [{"name": "node", "label": "Node name", "type": "text", "default": "extra"}]


def run(config, inputs):
    print("adding", inputs["node"])
    config["graph"]["nodes"].append({"name": inputs["node"], "out_ports": {"out": {}}})
    return config
'''


def test_recipes_give_prompts_and_return_the_new_config(client, project):
    (project / "add_node.py").write_text(textwrap.dedent(RECIPE))
    data = _data(client)
    data["extra"] = {"recipes": {"add": {"path": "add_node.py", "description": "adds a node"}}}
    body = {"path": "pipeline.netrun.toml", "data": data, "name": "add"}
    assert client.post("/api/recipes/list", json=body).json()["recipes"]["add"]["description"] == "adds a node"
    prompts = client.post("/api/recipes/prompts", json=body).json()["prompts"]
    assert prompts[0]["name"] == "node" and prompts[0]["default"] == "extra"
    result = client.post("/api/recipes/run", json={**body, "inputs": {"node": "added"}}).json()
    assert result["stdout"] == "adding added\n"
    assert [n["name"] for n in result["config"]["graph"]["nodes"]] == ["double", "inc", "added"]


def test_a_recipe_file_outside_the_root_is_refused(client, project):
    (project.parent / "evil.py").write_text("def run(config, inputs):\n    return config\n")
    data = _data(client)
    data["extra"] = {"recipes": {"evil": {"path": "../evil.py"}}}
    response = client.post("/api/recipes/prompts", json={"path": "pipeline.netrun.toml", "data": data, "name": "evil"})
    assert response.status_code == 403


def test_a_recipe_returning_an_invalid_net_is_refused_with_the_problems(client, project):
    (project / "broken.py").write_text("def run(config, inputs):\n    return {'graph': {'nodes': [{'name': 1}]}}\n")
    data = _data(client)
    data["extra"] = {"recipes": {"broken": {"path": "broken.py"}}}
    response = client.post("/api/recipes/run", json={"path": "pipeline.netrun.toml", "data": data, "name": "broken"})
    assert response.status_code == 422
    assert response.json()["detail"]["problems"][0]["location"] == "graph.nodes[0].name"
