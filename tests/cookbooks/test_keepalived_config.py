"""deployer_keepalived: keepalived.conf rendered per controller and checked by the real keepalived.

keepalived -t needs the configured interface to exist, so the check runs inside a
throwaway network namespace (prefix "cka") holding a veth of that name.
"""
from __future__ import annotations

import os
import re
import subprocess
import uuid

import pytest

from tests.chef_render import RenderError, call_helper, render
from tests.cookbooks.conftest import CONTROLLERS, SECRETS, VIPS, controller_node, sample_environment, sample_role
from tests.fixtures.common import require_root_and

ROLE = sample_role(run_list=["recipe[deployer_roles::loadbalancer]"])


def render_keepalived(index: int = 0, *, environment: dict | None = None, secrets: dict | None = None) -> str:
    return render("deployer_keepalived", "keepalived.conf", node=controller_node(index), role=ROLE,
                  environment=environment or sample_environment(), secrets=secrets or SECRETS)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=15)


@pytest.fixture
def netns():
    """A namespace name prefixed 'cka'; deleted (with its veths) after the test."""
    require_root_and("ip", "keepalived")
    name = f"cka{os.getpid() % 10000}{uuid.uuid4().hex[:4]}"
    ip("netns", "add", name)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=15)


def add_veth(netns: str, name: str) -> None:
    ip("-n", netns, "link", "add", name, "type", "veth", "peer", "name", f"{name}p")
    ip("-n", netns, "link", "set", name, "up")


