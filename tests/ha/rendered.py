"""The over-cloud configs exactly as our cookbooks render them for a lab's controllers.

A lab is described the way the deployer describes an over-cloud: an ordered
controller list and VIPs in a Chef environment, the ``controller`` role, and
per-node (normal) attributes for what differs on a test host (small memory).
Everything goes through tests/chef_render, i.e. the cookbooks' attribute files,
library helpers and ERB templates.
"""
from __future__ import annotations

import secrets as secrets_module
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.chef_render import call_helper, node_attributes, render

REPO = Path(__file__).resolve().parents[2]
CONTROLLER_ROLE = REPO / "roles" / "controller.json"
DATA_BAG = "deployer_secrets"

# Test hosts are small: the origin's 4 GB buffer pool would not fit 3 times, and the
# default redo log and 128 MB gcache per node would fill the disk run after run.
SMALL_GALERA_NODE = {"deployer": {"galera": {
    "tuning": {"max_connections": 200, "key_buffer_size": "8M",
               "innodb_buffer_pool_size": "32M", "thread_cache_size": 8,
               "table_open_cache": 256},
    "mysqld_options": {"innodb_log_file_size": "16M"},
    "provider_options": {"gcache.size": "16M"}}}}


def deep_merge(lower: dict, higher: dict) -> dict:
    merged = dict(lower)
    for key, value in higher.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass
class Overcloud:
    """Controllers (name -> address, in deployer order), VIPs and environment attributes."""

    controllers: dict[str, str]
    vips: dict[str, dict[str, Any]] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    node_attributes: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)

    def environment(self) -> dict[str, Any]:
        cluster = {"deployer": {
            "cluster": {"controllers": [{"name": n, "address": a}
                                        for n, a in self.controllers.items()]},
            "vips": self.vips}}
        return {"name": "hatest", "json_class": "Chef::Environment", "chef_type": "environment",
                "default_attributes": deep_merge(cluster, self.attributes),
                "override_attributes": {}}

    def node(self, name: str) -> dict[str, Any]:
        return {"name": name, "ipaddress": self.controllers[name],
                "normal": self.node_attributes}

    def render(self, cookbook: str, template: str, name: str) -> str:
        return render(cookbook, template, node=self.node(name), role=CONTROLLER_ROLE,
                      environment=self.environment(), secrets={DATA_BAG: self.secrets})

    def merged(self, cookbook: str, name: str) -> dict[str, Any]:
        return node_attributes(cookbook, node=self.node(name), role=CONTROLLER_ROLE,
                               environment=self.environment())

    def helper(self, cookbook: str, function: str, name: str, *args: Any) -> Any:
        """A cookbook library function applied to ``name``'s merged attributes."""
        attrs = dict(self.merged(cookbook, name), name=name)
        return call_helper(cookbook, function, attrs, *args)


def vip(address: str, vrid: int, auth_item: str) -> dict[str, Any]:
    return {"address": address, "prefix": 24, "interface": "eth0",
            "virtual_router_id": vrid, "auth_pass_item": auth_item}


def vrrp_secrets(*items: str) -> dict[str, dict[str, str]]:
    """A fresh 8-character VRRP password per VIP cluster (PASS auth uses at most 8)."""
    return {item: {"auth_pass": secrets_module.token_hex(4)} for item in items}
