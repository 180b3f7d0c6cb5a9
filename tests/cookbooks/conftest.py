"""Sample cluster data for cookbook tests (part B imports these too: keep them stable).

What is here, all plain dicts in Chef's JSON shapes:
    CONTROLLERS          ordered controllers (origin addresses 10.81.25.194-196)
    VIPS                 'api' (VRID 51) and 'db' (VRID 52) VIP clusters on eth0
    SECRETS              the data bag items deployer_secret() reads, bag 'deployer_secrets':
                           mysql {root, sst}, rabbitmq {erlang_cookie},
                           vrrp_api / vrrp_db {auth_pass}, corosync {authkey},
                           db_passwords / mq_passwords / service_passwords {<service>: password},
                           keystone {admin_password, fernet_key_0/1, credential_key_0/1},
                           neutron {metadata_secret}
    sample_environment() a Chef environment carrying controllers, VIPs, bootstrap choices
    sample_role()        a Chef role (run_list + attributes)
    controller_node(i)   the node dict render() takes for controller i (0-based)
Fixtures: ha_environment, ha_secrets, controller_nodes (three nodes).

Use them with tests.chef_render.render (deployer.chef.render on these cookbooks):
    render("deployer_haproxy", "haproxy.cfg", node=controller_node(0),
           environment=sample_environment(), secrets=SECRETS)
"""
from __future__ import annotations

import copy
from typing import Any

import pytest

CONTROLLERS: list[dict[str, str]] = [
    {"name": "ctl1", "address": "10.81.25.194"},
    {"name": "ctl2", "address": "10.81.25.195"},
    {"name": "ctl3", "address": "10.81.25.196"},
]

VIPS: dict[str, dict[str, Any]] = {
    "api": {"address": "10.81.72.200", "prefix": 24, "interface": "eth0",
            "virtual_router_id": 51, "auth_pass_item": "vrrp_api"},
    "db": {"address": "10.81.72.201", "prefix": 24, "interface": "eth0",
           "virtual_router_id": 52, "auth_pass_item": "vrrp_db"},
}

SERVICES = ["nova", "keystone", "glance", "cinder", "placement", "neutron"]

SECRETS: dict[str, Any] = {
    "deployer_secrets": {
        "mysql": {"root": "r00t-Sample-pw", "sst": "sst-Sample-pw"},
        "rabbitmq": {"erlang_cookie": "SAMPLECOOKIEABCDEFGHIJ"},
        "vrrp_api": {"auth_pass": "apiVRRP1"},
        "vrrp_db": {"auth_pass": "dbVRRP02"},
        "db_passwords": {s: f"{s}-db-Sample-pw" for s in SERVICES},
        "mq_passwords": {s: f"{s}-mq-Sample-pw" for s in SERVICES},
        "service_passwords": {s: f"{s}-ks-Sample-pw" for s in SERVICES},
        "keystone": {"admin_password": "admin-Sample-pw",
                     **{f"{kind}_key_{i}": f"{kind}-key-{i}-Sample" for kind in ("fernet", "credential") for i in (0, 1)}},
        "neutron": {"metadata_secret": "metadata-Sample-secret"},
        "corosync": {"authkey": "c2FtcGxlLWNvcm9zeW5jLWF1dGhrZXk="},
    }
}


def sample_environment(name: str = "ha_sample", *, controllers: list[dict[str, str]] | None = None,
                       vips: dict[str, dict[str, Any]] | None = None,
                       default_attributes: dict[str, Any] | None = None,
                       override_attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Chef environment holding the deployer's cluster facts (controllers, VIPs, bootstrap picks)."""
    controllers = copy.deepcopy(controllers if controllers is not None else CONTROLLERS)
    deployer = {
        "cluster": {"controllers": controllers},
        "vips": copy.deepcopy(vips if vips is not None else VIPS),
        "galera": {"bootstrap_node": controllers[0]["name"]},
        "rabbitmq": {"seed_node": controllers[0]["name"]},
    }
    return {
        "name": name,
        "json_class": "Chef::Environment",
        "chef_type": "environment",
        "description": "sample HA over-cloud for cookbook tests",
        "cookbook_versions": {},
        "default_attributes": {"deployer": deployer, **(default_attributes or {})},
        "override_attributes": override_attributes or {},
    }


def sample_role(name: str = "ha-controller", run_list: list[str] | None = None,
                default_attributes: dict[str, Any] | None = None,
                override_attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Chef role in its JSON shape."""
    return {
        "name": name,
        "json_class": "Chef::Role",
        "chef_type": "role",
        "description": "sample role for cookbook tests",
        "run_list": run_list if run_list is not None else [
            "recipe[deployer_roles::loadbalancer]",
            "recipe[deployer_roles::database]", "recipe[deployer_roles::messaging]"],
        "default_attributes": default_attributes or {},
        "override_attributes": override_attributes or {},
        "env_run_lists": {},
    }


def controller_node(index: int, *, normal: dict[str, Any] | None = None,
                    controllers: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The render() node dict for controllers[index]: ohai-like keys plus per-node normal attributes."""
    entry = (controllers or CONTROLLERS)[index]
    return {"name": entry["name"], "hostname": entry["name"], "fqdn": f"{entry['name']}.example.test",
            "ipaddress": entry["address"], "normal": normal or {}}


@pytest.fixture
def ha_environment() -> dict[str, Any]:
    return sample_environment()


@pytest.fixture
def ha_secrets() -> dict[str, Any]:
    return copy.deepcopy(SECRETS)


@pytest.fixture
def controller_nodes() -> list[dict[str, Any]]:
    return [controller_node(i) for i in range(len(CONTROLLERS))]