def keepalived_test(netns: str, config: str, tmp_path) -> subprocess.CompletedProcess:
    path = tmp_path / "keepalived.conf"
    path.write_text(config)
    return subprocess.run(["ip", "netns", "exec", netns, "keepalived", "-t", "-e", "-f", str(path)],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("index", range(len(CONTROLLERS)))
def test_rendered_config_passes_keepalived_test_in_netns(netns, tmp_path, index):
    config = render_keepalived(index)
    add_veth(netns, VIPS["api"]["interface"])
    result = keepalived_test(netns, config, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_keepalived_test_fails_without_the_interface(netns, tmp_path):
    """The check is real: the same config fails where its interface does not exist."""
    result = keepalived_test(netns, render_keepalived(), tmp_path)
    assert result.returncode != 0
    assert "eth0" in result.stdout + result.stderr


def test_unicast_nopreempt_variant_passes_keepalived_test(netns, tmp_path):
    env = sample_environment(override_attributes={"deployer": {"keepalived": {"unicast": True, "nopreempt": True,
                                                                                "advert_int": 2}}})
    config = render_keepalived(2, environment=env)
    add_veth(netns, "eth0")
    assert keepalived_test(netns, config, tmp_path).returncode == 0
    assert "nopreempt" in config and "state MASTER" not in config
    peers = re.search(r"unicast_peer \{([^}]*)\}", config).group(1).split()
    assert peers == [CONTROLLERS[0]["address"], CONTROLLERS[1]["address"]]
    assert f"unicast_src_ip {CONTROLLERS[2]['address']}" in config
    assert "advert_int 2" in config


def instances(config: str) -> dict[str, str]:
    return dict(re.findall(r"vrrp_instance (\S+) \{(.*?)\n\}", config, re.S))


VRRP_V2 = sample_environment(override_attributes={"deployer": {"keepalived": {"vrrp_version": 2, "advert_int": 1}}})


def test_instances_per_vip_with_priority_by_controller_order_and_own_auth_pass():
    priorities = []
    for index in range(len(CONTROLLERS)):
        config = render_keepalived(index, environment=VRRP_V2)
        blocks = instances(config)
        assert set(blocks) == {"VI_api", "VI_db"}
        assert "virtual_router_id 51" in blocks["VI_api"] and "virtual_router_id 52" in blocks["VI_db"]
        assert "auth_pass apiVRRP1" in blocks["VI_api"] and "auth_pass dbVRRP02" in blocks["VI_db"]
        assert "vrrp_version 2" in config
        assert f"{VIPS['db']['address']}/24 dev eth0" in blocks["VI_db"]
        assert "track_script" in blocks["VI_api"]
        priorities.append(int(re.search(r"priority (\d+)", blocks["VI_api"]).group(1)))
        # nopreempt by default: a controller that comes back does not take the VIPs back
        assert "state BACKUP" in blocks["VI_api"] and "nopreempt" in blocks["VI_api"]
    assert priorities == sorted(priorities, reverse=True) and len(set(priorities)) == len(priorities)
    preempt = sample_environment(override_attributes={"deployer": {"keepalived": {"nopreempt": False}}})
    for index in range(len(CONTROLLERS)):
        block = instances(render_keepalived(index, environment=preempt))["VI_api"]
        assert ("state MASTER" in block) == (index == 0) and "nopreempt" not in block


def test_vrrp_v3_is_the_default_with_a_fractional_interval_and_no_authentication(netns, tmp_path):
    config = render_keepalived()
    assert "vrrp_version 3" in config and "advert_int 0.5" in config
    assert "authentication" not in config and "auth_pass" not in config
    # v3 needs no VRRP secret at all
    assert render_keepalived(secrets={"deployer_secrets": {}}) == config
    add_veth(netns, "eth0")
    result = keepalived_test(netns, config, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("keepalived, message", [
    ({"vrrp_version": 2, "advert_int": 0.5}, "must be whole seconds with vrrp_version 2"),
    ({"advert_int": 0}, "advert_int'\] must be positive, not 0"),
    ({"vrrp_version": 4}, "vrrp_version'] is 4, not 2 or 3"),
])
def test_impossible_vrrp_timing_is_refused(keepalived, message):
    with pytest.raises(RenderError, match=message):
        render_keepalived(environment=sample_environment(override_attributes={"deployer": {"keepalived": keepalived}}))


def test_track_script_polls_the_local_haproxy_over_http():
    env = sample_environment(override_attributes={"deployer": {"haproxy": {"monitor": {"port": 18404}}}})
    config = render_keepalived(environment=env)
    script = re.search(r'script "([^"]+)"', config).group(1)
    assert script.startswith("/usr/bin/curl ") and script.endswith("http://127.0.0.1:18404/healthz")
    assert "pidof" not in config and "killall" not in config


def test_duplicate_vrid_on_one_segment_is_rejected_by_the_deployment_wide_check():
    clash = {**VIPS, "db": {**VIPS["db"], "virtual_router_id": VIPS["api"]["virtual_router_id"]}}
    with pytest.raises(RenderError, match=r"virtual_router_id 51 is used by both 'api' and 'db' on segment 'eth0'"):
        call_helper("deployer_common", "DeployerCommon::Vrrp.check_unique_vrids!", clash)
    with pytest.raises(RenderError, match="virtual_router_id 51"):
        render_keepalived(environment=sample_environment(vips=clash))
    # Same VRID on another L2 segment is fine; one segment named explicitly on two interfaces is not.
    elsewhere = {**clash, "db": {**clash["db"], "interface": "eth1"}}
    assert call_helper("deployer_common", "DeployerCommon::Vrrp.check_unique_vrids!", elsewhere) == elsewhere
    same_segment = {"api": {**elsewhere["api"], "segment": "mgmt"}, "db": {**elsewhere["db"], "segment": "mgmt"}}
    with pytest.raises(RenderError, match="segment 'mgmt'"):
        call_helper("deployer_common", "DeployerCommon::Vrrp.check_unique_vrids!", same_segment)


@pytest.mark.parametrize("vrid", [0, 256, "51"])
def test_vrid_outside_1_to_255_is_rejected(vrid):
    with pytest.raises(RenderError, match=r"vips\['api'\]\['virtual_router_id'\] must be an integer in 1..255"):
        call_helper("deployer_common", "DeployerCommon::Vrrp.check_unique_vrids!",
                    {"api": {**VIPS["api"], "virtual_router_id": vrid}})


def test_clusters_sharing_an_auth_pass_item_are_rejected():
    shared = {**VIPS, "db": {**VIPS["db"], "auth_pass_item": "vrrp_api"}}
    with pytest.raises(RenderError, match="share the auth_pass data bag item 'vrrp_api'"):
        call_helper("deployer_common", "DeployerCommon::Vrrp.check_unique_vrids!", shared)


def test_bad_auth_pass_is_refused_without_showing_it():
    secrets = {"deployer_secrets": {**SECRETS["deployer_secrets"], "vrrp_api": {"auth_pass": "much-too-long-secret"}}}
    with pytest.raises(RenderError) as error:
        render_keepalived(environment=VRRP_V2, secrets=secrets)
    assert "deployer_secrets/vrrp_api" in str(error.value)
    assert "much-too-long-secret" not in str(error.value)
    missing = {"deployer_secrets": {k: v for k, v in SECRETS["deployer_secrets"].items() if k != "vrrp_db"}}
    with pytest.raises(RenderError, match="deployer_secrets/vrrp_db key 'auth_pass'"):
        render_keepalived(environment=VRRP_V2, secrets=missing)
