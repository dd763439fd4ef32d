"""Defining pools for a Net: ``pools=...`` of every kind, the config bridge, bad definitions."""

from __future__ import annotations

import pytest
from _net_graphs import pipeline

from netrun.config import NetConfig
from netrun.config.runtime import config_from_runtime, runtime_setup
from netrun.errors import NodeConfigError
from netrun.net import Net
from netrun.net.pools import PoolType


def test_pools_keyword_defines_every_kind_without_starting_anything(make_net):
    net = make_net(pipeline("A", "B", "C", "D"), thread_pools={"io": {"size": 2}},
                   process_pools={"cpu": {"size": 2, "threads_per_process": 2}},
                   pools={"far": {"type": "remote", "url": "ws://127.0.0.1:9", "num_processes": 3},
                          "cl": {"type": "dask", "n_workers": 1, "threads_per_worker": 4},
                          "more": {"type": "thread", "size": 3}})
    for node, pool in zip("ABCD", ("io", "cpu", "far", "cl")):
        net.set_node_config(node, pool=pool)
    manager = net.pool_manager
    kinds = {name: manager.get_pool(name).pool_type for name in manager.pool_names}
    assert kinds == {"io": PoolType.THREAD, "more": PoolType.THREAD, "cpu": PoolType.PROCESS,
                     "far": PoolType.REMOTE, "cl": PoolType.DASK}
    sizes = {name: manager.get_pool(name).size for name in manager.pool_names}
    assert sizes == {"io": 2, "more": 3, "cpu": 4, "far": 3, "cl": 4}
    assert manager.get_pool("far").is_process_pool and not manager.get_pool("io").is_process_pool


@pytest.mark.parametrize("options, message", [
    ({"pools": {"x": {"size": 2}}}, "Pool 'x' in pools=... needs a 'type'"),
    ({"pools": {"x": {"type": "cluster"}}}, "needs a 'type': one of"),
    ({"pools": {"x": {"type": "remote"}}}, "Remote pool 'x' needs url='ws://host:port'"),
    ({"pools": {"x": {"type": "remote", "url": "http://h:1"}}}, "needs url="),
    ({"pools": {"x": {"type": "process", "sise": 2}}}, "Pool 'x' (process): unknown option(s) ['sise']"),
    ({"pools": {"x": {"type": "process", "size": 0}}}, "Pool 'x' needs an integer size >= 1, got 0"),
    ({"pools": {"x": {"type": "dask", "on_stop": "later"}}}, "on_stop must be 'drain' or 'cancel'"),
    ({"pools": {"x": {"type": "dask", "allocation": "best"}}}, "allocation must be one of"),
    ({"pools": {"x": {"type": "dask", "drain_timeout": -1}}}, "needs a number drain_timeout > 0"),
    ({"pools": {"x": {"type": "remote", "url": "ws://h:1", "ping_timeout": 0}}}, "needs a number ping_timeout > 0"),
    ({"pools": {"main": {"type": "thread"}}}, "pool name 'main' is not allowed"),
    ({"thread_pools": {"x": {"size": 1}}, "pools": {"x": {"type": "dask"}}}, "Pool name 'x' is used twice"),
    ({"process_pools": {"x": {"size": 1, "start_method": "fork"}}}, "start_method 'fork' is not available"),
    ({"process_pools": {"x": {"type": "remote"}}}, "cannot have type 'remote'; define it in pools="),
    ({"pools": ["x"]}, "pools must be a dict"),
])
def test_bad_pool_definitions_name_the_pool_and_the_fix(options, message):
    with pytest.raises(NodeConfigError) as info:
        Net(pipeline("A"), **options)
    assert message in str(info.value)


def test_global_init_mode_is_refused_for_remote_pools(make_net):
    net = make_net(pipeline("A"), pools={"far": {"type": "remote", "url": "ws://127.0.0.1:9"}})
    with pytest.raises(NodeConfigError, match="a remote pool runs start functions once per worker process"):
        net.set_node_config("A", pool="far", pool_init_mode="global")


TOML = """
[net]
on_error = "continue"

[net.pools.far]
type = "remote"
url = "ws://127.0.0.1:9"
num_processes = 2

[net.pools.cl]
type = "dask"
n_workers = 1
threads_per_worker = 1
processes = false

[nodes.A]
[nodes.A.options]
pool = "far"

[nodes.B]
[nodes.B.options]
pool = "cl"
"""


