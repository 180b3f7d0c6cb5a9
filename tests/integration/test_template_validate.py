"""Every shipped over-cloud template validated by the real embedded Heat (heat_plugins loaded),
with its topology's Heat environment file, and refused for bad parameter values.

Topology pairing: hot_templates/<topology>.yaml and <topology>-cfn.json go with
environments/heat/<topology>.yaml.
"""
from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from heatclient import exc as heat_exc
from heatclient.common import template_utils

from deployer.config import REPO_ROOT
from tests.fixtures.waiting import wait_stack

STACK_TIMEOUT = 240.0

pytestmark = pytest.mark.integration

TEMPLATES_DIR = REPO_ROOT / "hot_templates"
HEAT_ENVIRONMENTS = REPO_ROOT / "environments" / "heat"
# Every template belongs to a topology, except the origin document's example (checked below).
ORIGIN_SEED = TEMPLATES_DIR / "origin-seed.json"
TEMPLATES = sorted(p for p in TEMPLATES_DIR.iterdir()
                   if p.suffix in (".yaml", ".json") and p != ORIGIN_SEED)
ENVIRONMENT_STEMS = sorted(path.stem for path in HEAT_ENVIRONMENTS.glob("*.yaml"))
# A topology's environment is named after its template; "<topology>-<variant>.yaml" files
# (allinone-fake.yaml: the test site's drivers) are layered on top of one.
TOPOLOGIES = sorted(stem for stem in ENVIRONMENT_STEMS
                    if stem in {p.stem.removesuffix("-cfn") for p in TEMPLATES})
OVERLAYS = sorted(set(ENVIRONMENT_STEMS) - set(TOPOLOGIES))


def topology_of(template: Path) -> str:
    return template.stem.removesuffix("-cfn")


def validate(client, template: Path, environment: Path, parameters: dict | None = None) -> dict:
    files, body = template_utils.get_template_contents(str(template))
    env_files, env = template_utils.process_multiple_environments_and_files([str(environment)])
    return client.stacks.validate(template=body, files={**files, **env_files}, environment=env,
                                  parameters=parameters or {}, show_nested=True)


def preview(client, template: Path, environment: Path, parameters: dict | None = None) -> dict:
    """Heat's preview: unlike validate, it checks parameter values and evaluates conditions."""
    files, body = template_utils.get_template_contents(str(template))
    env_files, env = template_utils.process_multiple_environments_and_files([str(environment)])
    return client.stacks.preview(stack_name=f"preview-{topology_of(template)}", template=body,
                                 files={**files, **env_files}, environment=env, parameters=parameters or {}).to_dict()


def test_every_template_has_a_topology_environment():
    assert TEMPLATES, "no templates shipped"
    assert {topology_of(t) for t in TEMPLATES} == set(TOPOLOGIES)
    assert {t.name for t in TEMPLATES} >= {f"{name}{suffix}" for name in TOPOLOGIES for suffix in (".yaml", "-cfn.json")}
    for overlay in OVERLAYS:
        assert any(overlay.startswith(f"{topology}-") for topology in TOPOLOGIES), \
            f"environments/heat/{overlay}.yaml is neither a topology nor layered on one"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_template_validates_with_its_environment(embedded_heat, template):
    result = validate(embedded_heat.client, template, HEAT_ENVIRONMENTS / f"{topology_of(template)}.yaml")
    parameters = result["Parameters"]
    for name, schema in parameters.items():
        assert schema.get("Description"), f"{template.name}: parameter {name} has no description"
    password = parameters["SshPassword"]
    assert str(password.get("NoEcho")).lower() == "true", "the SSH password must be hidden"
    if template.suffix == ".yaml":
        assert result.get("ParameterGroups"), f"{template.name}: parameter_groups missing"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_template_refuses_nova_network_and_names_the_replacement(embedded_heat, template):
    with pytest.raises(heat_exc.HTTPBadRequest, match=r"NetworkType(.|\n)*Ussuri(.|\n)*ovn"):
        preview(embedded_heat.client, template, HEAT_ENVIRONMENTS / f"{topology_of(template)}.yaml",
                {"NetworkType": "nova-network"})


@pytest.mark.parametrize("template, parameter", [
    ("allinone.yaml", "NodeAddress"), ("allinone-cfn.json", "NodeAddress"),
    ("active-passive.yaml", "DbVipAddress"), ("active-passive-cfn.json", "PrimaryAddress"),
    ("active-active.yaml", "Controller2Address"), ("active-active-cfn.json", "ApiVipAddress"),
])
def test_template_refuses_an_address_that_is_not_an_ip(embedded_heat, template, parameter):
    path = TEMPLATES_DIR / template
    with pytest.raises(heat_exc.HTTPBadRequest, match=parameter):
        preview(embedded_heat.client, path, HEAT_ENVIRONMENTS / f"{topology_of(path)}.yaml",
                {parameter: "not-an-address"})


@pytest.mark.parametrize("template", ["active-active.yaml", "active-active-cfn.json"])
def test_vrid_outside_1_255_is_refused(embedded_heat, template):
    path = TEMPLATES_DIR / template
    with pytest.raises(heat_exc.HTTPBadRequest, match="ApiVrid"):
        preview(embedded_heat.client, path, HEAT_ENVIRONMENTS / "active-active.yaml", {"ApiVrid": 256})


def node_resources(resources: list) -> dict[str, dict]:
    """Preview resources (nested stacks are lists) flattened to name -> resource."""
    found: dict[str, dict] = {}
    for item in resources:
        if isinstance(item, list):
            found.update(node_resources(item))
        elif item["resource_type"] == "IBM::SCO::Node":
            found[item["resource_name"]] = item
    return found


