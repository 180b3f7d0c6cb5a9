"""Roles, Chef environments, role recipes and the templates that name them, checked together:

- every role is Chef role JSON whose run-list names existing recipes and roles;
- the role recipes include existing recipes and call resources some cookbook provides;
- every cookbook file is valid Ruby and every metadata dependency exists;
- every Chef environment is Chef environment JSON with the documented placeholders, and the
  templates supply exactly those placeholders (HOT: the ChefEnvironment values map; CFN: the
  outputs named like placeholders);
- filled with the sample Heat environment values, each environment passes deployer_common's own
  checks (controllers list, unique VRIDs per segment) through the rendering harness.
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from deployer.chef.environment_template import EnvironmentTemplates, placeholders
from tests.chef_render import RenderError, call_helper, render
from tests.cookbooks.conftest import SECRETS

REPO = Path(__file__).resolve().parents[2]
COOKBOOKS = REPO / "cookbooks"
ROLES_DIR = REPO / "roles"
ENV_DIR = REPO / "environments" / "chef"
HEAT_ENV_DIR = REPO / "environments" / "heat"
TEMPLATES_DIR = REPO / "hot_templates"
MY_COOKBOOKS = ["deployer_pacemaker", "deployer_drbd_mysql", "deployer_openstack", "deployer_ovn", "deployer_compute",
                "deployer_roles"]
ROLE_NAMES = sorted(path.stem for path in ROLES_DIR.glob("*.json"))
# A topology ships a Chef environment, a HOT and a CFN template and a Heat environment of its name
# (other Heat environments add to one, e.g. allinone-fake.yaml); environments/chef/origin.json is
# the origin document's example, checked on its own.
ENV_NAMES = sorted(path.stem for path in HEAT_ENV_DIR.glob("*.yaml") if (ENV_DIR / f"{path.stem}.json").exists())
RUN_LIST_ITEM = re.compile(r"^(role|recipe)\[([A-Za-z0-9_.:-]+)\]$")

COMMON_PLACEHOLDERS = {"ENABLE_DEBUG", "NETWORK_TYPE", "REGION_NAME", "VIP_INTERFACE", "VIP_PREFIX"}
COMPUTE_PLACEHOLDERS = {"COMPUTE_DRIVER", "OVS_DATAPATH_TYPE"}
EXPECTED_PLACEHOLDERS = {
    "allinone": COMMON_PLACEHOLDERS | COMPUTE_PLACEHOLDERS | {"NODE_NAME", "NODE_ADDR"},
    "active-passive": COMMON_PLACEHOLDERS | {"PRIMARY_NAME", "PRIMARY_ADDR", "SECONDARY_NAME", "SECONDARY_ADDR",
                                             "API_VIP_ADDR", "DB_VIP_ADDR", "DRBD_DISK", "DATA_BACKING",
                                             "CLUSTER_NAME", "CLUSTER_TOKEN"},
    "active-active": COMMON_PLACEHOLDERS | COMPUTE_PLACEHOLDERS
    | {f"CONTROLLER{i}_{kind}" for i in (1, 2, 3) for kind in ("NAME", "ADDR")}
    | {"API_VIP_ADDR", "DB_VIP_ADDR", "API_VRID", "DB_VRID", "CLUSTER_NAME"},
}


def load_role(name: str) -> dict:
    return json.loads((ROLES_DIR / f"{name}.json").read_text())


def recipe_path(entry: str) -> Path:
    cookbook, _, recipe = entry.partition("::")
    return COOKBOOKS / cookbook / "recipes" / f"{recipe or 'default'}.rb"


def expand(name: str, seen: tuple[str, ...] = ()) -> list[str]:
    """A role's run-list expanded to recipes, as the Chef server does (cycles are errors)."""
    assert name not in seen, f"role cycle: {' -> '.join(seen + (name,))}"
    recipes: list[str] = []
    for item in load_role(name)["run_list"]:
        kind, target = RUN_LIST_ITEM.match(item).groups()
        recipes += expand(target, seen + (name,)) if kind == "role" else [target]
    return recipes


