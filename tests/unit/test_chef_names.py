"""One rulebook (deployer.chef.names): the API, the Heat resource and the node runner
are fed the same names, run-lists, fingerprints and orders and must agree on each.

The API is the real Flask app (POST /v1/runs), the Heat side is the real engine
validating an IBM::SCO::Node in a parsed stack, the runner is execute() stopped
at its first phase (a valid spec is cancelled there; an invalid one fails in
validation before anything is touched).
"""
from __future__ import annotations

import pytest
from heat.common import exception as heat_exception

from deployer import config
from deployer.api.app import create_app
from deployer.bootstrap.contract import CANCELLED, FAILED, NodeTarget, RunSpec
from deployer.bootstrap.runner import execute
from deployer.cli import progress
from deployer.chef import names
from deployer.chef.errors import RunListError
from deployer.chef.server import expand_run_list
from deployer.db.migrate import upgrade
from deployer.deployments import heat_stacks, plan, steps
from deployer.errors import Unprocessable
from heat_plugins import sco_node
from tests.unit.heat_engine import parse_stack

FINGERPRINT = "SHA256:" + "A" * 43
VALID = {"node_name": "node-1.example", "environment": "production",
         "run_list": ["role[primary]"], "host_key_fingerprint": None}

# (field, value, accepted by every layer)
CASES = [
    ("node_name", "web-1.example", True),
    ("node_name", "rack-3_node", True),
    ("node_name", "rack:3_node", False),         # %-encoded in a URL: signed != verified
    ("node_name", "..", False),                  # a path segment, not a name
    ("node_name", ".", False),
    ("node_name", "x" * 256, False),
    ("node_name", "bad name", False),
    ("node_name", "a/b", False),
    ("environment", "production", True),
    ("environment", "_default", True),
    ("environment", "prod.v2", False),
    ("environment", "prod env", False),
    ("run_list", "role[primary]", True),
    ("run_list", "recipe[base::db]", True),
    ("run_list", "recipe[galera@2.0.0]", True),
    ("run_list", "nginx", True),                  # Chef reads a bare name as recipe[nginx]
    ("run_list", "base::db@1.2", True),
    ("run_list", "role[web.v2]", False),          # Chef refuses dots in role names
    ("run_list", "role[x; rm -rf /]", False),
    ("run_list", "recipe[broken", False),
    ("run_list", "no spaces allowed", False),
    ("host_key_fingerprint", FINGERPRINT, True),
    ("host_key_fingerprint", FINGERPRINT + "=", True),
    ("host_key_fingerprint", "SHA256:abc", False),
    ("host_key_fingerprint", "MD5:" + "a" * 43, False),
]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    state = tmp_path_factory.mktemp("names-api")
    cfg = config.load(config.write_file(state / "deployer.conf", {"DEFAULT": {"state_dir": state}}),
                      env={})
    upgrade(cfg)
    return create_app(cfg, {"TESTING": True}).test_client()


def _values(field, value) -> dict:
    values = {**VALID, field: [value] if field == "run_list" else value}
    return values


def api_accepts(api, values) -> bool:
    target = {"address": "192.0.2.10", "password": "pw-names-1",
              "host_key_fingerprint": values["host_key_fingerprint"]}
    response = api.post("/v1/runs", json={"node_name": values["node_name"],
                                          "environment": values["environment"],
                                          "run_list": values["run_list"], "target": target})
    assert response.status_code in (202, 400), response.get_data(as_text=True)
    return response.status_code == 202


def plugin_accepts(values) -> bool:
    properties = {"Address": "192.0.2.10", "Password": "pw-names-1",
                  "NodeName": values["node_name"], "ChefEnvironment": values["environment"]}
    if values["host_key_fingerprint"]:
        properties["HostKeyFingerprint"] = values["host_key_fingerprint"]
    stack = parse_stack({"heat_template_version": "2021-04-16", "resources": {"node": {
        "type": "IBM::SCO::Node", "properties": properties,
        "metadata": {"chef-runlist": values["run_list"], "order": 1}}}})
    try:
        stack.validate()
    except heat_exception.StackValidationFailed:
        return False
    return True


class _StopAtFirstPhase:
    def phase(self, name):
        raise AssertionError("a cancelled run must not enter a phase")

    def output(self, stream, text):
        pass

    def cancelled(self):
        return True


def runner_accepts(values) -> bool:
    spec = RunSpec(node_name=values["node_name"], run_list=values["run_list"],
                   environment=values["environment"],
                   target=NodeTarget(address="192.0.2.10", password="pw-names-1",
                                     host_key_fingerprint=values["host_key_fingerprint"]))
    result = execute(spec, _StopAtFirstPhase(), chef=None)
    assert result.status in (CANCELLED, FAILED)
    if result.status == FAILED:
        assert "validation failed" in result.reason
    return result.status == CANCELLED


