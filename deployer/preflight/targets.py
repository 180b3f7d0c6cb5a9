"""The planned nodes and how to reach them, from Heat's (unredacted) stack preview.

Each IBM::SCO::Node of the preview gives its resource path, Address, Port, User,
the password (its Password, or the hidden top-level parameter PasswordParameter
names), KeyFile (only inside [bootstrap] key_dir, the rule every run obeys:
deployer.runs.policy), Sudo, HostKeyFingerprint and ChefServerUrl, the same
properties a run is started with (heat_plugins/sco_node.py).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from deployer.bootstrap.contract import NodeTarget
from deployer.chef import names
from deployer.deployments.catalog import NODE_TYPE
from deployer.deployments.plan import flatten, resource_path
from deployer.errors import DeployerError
from deployer.runs.policy import RunPolicy


@dataclasses.dataclass
class PlannedNode:
    resource: str
    address: str | None
    node_name: str | None
    run_list: list[str]
    target: NodeTarget | None       # None: it cannot be reached (``problem`` says why)
    chef_server_url: str | None     # the node's own ChefServerUrl, if any
    problem: str = ""
    fix: str = ""


def planned(preview: dict, stack_name: str, preview_name: str, values: dict[str, Any],
            policy: RunPolicy | None, connect_timeout: float) -> list[PlannedNode]:
    nodes = []
    for resource in flatten(preview.get("resources") or []):
        if resource.get("resource_type") != NODE_TYPE:
            continue
        path = resource_path(resource, preview_name)
        props = resource.get("properties") or {}
        explicit = props.get("NodeName")
        node_name = explicit or (names.node_name_from(stack_name, path) if "/" not in path
                                 else None)
        try:
            run_list = names.run_list_of(resource.get("metadata"))
        except ValueError:
            run_list = []
        node = PlannedNode(path, props.get("Address") or None, node_name, run_list, None,
                           props.get("ChefServerUrl") or None)
        nodes.append(node)
        if not node.address:
            node.problem, node.fix = "no Address", "give the node resource an Address"
            continue
        password = props.get("Password") or None
        if not password and props.get("PasswordParameter"):
            password = values.get(props["PasswordParameter"]) or None
        key_file = props.get("KeyFile") or None
        if key_file and policy is not None:
            try:
                key_file = policy.key_file(key_file)
            except DeployerError as error:
                node.problem = error.detail.replace("target.key_file", "KeyFile")
                node.fix = f"put the key in {policy.key_dir} and name it in KeyFile"
                continue
        try:
            port = int(props.get("Port") or 22)
        except (TypeError, ValueError):
            port = 22
        node.target = NodeTarget(address=node.address, port=port,
                                 user=props.get("User") or "root", password=password,
                                 key_file=key_file, sudo=bool(props.get("Sudo")),
                                 host_key_fingerprint=props.get("HostKeyFingerprint") or None,
                                 connect_timeout=connect_timeout)
    return nodes