# --- roles ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ROLE_NAMES)
def test_role_is_chef_role_json(name):
    role = load_role(name)
    assert role["name"] == name
    assert (role["json_class"], role["chef_type"]) == ("Chef::Role", "role")
    assert role["description"]
    for section in ("default_attributes", "override_attributes", "env_run_lists"):
        assert isinstance(role[section], dict), section
    assert role["run_list"], "empty run-list"
    for item in role["run_list"]:
        assert RUN_LIST_ITEM.match(item), f"{item!r} is not role[...] or recipe[...]"


@pytest.mark.parametrize("name", ROLE_NAMES)
def test_role_run_list_names_existing_recipes_and_roles(name):
    for item in load_role(name)["run_list"]:
        kind, target = RUN_LIST_ITEM.match(item).groups()
        if kind == "role":
            assert (ROLES_DIR / f"{target}.json").exists(), f"{name}: no role {target}"
    for recipe in expand(name):
        assert recipe_path(recipe).exists(), f"{name}: recipe {recipe} not found at {recipe_path(recipe)}"


def test_origin_role_names_exist():
    """The origin's run-lists and orchestration block name these roles."""
    assert {"primary", "secondary", "os-identity", "os-ops-messaging", "os-ops-database"} <= set(ROLE_NAMES)


def test_role_recipes_include_existing_recipes_and_use_provided_resources():
    provided = set()
    for resource in COOKBOOKS.glob("*/resources/*.rb"):
        provided |= set(re.findall(r"^provides :(\w+)", resource.read_text(), re.M))
    for recipe in (COOKBOOKS / "deployer_roles" / "recipes").glob("*.rb"):
        text = recipe.read_text()
        for included in re.findall(r"include_recipe '([^']+)'", text):
            assert recipe_path(included).exists(), f"{recipe.name}: include_recipe {included} does not exist"
        for used in re.findall(r"^\s*(deployer_\w+)\s", text, re.M):
            assert used in provided, f"{recipe.name}: no cookbook provides resource {used}"


# --- cookbooks -----------------------------------------------------------------------------