@pytest.mark.parametrize("template, count, expected", [
    ("active-active.yaml", 3, {"controller1", "controller2", "controller3", "node"}),
    ("active-active-cfn.json", 3, {"controller1", "controller2", "controller3", "compute1", "compute2", "compute3"}),
    ("active-active-cfn.json", 1, {"controller1", "controller2", "controller3", "compute1"}),
])
def test_active_active_creates_n_compute_nodes(embedded_heat, template, count, expected):
    addresses = ",".join(f"192.0.2.{21 + i}" for i in range(count))
    result = preview(embedded_heat.client, TEMPLATES_DIR / template, HEAT_ENVIRONMENTS / "active-active.yaml",
                     {"ComputeAddresses": addresses, "ComputeCount": count} if template.endswith(".json")
                     else {"ComputeAddresses": addresses})
    nodes = node_resources(result["resources"])
    assert set(nodes) == expected
    if template.endswith(".yaml"):
        group = [r for r in result["resources"] if isinstance(r, list)]
        assert sum(len(members) for members in group) == count


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_hot_values_fill_every_placeholder_through_the_deployer(undercloud, topology):
    """With the deployer API up, IBM::SCO::ChefEnvironment checks the values map against the
    shipped Chef environment template; dropping one value names the unfilled placeholder."""
    client = undercloud.heat()
    template = TEMPLATES_DIR / f"{topology}.yaml"
    environment = HEAT_ENVIRONMENTS / f"{topology}.yaml"
    preview(client, template, environment)

    files, body = template_utils.get_template_contents(str(template))
    env_files, env = template_utils.process_multiple_environments_and_files([str(environment)])
    del body["resources"]["chef_env"]["properties"]["values"]["REGION_NAME"]
    with pytest.raises(heat_exc.HTTPBadRequest, match="REGION_NAME"):
        client.stacks.preview(stack_name=f"preview-{topology}", template=body, files={**files, **env_files},
                              environment=env, parameters={})


def test_active_passive_template_runs_in_order_and_fails_honestly_on_two_test_nodes(
        undercloud, test_nodes_factory):
    """The shipped active-passive.yaml, end to end, with recipes really executed: its Chef
    environment is rendered and uploaded, control (role[primary], order 1) converges first
    and each Chef node carries its role in the stack's environment.  With the shipped DRBD
    backing it cannot converge here (this machine has no DRBD kernel module): the stack fails,
    the failure names the resource and its cookbook line, and standby (order 2)
    is never started.  The shared-disk backing (no DRBD) is what
    tests/cookbooks/test_active_passive_deploy.py converges."""
    primary, secondary = test_nodes_factory(2).nodes()
    heat = undercloud.heat()
    name = f"ap-{uuid.uuid4().hex[:6]}"
    files, body = template_utils.get_template_contents(str(TEMPLATES_DIR / "active-passive.yaml"))
    env_files, env = template_utils.process_multiple_environments_and_files(
        [str(HEAT_ENVIRONMENTS / "active-passive.yaml")])
    parameters = {"PrimaryAddress": primary.ip, "PrimaryName": f"{name}-p", "SecondaryAddress": secondary.ip,
                  "SecondaryName": f"{name}-s", "SshKeyFile": primary.key_file, "EnableOSDebug": "true"}
    stack_id = heat.stacks.create(stack_name=name, template=body, files={**files, **env_files}, environment=env,
                                  parameters=parameters)["stack"]["id"]
    try:
        stack = wait_stack(heat, stack_id, STACK_TIMEOUT, interval=1)
        assert stack.stack_status == "CREATE_FAILED", stack.stack_status_reason
        assert re.search(rf"node {name}-p \(\S+\): converge failed: chef-client exited with status 1: "
                         rf".*\w+\[[^\]]+\] \(\w+::\w+ line \d+", stack.stack_status_reason), \
            stack.stack_status_reason
        runs = {run["resource_name"]: run for run in undercloud.api().list_runs(stack_id=stack_id)["runs"]}
        assert runs["control"]["status"] == "failed" and "standby" not in runs, runs

        chef = undercloud.chef()
        deployer = chef.get_environment(name)["default_attributes"]["deployer"]
        assert deployer["cluster"]["controllers"] == [{"name": f"{name}-p", "address": primary.ip},
                                                      {"name": f"{name}-s", "address": secondary.ip}]
        assert deployer["orchestration"]["debug"] is True
        node = chef.get_node(f"{name}-p")
        assert (node["run_list"], node["chef_environment"]) == (["role[primary]"], name)
    finally:
        heat.stacks.delete(stack_id)
        wait_stack(heat, stack_id, STACK_TIMEOUT, gone_ok=True, interval=1)


def test_origin_seed_template_validates_and_hides_the_password(embedded_heat):
    _, body = template_utils.get_template_contents(str(ORIGIN_SEED))
    result = embedded_heat.client.stacks.validate(template=body)
    assert str(result["Parameters"]["NodePassword"]["NoEcho"]).lower() == "true"
    assert result["Parameters"]["NetworkManager"]["Default"] == "nova.network.manager.VlanManager"
    with pytest.raises(heat_exc.HTTPBadRequest, match="NetworkManager"):
        embedded_heat.client.stacks.preview(
            stack_name="preview-origin", template=body,
            parameters={"ControlAddress": "10.0.0.1", "StandbyAddress": "10.0.0.2",
                        "NetworkManager": "nova.network.manager.BogusManager"})

