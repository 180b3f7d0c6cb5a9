"""The production path end to end, without Heat: POST /v1/runs -> the worker
with its default executor (the SSH bootstrap runner) -> a real test node
(sshd in a network namespace) -> the real Chef server (goiardi).  Only
chef-client on the node is the stand-in from tests/standin."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from deployer.bootstrap.chef_config import CLIENT_RB, DATA_BAG_SECRET
from deployer.chef.cookbooks import upload_cookbook
from deployer.runs.executor import DEFAULT_FACTORY
from tests.fixtures.chef import relay_for_nodes
from tests.fixtures.common import require_root_and
from tests.fixtures.waiting import wait_until
from tests.integration.runs_helpers import wait_for

STANDIN = Path(__file__).resolve().parent.parent / "standin" / "chef-client"
ROLE = "api_probe"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def node(test_nodes_factory):
    require_root_and("socat")
    node_set = test_nodes_factory(1)
    try:
        yield node_set, node_set.nodes()[0]
    finally:
        test_nodes_factory.discard(node_set)


@pytest.fixture
def chef_url_for_nodes(node, chef_server):
    """A socat relay on the nodes' bridge to goiardi (which listens on loopback)."""
    with relay_for_nodes(chef_server.url, f"{node[0].subnet}.1") as url:
        yield url


def test_run_through_api_worker_and_ssh(deployer_api_factory, chef_server, node,
                                        chef_url_for_nodes):
    _, target = node
    with chef_server.admin() as admin:
        admin.upsert_role({"name": ROLE, "run_list": []})
    deployer = deployer_api_factory(
        executor=DEFAULT_FACTORY, chef_server=chef_server,
        extra={"bootstrap": {"chef_client_install": "copy", "chef_client_location": STANDIN}})
    name = f"api-worker-{target.ip.replace('.', '-')}"
    run = deployer.client.start_run({
        "node_name": name, "run_list": [f"role[{ROLE}]"], "environment": "_default",
        "chef_server_url": chef_url_for_nodes, "timeout": 120,
        "target": {"address": target.ip, "port": target.port, "user": target.username,
                   "password": target.password,
                   "host_key_fingerprint": target.host_key_fingerprint}})
    assert run["spec"]["install"] == {"kind": "copy", "location": str(STANDIN)}
    done = wait_for(deployer.client, run["id"], timeout=120)
    assert done["status"] == "succeeded", done["reason"]
    assert [p["status"] for p in done["phases"]] == ["succeeded"] * 5
    assert target.password not in str(deployer.client.run_log(run["id"], limit=5000))
    with chef_server.admin() as admin:
        assert admin.get_node(name)["run_list"] == [f"role[{ROLE}]"]
    deployer.client.delete_chef_node(name)
    with chef_server.admin() as admin:
        assert not admin.node_exists(name) and not admin.client_exists(name)


def test_a_node_whose_link_goes_down_mid_converge_fails_on_the_configured_idle_timeout(
        deployer_api_factory, chef_server, node, chef_url_for_nodes):
    """[runs] keepalive_interval and idle_timeout reach the worker's runner: the run
    fails naming node, phase and the silence instead of running to its timeout."""
    node_set, target = node
    env = "api_probe_slow"
    with chef_server.admin() as admin:
        admin.upsert_role({"name": ROLE, "run_list": []})
        admin.upsert_environment({"name": env, "default_attributes": {"standin": {"sleep": 300}}})
    deployer = deployer_api_factory(
        executor=DEFAULT_FACTORY, chef_server=chef_server,
        timings={"keepalive_interval": 1, "idle_timeout": 4},
        extra={"bootstrap": {"chef_client_install": "copy", "chef_client_location": STANDIN}})
    name = f"api-silent-{target.ip.replace('.', '-')}"
    run = deployer.client.start_run({
        "node_name": name, "run_list": [f"role[{ROLE}]"], "environment": env,
        "chef_server_url": chef_url_for_nodes, "timeout": 600,
        "target": {"address": target.ip, "port": target.port, "user": target.username,
                   "password": target.password}})
    wait_until(lambda: deployer.client.get_run(run["id"]), 120, "chef-client in its long converge",
               until=lambda found: "simulating a long converge" in found["stdout_tail"])
    node_set.link_down(target.index)
    try:
        done = wait_for(deployer.client, run["id"], timeout=120)
    finally:
        node_set.link_up(target.index)
    assert done["status"] == "failed"
    assert done["reason"].startswith(
        f"node {name} ({target.ip}): converge failed: no sign of life from "
        f"{target.ip}:{target.port} for 4s (SSH keepalives unanswered)"), done["reason"]
    assert done["phases"][-1]["name"] == "converge" and done["phases"][-1]["status"] == "failed"