def test_remote_and_dask_pools_from_a_definition_reach_the_net():
    from netrun.net import Net

    setup = runtime_setup(NetConfig.from_toml(TOML))
    assert sorted(setup.net_kwargs["pools"]) == ["cl", "far"]
    net = Net.from_setup(setup, handle_sigint=False)
    try:
        executors = net._core.executors
        assert (executors["far"].kind, executors["far"].size) == ("remote", 2)
        assert (executors["cl"].kind, executors["cl"].size) == ("dask", 1)
        assert net.get_node_config("A").pool == "far"
    finally:
        net.stop()


def test_saving_a_net_with_pools_writes_no_secrets():
    cfg = config_from_runtime(pipeline("A"), net_options={"pools": {
        "far": {"type": "remote", "url": "ws://h:1", "token": "s3cret", "num_processes": 2, "prefetch": 4},
        "cpu": {"type": "process", "size": 3},
        "cl": {"type": "dask", "address": "tcp://h:8786"}}})
    text = cfg.to_toml()
    assert "s3cret" not in text and "prefetch" not in text
    assert cfg.pools["far"].spec.url == "ws://h:1" and cfg.pools["far"].spec.num_processes == 2
    assert cfg.pools["cpu"].spec.num_processes == 3
    assert cfg.pools["cl"].spec.scheduler_address == "tcp://h:8786"


def test_a_node_chooses_how_workers_are_allocated(make_net):
    net = make_net(pipeline("A"), process_pools={"cpu": {"size": 2, "allocation": "random"}})
    net.set_node_config("A", pool="cpu", pool_allocation_method="round_robin")
    assert net.get_node_config("A").pool_allocation_method == "round-robin"
    with pytest.raises(NodeConfigError, match="pool_allocation_method must be 'round-robin', 'random' or "
                                              "'least-busy', got 'fastest'"):
        net.set_node_config("A", pool_allocation_method="fastest")
    cfg = NetConfig.from_toml(TOML.replace('pool = "far"', 'pool = "far"\npool_allocation_method = "random"'))
    assert runtime_setup(cfg).node_options["A"]["pool_allocation_method"] == "random"


def passthrough(ctx, packets):
    value = ctx.consume_packet(packets["x"][0])
    ctx.load_output_port("out", ctx.create_packet(value))
    ctx.send_output_salvo("send")


def _pools_used(net_options: dict, node_options: dict | None = None, epochs: int = 8) -> tuple[list, str]:
    """Run ``epochs`` epochs of node A (pools p1 and p2, one epoch at a time) from a config;
    returns the pool of each epoch in order and A's allocation method."""
    from _config_nets import config, manual

    from netrun.net import Net

    pools = {p: {"spec": {"type": "thread", "num_workers": 4}} for p in ("p1", "p2")}
    cfg = config([manual("A", passthrough, pools=["p1", "p2"], max_parallel_epochs=1, **(node_options or {}))],
                 pools=pools, **net_options)
    net = Net.from_setup(runtime_setup(cfg), handle_sigint=False)
    try:
        used: list = []
        net.on_epoch_end(lambda node, eid, log: used.append(log.pool_id))
        net.inject_data("A", "x", list(range(epochs)))
        net.start()
        assert sorted(net.flush_output_queue("A::out")) == list(range(epochs))
        return used, net.get_node_config("A").pool_allocation_method
    finally:
        net.stop()


def test_the_config_default_allocation_method_picks_among_a_nodes_pools():
    # the NetConfig default is round-robin: the two pools take turns
    pools, method = _pools_used({})
    assert method == "round-robin"
    assert pools == ["p1", "p2"] * 4
    pools, method = _pools_used({"default_pool_allocation_method": "least-busy"})
    assert method == "least-busy"
    assert pools == ["p1"] * 8  # one epoch at a time: the first pool always has the most free workers
    pools, method = _pools_used({"default_pool_allocation_method": "random"}, epochs=40)
    assert method == "random" and set(pools) == {"p1", "p2"}  # chance of one pool only: 2**-39


def test_a_nodes_own_allocation_method_wins_over_the_config_default():
    pools, method = _pools_used({"default_pool_allocation_method": "random"},
                                {"pool_allocation_method": "round-robin"})
    assert method == "round-robin" and pools == ["p1", "p2"] * 4
    # a single-pool node keeps its pool's own allocation (the default is not forced on it)
    cfg = NetConfig.from_toml(TOML)
    assert "pool_allocation_method" not in runtime_setup(cfg).node_options["A"]