@pytest.mark.parametrize("field, value, accepted", CASES)
def test_api_plugin_and_runner_agree(api, field, value, accepted):
    values = _values(field, value)
    assert (api_accepts(api, values), plugin_accepts(values), runner_accepts(values)) == \
        (accepted, accepted, accepted)


# -- order: the plugin, the steps, the plan and the CLI read it the same way ----------
ORDERS = [(0, 0), (2, 2), ("3", 3), (4.0, 4), (-1, None), ("x", None), (True, None),
          (1.5, None), ({"get_param": "Order"}, None)]


@pytest.mark.parametrize("raw, expected", ORDERS)
def test_order_is_read_alike_everywhere(raw, expected):
    metadata = {"chef-runlist": "role[a]", "order": raw}
    try:
        plugin = sco_node.check_metadata(metadata)[0]
    except ValueError:
        plugin = None
    template = {"heat_template_version": "2021-04-16", "resources": {
        "n": {"type": "IBM::SCO::Node", "metadata": metadata}}}
    try:        # an order from a parameter cannot be stepped without its value
        catalog = steps.of_template(template, {})[0].order
    except steps.StepsError:
        catalog = None
    preview = [{"resource_type": "IBM::SCO::Node", "resource_name": "n", "stack_name": "s",
                "metadata": metadata}]
    try:
        planned = plan.step_groups(preview, "s", [])[0][0]["order"]
    except Unprocessable:
        planned = None
    assert (plugin, catalog, planned) == (expected, expected, expected)


def test_unknown_steps_sort_last_in_the_api_and_the_cli():
    nodes = [{"resource": "b", "step": None}, {"resource": "a", "step": 2},
             {"resource": "c", "step": 1}]
    assert [step for step, _ in progress.step_groups(nodes)] == [1, 2, None]
    assert sorted([None, 2, 0], key=names.order_sort_key) == [0, 2, None]


# -- the chef-runlist metadata forms -------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [
    ("role[a], base", ["role[a]", "recipe[base]"]),
    (["role[a]", " recipe[base] ", "base"], ["role[a]", "recipe[base]"]),
    ("", []),
    (None, []),
])
def test_run_list_metadata_forms(raw, expected):
    metadata = {"chef-runlist": raw}
    assert names.run_list_of(metadata) == expected
    assert sco_node.check_metadata(metadata)[1] == expected
    template = {"Resources": {"n": {"Type": "IBM::SCO::Node", "Metadata": metadata}},
                "AWSTemplateFormatVersion": "2010-09-09"}
    assert steps.of_template(template, {})[0].run_list == expected


# -- the unfilled-placeholders sentence the resources write and the API reads ---------------
def test_unfilled_placeholders_message_is_read_back_into_fields():
    message = f"control: {names.unfilled_placeholders_message('site', ['VIP_ADDR', 'DB_PASS'])}"
    assert names.parse_unfilled_placeholders(message) == ("site", ["DB_PASS", "VIP_ADDR"])
    assert set(heat_stacks.refusal(message).errors) == {"chef_environment.DB_PASS",
                                                       "chef_environment.VIP_ADDR"}


@pytest.mark.parametrize("parts, node, environment", [
    (("my.cloud", "control"), "my.cloud-control", "my-cloud-control"),
    (("stack one", "n/1"), "stack-one-n-1", "stack-one-n-1"),
])
def test_derived_names_follow_their_own_rule(parts, node, environment):
    assert names.node_name_from(*parts) == node and names.is_node_name(node)
    assert names.environment_name_from("-".join(parts)) == environment
    assert names.is_environment_name(environment)


@pytest.mark.parametrize("item, accepted", [(value, ok) for field, value, ok in CASES
                                            if field == "run_list"])
def test_chef_expansion_and_catalog_agree_on_run_list_items(item, accepted):
    """The deployer's own run-list expansion (before the depsolver) and the catalog's
    static reading follow the rule the API, the resource and the runner follow."""
    try:
        expand_run_list([item], "_default", lambda role: {"run_list": []})
        expanded = True
    except RunListError:
        expanded = False
    template = {"heat_template_version": "2021-04-16", "resources": {
        "n": {"type": "IBM::SCO::Node", "metadata": {"chef-runlist": [item]}}}}
    in_catalog = steps.of_template(template, {})[0].run_list is not None
    assert (expanded, in_catalog) == (accepted, accepted)