def test_a_node_of_an_environment_with_secrets_decrypts_its_items(
        deployer_api_factory, chef_server, node, chef_url_for_nodes, tmp_path):
    """The environment's item secret reaches the node (0600, named by client.rb) and
    chef-client there opens the encrypted items; the secret is in no run output."""
    _, target = node
    cookbook = tmp_path / "secret_probe"
    (cookbook / "recipes").mkdir(parents=True)
    (cookbook / "metadata.rb").write_text("name 'secret_probe'\nversion '1.0.0'\n")
    # Writes a digest of the decrypted value only: the test compares it, nothing shows it.
    (cookbook / "recipes" / "default.rb").write_text(
        "require 'digest'\n"
        "item = data_bag_item(node['deployer']['secrets']['data_bag'], 'keystone')\n"
        "file '/root/admin-password.sha256' do\n"
        "  content Digest::SHA256.hexdigest(item['admin_password'])\n"
        "end\n")
    with chef_server.admin() as admin:
        upload_cookbook(admin, cookbook)
    deployer = deployer_api_factory(
        executor=DEFAULT_FACTORY, chef_server=chef_server,
        extra={"bootstrap": {"chef_client_install": "copy", "chef_client_location": STANDIN}})
    env = "secret-probe-env"
    values = {name: "1" if "VRID" in name or "PREFIX" in name else "x"
              for name in deployer.client.environment_template("allinone")["placeholders"]}
    deployer.client.render_environment(env, "allinone", values,
                                       secrets={"keystone": {"admin_password": "Probe-pw-1"}})
    name = f"secret-probe-{target.ip.replace('.', '-')}"
    run = deployer.client.start_run({
        "node_name": name, "run_list": ["recipe[secret_probe]"], "environment": env,
        "chef_server_url": chef_url_for_nodes, "timeout": 120,
        "target": {"address": target.ip, "port": target.port, "user": target.username,
                   "password": target.password}})
    done = wait_for(deployer.client, run["id"], timeout=120)
    assert done["status"] == "succeeded", done["reason"]
    digest = target.exec("cat /root/admin-password.sha256").stdout
    assert digest == hashlib.sha256(b"Probe-pw-1").hexdigest()
    assert target.exec(f"stat -c %a {DATA_BAG_SECRET}").stdout.strip() == "600"
    assert f"encrypted_data_bag_secret '{DATA_BAG_SECRET}'" in target.exec(f"cat {CLIENT_RB}").stdout
    item_secret = target.exec(f"cat {DATA_BAG_SECRET}").stdout.strip()
    log = str(deployer.client.run_log(run["id"], limit=5000))
    assert item_secret and item_secret not in log and "Probe-pw-1" not in log

    # The node moved to an environment without secrets: the other environment's secret goes.
    plain = tmp_path / "plain_probe"
    (plain / "recipes").mkdir(parents=True)
    (plain / "metadata.rb").write_text("name 'plain_probe'\nversion '1.0.0'\n")
    (plain / "recipes" / "default.rb").write_text("log 'plain'\n")
    with chef_server.admin() as admin:
        upload_cookbook(admin, plain)
    moved = deployer.client.start_run({
        "node_name": name, "run_list": ["recipe[plain_probe]"], "environment": "_default",
        "chef_server_url": chef_url_for_nodes, "timeout": 120,
        "target": {"address": target.ip, "port": target.port, "user": target.username,
                   "password": target.password}})
    done = wait_for(deployer.client, moved["id"], timeout=120)
    assert done["status"] == "succeeded", done["reason"]
    assert target.exec(f"test -e {DATA_BAG_SECRET}").returncode == 1
    assert "encrypted_data_bag_secret" not in target.exec(f"cat {CLIENT_RB}").stdout
    deployer.client.delete_chef_node(name)
    deployer.client.delete_environment(env)
