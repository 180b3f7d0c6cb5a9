"""rabbitmq-partition-check's decision: which side of a split restarts its broker.

The script is the template itself (no ERB tags), imported here; that it heals a real split is
test_active_active_deploy.py's (a controller cut off with partition handling off).
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import re

import pytest


SCRIPT = "cookbooks/deployer_rabbitmq/templates/default/rabbitmq-partition-check.erb"
CLUSTER = ["rabbit@ctl1", "rabbit@ctl2", "rabbit@ctl3"]


@pytest.fixture(scope="module")
def check():
    from deployer.config import REPO_ROOT
    path = REPO_ROOT / SCRIPT
    assert not re.search(r"<%", path.read_text()), "the script template must stay plain Python"
    loader = importlib.machinery.SourceFileLoader("rabbitmq_partition_check", str(path))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def status(*running: str) -> dict:
    return {"running_nodes": list(running), "disk_nodes": CLUSTER, "partitions": {}}


def test_a_whole_cluster_is_left_alone(check):
    assert check.smaller_side("rabbit@ctl1", CLUSTER, status(*CLUSTER), {}) is None


def test_the_lone_broker_restarts_and_the_pair_does_not(check):
    alone, pair = status("rabbit@ctl3"), status("rabbit@ctl1", "rabbit@ctl2")
    reason = check.smaller_side("rabbit@ctl3", CLUSTER, alone, {"rabbit@ctl1": pair, "rabbit@ctl2": pair})
    assert reason == ("rabbit@ctl3 runs with ['rabbit@ctl3'] while ['rabbit@ctl1', 'rabbit@ctl2'] "
                      "run without it")
    assert check.smaller_side("rabbit@ctl1", CLUSTER, pair, {"rabbit@ctl3": alone}) is None


def test_members_that_are_down_are_not_a_split(check):
    """A stopped peer does not answer: this broker runs on, no restart (the outage is the peer's)."""
    assert check.smaller_side("rabbit@ctl1", CLUSTER, status("rabbit@ctl1"),
                              {"rabbit@ctl2": None, "rabbit@ctl3": None}) is None


def test_a_broker_that_is_not_running_is_not_touched(check):
    """Its app stopped (restarting, or autoheal at work): running nodes lack itself."""
    assert check.smaller_side("rabbit@ctl3", CLUSTER, status("rabbit@ctl1", "rabbit@ctl2"), {}) is None
    assert check.smaller_side("rabbit@ctl3", CLUSTER, None, {}) is None


def test_a_peer_that_still_counts_this_broker_is_no_other_side(check):
    """Mid-join or mid-heal one view may lag: only a peer running without this broker is a side."""
    lagging = status(*CLUSTER)
    assert check.smaller_side("rabbit@ctl3", CLUSTER, status("rabbit@ctl3"),
                              {"rabbit@ctl1": lagging, "rabbit@ctl2": lagging}) is None


def test_exactly_one_side_of_an_even_split_restarts(check):
    pair = ["rabbit@a", "rabbit@b"]
    a, b = status("rabbit@a"), status("rabbit@b")
    assert check.smaller_side("rabbit@a", pair, a, {"rabbit@b": b}) is None
    assert check.smaller_side("rabbit@b", pair, b, {"rabbit@a": a}) is not None

