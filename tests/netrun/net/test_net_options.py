"""Node options: validation of every option, merging, retry delays, pools."""

from __future__ import annotations

import random

import pytest
from _net_graphs import pipeline
from _net_nodes import passthrough

from netrun.errors import NodeConfigError
from netrun.net import NodeConfig, NodeOptions


def test_defaults_match_the_spec():
    config = NodeConfig()
    assert (config.pool, config.max_parallel_epochs, config.rate_limit_per_second) == (None, None, None)
    assert (config.defer_net_actions, config.retries, config.retry_wait, config.timeout) == (False, 0, 0.0, None)
    assert (config.dead_letter_queue, config.capture_stdout, config.echo_stdout) == (True, True, False)
    assert config.pool_init_mode == "per_worker"
    assert NodeOptions is NodeConfig


@pytest.mark.parametrize(
    "options, message",
    [
        ({"retries": 2}, "retries=2 needs defer_net_actions=True"),
        ({"retries": -1, "defer_net_actions": True}, "retries must be >= 0"),
        ({"retries": 1.5, "defer_net_actions": True}, "retries must be an integer"),
        ({"max_parallel_epochs": 0}, "max_parallel_epochs must be >= 1"),
        ({"max_parallel_epochs": "4"}, "max_parallel_epochs must be an integer"),
        ({"rate_limit_per_second": 0}, "rate_limit_per_second must be > 0"),
        ({"rate_limit_per_second": -2.0}, "rate_limit_per_second must be > 0"),
        ({"retry_wait": -1}, "retry_wait must be >= 0"),
        ({"timeout": 0}, "timeout must be > 0"),
        ({"timeout": "soon"}, "timeout must be a number"),
        ({"retry_backoff": 0.5}, "retry_backoff must be >= 1"),
        ({"retry_jitter": 2}, "retry_jitter must be <= 1"),
        ({"retry_max_wait": -1}, "retry_max_wait must be >= 0"),
        ({"defer_net_actions": "yes"}, "defer_net_actions must be True or False"),
        ({"dead_letter_queue": 1}, "dead_letter_queue must be True or False"),
        ({"capture_stdout": None}, "capture_stdout must be True or False"),
        ({"echo_stdout": "no"}, "echo_stdout must be True or False"),
        ({"pool_init_mode": "sometimes"}, "pool_init_mode must be 'per_worker' or 'global'"),
        ({"pool": []}, "pool must be a pool name or a non-empty list"),
        ({"pool": 3}, "pool must be a pool name"),
    ],
)
def test_invalid_options_raise_with_a_message(options, message):
    with pytest.raises(NodeConfigError, match=message):
        NodeConfig(**options)


def test_invalid_options_are_value_errors(make_net):
    net = make_net(pipeline("A"))
    with pytest.raises(ValueError, match="needs defer_net_actions=True"):
        net.set_node_config("A", retries=1)
    with pytest.raises(NodeConfigError, match=r"Unknown node option\(s\) 'retrys'; valid options: pool, "):
        net.set_node_config("A", retrys=1)


def test_set_node_config_merges(make_net):
    net = make_net(pipeline("A"))
    net.set_node_config("A", retries=2, defer_net_actions=True)
    net.set_node_config("A", timeout=3.0)
    config = net.get_node_config("A")
    assert (config.retries, config.defer_net_actions, config.timeout) == (2, True, 3.0)
    assert net.get_node_config("A").to_dict(exclude_defaults=True) == {
        "defer_net_actions": True, "retries": 2, "timeout": 3.0}


def test_unknown_pool_names_the_defined_pools(make_net):
    net = make_net(pipeline("A"), thread_pools={"io": {"size": 2}})
    with pytest.raises(NodeConfigError, match=r"uses pool 'cpu', which is not defined; defined pools: io"):
        net.set_node_config("A", pool="cpu")
    net.set_node_config("A", pool=["io"])
    assert net.get_node_config("A").pools == ["io"]


def test_global_init_mode_is_refused_for_process_pools(make_net):
    net = make_net(pipeline("A"), process_pools={"cpu": {"size": 1}})
    with pytest.raises(NodeConfigError, match="pool_init_mode='global' is only possible for thread pools"):
        net.set_node_config("A", pool="cpu", pool_init_mode="global")


def test_retry_delay_constant_exponential_capped_and_jittered():
    assert NodeConfig(retries=3, defer_net_actions=True, retry_wait=0.5).retry_delay(3) == 0.5
    expo = NodeConfig(retries=5, defer_net_actions=True, retry_wait=0.1, retry_backoff=2)
    assert [round(expo.retry_delay(k), 6) for k in (1, 2, 3, 4)] == [0.1, 0.2, 0.4, 0.8]
    capped = NodeConfig(retries=5, defer_net_actions=True, retry_wait=0.1, retry_backoff=10, retry_max_wait=1.0)
    assert capped.retry_delay(4) == 1.0
    jittered = NodeConfig(retries=5, defer_net_actions=True, retry_wait=1.0, retry_jitter=0.5)
    rng = random.Random(1)
    delays = [jittered.retry_delay(1, rng) for _ in range(200)]
    assert all(0.5 <= d <= 1.5 for d in delays) and max(delays) - min(delays) > 0.5


def test_pool_size_must_be_a_dict_with_positive_size():
    from netrun.net import Net

    with pytest.raises(NodeConfigError, match="must be configured with a dict"):
        Net(pipeline("A"), thread_pools={"io": 4})
    with pytest.raises(NodeConfigError, match="thread_pools must be a dict"):
        Net(pipeline("A"), thread_pools=["io"])


def test_pool_manager_describes_the_pools(make_net):
    net = make_net(pipeline("A"), thread_pools={"io": {"size": 3}, "cpu": {"size": 1}})
    manager = net.pool_manager
    assert sorted(manager.pool_names) == ["cpu", "io"] and manager.has_pools()
    assert manager.get_pool("io").size == 3 and manager.get_pool("io").is_thread_pool
    assert manager.select_pool(["io", "cpu"]).name == "io"  # most free workers
    with pytest.raises(ValueError, match="Unknown pool selection algorithm"):
        manager.select_pool(["io"], "random")
    net.set_node_exec("A", passthrough)