@pytest.mark.parametrize("cookbook", MY_COOKBOOKS)
def test_cookbook_is_valid_ruby_with_conventional_metadata(cookbook):
    files = sorted((COOKBOOKS / cookbook).rglob("*.rb"))
    assert files
    for path in files:
        result = subprocess.run(["ruby", "-wc", str(path)], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0 and not result.stderr.strip(), f"{path}: {result.stderr}"
    metadata = (COOKBOOKS / cookbook / "metadata.rb").read_text()
    assert re.search(rf"^name\s+'{cookbook}'$", metadata, re.M)
    for line in ("maintainer       'Under-cloud deployer team'", "license          'Apache-2.0'",
                 "version          '0.1.0'", "chef_version     '>= 16'"):
        assert line in metadata
    for dependency in re.findall(r"^depends\s+'([^']+)'", metadata, re.M):
        assert (COOKBOOKS / dependency / "metadata.rb").exists(), f"{cookbook} depends on missing {dependency}"


@pytest.mark.parametrize("cookbook", MY_COOKBOOKS)
def test_resources_are_unified_mode(cookbook):
    for resource in (COOKBOOKS / cookbook).glob("resources/*.rb"):
        assert "unified_mode true" in resource.read_text(), resource


# --- environments --------------------------------------------------------------------------

def test_every_chef_environment_is_a_topology_or_the_origin_example():
    assert {path.stem for path in ENV_DIR.glob("*.json")} == {*ENV_NAMES, "origin"}


def test_origin_environment_holds_the_origin_blocks_filled_by_the_seed_outputs():
    """The origin's blocks sit under node['deployer'], the one namespace the cookbooks read (F8)."""
    document = json.loads((ENV_DIR / "origin.json").read_text())
    assert document["default_attributes"] == {"deployer": {
        "orchestration": {"debug": "ENABLE_DEBUG", "identity_service_chef_role": "os-identity",
                          "rabbit_server_chef_role": "os-ops-messaging"},
        "network": {"service_type": "NETWORK_TYPE", "network_manager": "NETWORK_MANAGER"}}}
    seed = json.loads((TEMPLATES_DIR / "origin-seed.json").read_text())
    assert set(placeholders(document)) == set(seed["Outputs"])
    assert {r["Metadata"]["chef-runlist"]: r["Metadata"]["order"] for r in seed["Resources"].values()} == \
        {"role[primary]": 1, "role[secondary]": 2}

@pytest.mark.parametrize("name", ENV_NAMES)
def test_environment_is_chef_environment_json_with_the_documented_placeholders(name):
    document = json.loads((ENV_DIR / f"{name}.json").read_text())
    assert document["name"] == name
    assert (document["json_class"], document["chef_type"]) == ("Chef::Environment", "environment")
    for section in ("default_attributes", "override_attributes", "cookbook_versions"):
        assert isinstance(document[section], dict)
    assert set(placeholders(document)) == EXPECTED_PLACEHOLDERS[name]
    deployer = document["default_attributes"]["deployer"]
    assert deployer["orchestration"] == {"debug": "ENABLE_DEBUG", "identity_service_chef_role": "os-identity",
                                         "rabbit_server_chef_role": "os-ops-messaging"}
    assert deployer["network"] == {"service_type": "NETWORK_TYPE"}
    for role in (deployer["orchestration"]["identity_service_chef_role"], deployer["orchestration"]["rabbit_server_chef_role"]):
        assert role in ROLE_NAMES


def resolve(value, parameters: dict):
    """A HOT values entry: a literal or {get_param: name}."""
    if isinstance(value, dict) and set(value) == {"get_param"}:
        return parameters[value["get_param"]]
    return value


def hot_values(topology: str) -> tuple[str, dict]:
    """(environment template, filled values map) of hot_templates/<topology>.yaml with the sample Heat env."""
    template = yaml.safe_load((TEMPLATES_DIR / f"{topology}.yaml").read_text())
    parameters = {name: spec.get("default") for name, spec in template["parameters"].items()}
    parameters.update(yaml.safe_load((HEAT_ENV_DIR / f"{topology}.yaml").read_text())["parameter_defaults"])
    for name, spec in template["parameters"].items():
        if spec["type"] == "number":
            parameters[name] = int(parameters[name])
    [env] = [r for r in template["resources"].values() if r["type"] == "IBM::SCO::ChefEnvironment"]
    return env["properties"]["template"], {k: resolve(v, parameters) for k, v in env["properties"]["values"].items()}


@pytest.mark.parametrize("topology", ENV_NAMES)
def test_hot_template_supplies_exactly_the_placeholders(topology):
    env_template, values = hot_values(topology)
    assert env_template == topology
    assert set(values) == EXPECTED_PLACEHOLDERS[topology]
    template = yaml.safe_load((TEMPLATES_DIR / f"{topology}.yaml").read_text())
    nodes = [r for r in template["resources"].values() if r["type"] == "IBM::SCO::Node"]
    assert nodes and all(n["properties"]["ChefEnvironment"] == {"get_resource": "chef_env"} for n in nodes)


@pytest.mark.parametrize("topology", ENV_NAMES)
def test_cfn_template_outputs_supply_the_placeholders(topology):
    template = json.loads((TEMPLATES_DIR / f"{topology}-cfn.json").read_text())
    nodes = [r for r in template["Resources"].values() if r["Type"] == "IBM::SCO::Node"]
    assert {n["Properties"]["EnvironmentTemplate"] for n in nodes} == {topology}, "one environment per stack"
    assert EXPECTED_PLACEHOLDERS[topology] <= set(template["Outputs"])
    # The origin's parameters and outputs, as written there.
    assert template["Parameters"]["EnableOSDebug"]["Default"] == "false"
    assert template["Outputs"]["ENABLE_DEBUG"]["Value"] == {"Ref": "EnableOSDebug"}
    assert template["Outputs"]["NETWORK_TYPE"]["Value"] == {"Ref": "NetworkType"}
    assert template["Parameters"]["NetworkType"]["AllowedValues"] == ["ovn"]
    assert "removed from Nova in Ussuri" in template["Parameters"]["NetworkType"]["ConstraintDescription"]


def test_templates_run_only_existing_roles():
    run_lists = []
    for path in TEMPLATES_DIR.rglob("*.yaml"):
        run_lists += [r.get("metadata", {}).get("chef-runlist") for r in yaml.safe_load(path.read_text())["resources"].values()]
    for path in TEMPLATES_DIR.glob("*.json"):
        run_lists += [r.get("Metadata", {}).get("chef-runlist") for r in json.loads(path.read_text())["Resources"].values()]
    roles = {RUN_LIST_ITEM.match(item).group(2) for item in run_lists if item}
    assert roles and roles <= set(ROLE_NAMES)


@pytest.mark.parametrize("topology", ENV_NAMES)
def test_filled_environment_passes_the_cluster_checks(topology):
    _, values = hot_values(topology)
    environment = EnvironmentTemplates(ENV_DIR).render(topology, f"{topology}-sample", values)
    deployer = environment["default_attributes"]["deployer"]
    attributes = {"deployer": deployer, "name": deployer["cluster"]["controllers"][0]["name"]}
    controllers = call_helper("deployer_common", "DeployerCommon::Cluster.controllers", attributes)
    assert len(controllers) == {"allinone": 1, "active-passive": 2, "active-active": 3}[topology]
    assert call_helper("deployer_common", "DeployerCommon::Vrrp.check_unique_vrids!", deployer["vips"]) == deployer["vips"]
    vrids = [vip["virtual_router_id"] for vip in deployer["vips"].values()]
    assert len(vrids) == len(set(vrids))


def test_a_repeated_vrid_is_refused():
    _, values = hot_values("active-active")
    environment = EnvironmentTemplates(ENV_DIR).render("active-active", "clash", {**values, "DB_VRID": values["API_VRID"]})
    with pytest.raises(RenderError, match=r"virtual_router_id 51 is used by both"):
        call_helper("deployer_common", "DeployerCommon::Vrrp.check_unique_vrids!",
                    environment["default_attributes"]["deployer"]["vips"])


OPENSTACK_CONFS = [("deployer_openstack", name) for name in (
    "keystone.conf", "glance-api.conf", "placement.conf", "nova.conf", "neutron.conf", "ml2_conf.ini", "cinder.conf")]
CONTROLLER_FILES = [("deployer_common", "hosts"), ("deployer_ovn", "ovn-central"), *OPENSTACK_CONFS]
COMPUTE_FILES = [("deployer_common", "hosts"), *((("deployer_compute", name) for name in (
    "nova.conf", "nova-compute.conf", "neutron_ovn_metadata_agent.ini")))]
FILES_PER_ROLE = {  # (topology, role) -> the templates that role's recipes write
    ("allinone", "allinone"): [("deployer_galera", "galera.cnf"), ("deployer_rabbitmq", "rabbitmq.conf"),
                               *CONTROLLER_FILES, *COMPUTE_FILES],
    ("active-passive", "primary"): [("deployer_drbd_mysql", "drbd.res"), ("deployer_drbd_mysql", "mysqld.cnf"),
                                    ("deployer_pacemaker", "corosync.conf"),
                                    ("deployer_pacemaker", "cib.xml"), ("deployer_rabbitmq", "rabbitmq.conf"),
                                    *CONTROLLER_FILES],
    ("active-passive", "secondary"): [("deployer_drbd_mysql", "drbd.res"), ("deployer_drbd_mysql", "mysqld.cnf"),
                                      ("deployer_pacemaker", "corosync.conf"),
                                      ("deployer_rabbitmq", "rabbitmq.conf"), *CONTROLLER_FILES],
    ("active-active", "controller"): [("deployer_haproxy", "haproxy.cfg"), ("deployer_keepalived", "keepalived.conf"),
                                      ("deployer_galera", "galera.cnf"), ("deployer_rabbitmq", "rabbitmq.conf"),
                                      ("deployer_pacemaker", "corosync.conf"), ("deployer_pacemaker", "cib.xml"),
                                      *CONTROLLER_FILES],
    ("active-active", "compute"): COMPUTE_FILES,
}


@pytest.mark.parametrize("topology, role", sorted(FILES_PER_ROLE))
def test_filled_environment_renders_every_file_the_role_writes(topology, role):
    """The shipped environment + role give every attribute each cookbook needs (no missing key)."""
    _, values = hot_values(topology)
    environment = EnvironmentTemplates(ENV_DIR).render(topology, f"{topology}-sample", values)
    controllers = environment["default_attributes"]["deployer"]["cluster"]["controllers"]
    member = controllers[1] if role == "secondary" else controllers[0]
    node = ({"name": "compute-0", "ipaddress": "192.0.2.21"} if role == "compute"
            else {"name": member["name"], "ipaddress": member["address"]})
    for cookbook, template in FILES_PER_ROLE[(topology, role)]:
        text = render(cookbook, template, node=node, role=load_role(role), environment=environment, secrets=SECRETS)
        assert text.strip(), f"{cookbook}/{template} rendered empty"


# --- secrets -------------------------------------------------------------------------------

def readme_items_per_role() -> dict[str, set[str]]:
    """deployer_common/README.md's 'Per role' table: role -> data bag items (what the deployer provisions)."""
    text = (COOKBOOKS / "deployer_common" / "README.md").read_text()
    table = text[text.index("Per role"):].split("\n\n")[1]
    known = set(SECRETS["deployer_secrets"]) | {"vrrp_api", "vrrp_db"}
    roles: dict[str, set[str]] = {}
    for line in table.splitlines()[2:]:
        role_cell, items_cell = (cell.strip() for cell in line.strip().strip("|").split("|"))
        items = {word for word in re.findall(r"`(\w+)`", items_cell) if word in known}
        inherited = re.match(r"those of `(\w+)`", items_cell)
        if inherited:
            items |= roles[inherited.group(1)]
        for name in re.findall(r"`(\w+)`", role_cell):
            roles[name] = items
    return roles


@pytest.mark.parametrize("topology, role", sorted(FILES_PER_ROLE))
def test_the_readme_lists_every_secret_item_a_role_renders(topology, role):
    """Render every file of the role with only the data bag items the README lists for it."""
    items = readme_items_per_role()[role]
    secrets = {"deployer_secrets": {name: value for name, value in SECRETS["deployer_secrets"].items() if name in items}}
    _, values = hot_values(topology)
    environment = EnvironmentTemplates(ENV_DIR).render(topology, f"{topology}-sample", values)
    controllers = environment["default_attributes"]["deployer"]["cluster"]["controllers"]
    member = controllers[1] if role == "secondary" else controllers[0]
    node = ({"name": "compute-0", "ipaddress": "192.0.2.21"} if role == "compute"
            else {"name": member["name"], "ipaddress": member["address"]})
    for cookbook, template in FILES_PER_ROLE[(topology, role)]:
        render(cookbook, template, node=node, role=load_role(role), environment=environment, secrets=secrets)


@pytest.mark.parametrize("name", ["ctl1", "compute-0", "aio1", "Node-7"])
def test_a_node_name_that_is_a_hostname_names_the_server(name):
    assert call_helper("deployer_common", "DeployerCommon::Helpers.check_hostname!", name) is None


@pytest.mark.parametrize("name", ["web_1", "ctl1.example.com", "-ctl", "ctl-", "x" * 64])
def test_a_node_name_that_is_no_hostname_fails_the_run_naming_it(name):
    with pytest.raises(RenderError, match=rf"node name \"{re.escape(name)}\" cannot be this server's hostname"):
        call_helper("deployer_common", "DeployerCommon::Helpers.check_hostname!", name)


@pytest.mark.parametrize("set_hostname, expected", [
    (True, "192.0.2.21\tcompute-0"),                       # the node name is canonical, alone
    (False, "192.0.2.21\tnode7.example.test compute-0 node7"),  # the site's own names kept
])
def test_this_nodes_hosts_line_follows_who_names_the_server(set_hostname, expected):
    _, values = hot_values("active-active")
    environment = EnvironmentTemplates(ENV_DIR).render("active-active", "aa-hosts", values)
    environment["override_attributes"] = {"deployer": {"set_hostname": set_hostname}}
    node = {"name": "compute-0", "ipaddress": "192.0.2.21", "hostname": "node7", "fqdn": "node7.example.test"}
    text = render("deployer_common", "hosts", node=node, role=load_role("compute"), environment=environment,
                  secrets=SECRETS)
    assert expected in text.splitlines()
