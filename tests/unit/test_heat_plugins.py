"""IBM::SCO::Node and IBM::SCO::ChefEnvironment in the real Heat engine, with the
deployer API client mocked: the paths only root end-to-end tests reached (or none),
each in well under a second.

The stack, the resource, its stored data and Heat's scheduler are real; only
``heat_plugins.common.api_client`` returns a mock, whose answers each test sets.
"""
from __future__ import annotations

import copy
import time
from unittest import mock

import pytest
from heat.common import exception
from heat.engine import resource, rsrc_defn, scheduler
from oslo_config import cfg

from deployer.client import DeployerAPIError, DeployerUnavailable
from heat_plugins import common
from tests.unit.heat_engine import parse_stack

NODE = {"type": "IBM::SCO::Node",
        "properties": {"Address": "192.0.2.7", "Password": "pw-Unit-9", "ChefEnvironment": "prod"},
        "metadata": {"chef-runlist": "role[primary], base", "order": 1}}
SUCCEEDED = {"id": "run-1", "status": "succeeded", "exit_code": 0,
             "stdout_tail": "converged", "stderr_tail": ""}


@pytest.fixture
def client(monkeypatch):
    api = mock.Mock(name="DeployerClient")
    api.start_run.return_value = {"id": "run-1", "status": "queued"}
    api.get_run.return_value = SUCCEEDED
    monkeypatch.setattr(common, "api_client", lambda context=None, stack=None: api)
    return api


def _node_stack(**node_changes):
    node = copy.deepcopy(NODE)
    for key, value in node_changes.items():
        node[key].update(value)
        node[key] = {name: given for name, given in node[key].items() if given is not None}
    return parse_stack({"heat_template_version": "2021-04-16", "resources": {"node": node}})


def _created(client):
    stack = _node_stack()
    node = stack["node"]
    scheduler.TaskRunner(node.create)()
    assert node.state == (node.CREATE, node.COMPLETE)
    return stack, node


def test_create_sends_a_run_spec_built_from_the_contract(client):
    stack, node = _created(client)
    spec = client.start_run.call_args.args[0]
    assert spec["node_name"] == f"{stack.name}-node"
    assert spec["run_list"] == ["role[primary]", "recipe[base]"]
    assert spec["environment"] == "prod" and spec["action"] == "converge"
    assert spec["target"]["password"] == "pw-Unit-9"      # the API encrypts it at once
    assert spec["install"] is None                         # the deployer's [bootstrap] source
    assert (spec["stack_id"], spec["resource_name"]) == (stack.id, "node")


def test_attributes_resolve_from_the_run_and_the_metadata(client):
    stack, node = _created(client)
    assert node.FnGetAtt("node_name") == f"{stack.name}-node"
    assert node.FnGetAtt("address") == "192.0.2.7"
    assert node.FnGetAtt("run_list") == ["role[primary]", "recipe[base]"]
    assert node.FnGetAtt("environment") == "prod"
    assert node.FnGetAtt("deploy_status_code") == 0
    assert node.FnGetAtt("deploy_stdout") == "converged"
    assert node.FnGetAtt("deploy_stderr") == ""


# -- polling while the deployer API is away ------------------------------------------
def test_polling_rides_out_an_unreachable_api_within_the_grace(client):
    stack = _node_stack()                               # resources hold it weakly
    node = stack["node"]
    node.store()                                        # a row for its resource data
    client.get_run.side_effect = DeployerUnavailable(None, {"detail": "refused"}, "GET", "/r")
    token = {"run_id": "run-1", "unreachable_since": None}
    with pytest.raises(resource.PollDelay):
        node.check_create_complete(token)
    assert token["unreachable_since"] is not None
    client.get_run.side_effect = None                      # back: the clock resets
    assert node.check_create_complete(token) is True
    assert token["unreachable_since"] is None


def test_polling_fails_once_the_api_stays_away_past_the_grace(client):
    stack = _node_stack()                               # resources hold it weakly
    node = stack["node"]
    node.store()                                        # a row for its resource data
    client.get_run.side_effect = DeployerUnavailable(None, {"detail": "refused"}, "GET", "/r")
    grace = cfg.CONF.deployer.api_unreachable_grace
    token = {"run_id": "run-1", "unreachable_since": time.monotonic() - grace - 1}
    with pytest.raises(exception.Error, match=f"unreachable for more than {grace} s"):
        node.check_create_complete(token)


def test_a_failed_run_fails_the_resource_with_its_reason(client):
    stack = _node_stack()                               # resources hold it weakly
    node = stack["node"]
    node.store()                                        # a row for its resource data
    client.get_run.return_value = {**SUCCEEDED, "status": "failed", "exit_code": 1,
                                   "reason": "node n (192.0.2.7): converge failed: boom"}
    with pytest.raises(exception.Error, match="converge failed: boom"):
        node.check_create_complete({"run_id": "run-1", "unreachable_since": None})


# -- update -------------------------------------------------------------------------
def _update(node, stack, **node_changes):
    changed = copy.deepcopy(NODE)
    for key, value in node_changes.items():
        changed[key].update(value)
    after = rsrc_defn.ResourceDefinition(
        "node", changed["type"], properties=changed["properties"], metadata=changed["metadata"])
    scheduler.TaskRunner(node.update, after)()


def test_an_order_only_update_converges_nothing(client):
    stack, node = _created(client)
    client.start_run.reset_mock()
    _update(node, stack, metadata={"order": 5})
    client.start_run.assert_not_called()
    assert node.metadata_get()["order"] == 5               # kept: Heat does not persist it


def test_a_run_list_update_converges_again(client):
    stack, node = _created(client)
    client.start_run.reset_mock()
    _update(node, stack, metadata={"chef-runlist": "role[secondary]"})
    assert client.start_run.call_args.args[0]["run_list"] == ["role[secondary]"]


# -- cancel and delete ------------------------------------------------------------------
def test_cancel_asks_an_active_run_to_stop(client):
    _, node = _created(client)
    client.get_run.return_value = {**SUCCEEDED, "status": "running"}
    node.handle_create_cancel(None)
    client.cancel_run.assert_called_once_with("run-1")


@pytest.mark.parametrize("status, tolerated", [(404, True), (500, False)])
def test_cancel_when_the_run_is_gone(client, status, tolerated):
    _, node = _created(client)
    client.get_run.side_effect = DeployerAPIError(status, {"detail": "x"}, "GET", "/v1/runs/run-1")
    if tolerated:
        node.handle_update_cancel(None)
    else:
        with pytest.raises(DeployerAPIError):
            node.handle_update_cancel(None)
    client.cancel_run.assert_not_called()


def _rendering_node(client):
    """A node that renders the stack's environment from the template's placeholders."""
    client.environment_template.return_value = {"placeholders": {}}
    stack = _node_stack(properties={"ChefEnvironment": None, "EnvironmentTemplate": "origin"})
    node = stack["node"]
    scheduler.TaskRunner(node.create)()
    return stack, node


@pytest.mark.parametrize("status, tolerated", [(409, True), (500, False)])
def test_delete_keeps_an_environment_other_nodes_use(client, status, tolerated):
    stack, node = _rendering_node(client)
    environment = client.render_environment.call_args.args[0]
    assert environment == stack.name.replace(".", "-")
    client.delete_environment.side_effect = DeployerAPIError(status, {"detail": "in use"},
                                                             "DELETE", "/v1/chef/environments/x")
    if tolerated:
        scheduler.TaskRunner(node.delete)()
        assert node.state == (node.DELETE, node.COMPLETE)
    else:
        with pytest.raises(exception.ResourceFailure):
            scheduler.TaskRunner(node.delete)()
    client.delete_chef_node.assert_called_once_with(f"{stack.name}-node")
    client.delete_environment.assert_called_once_with(environment, if_unused=True)


# -- the ChefEnvironment resource ------------------------------------------------------------
def test_chef_environment_validation_names_unfilled_placeholders(client):
    client.environment_template.return_value = {"placeholders": {"VIP_ADDR": ["$.x"],
                                                                 "DB_PASS": ["$.y"]}}
    stack = parse_stack({"heat_template_version": "2021-04-16", "resources": {"site": {
        "type": "IBM::SCO::ChefEnvironment",
        "properties": {"template": "origin", "values": {"VIP_ADDR": "10.0.0.9"}}}}})
    with pytest.raises(exception.StackValidationFailed,
                       match="unfilled placeholders of Chef environment template 'origin': DB_PASS"):
        stack.validate()


def test_chef_environment_validation_waits_for_an_unreachable_api(client):
    client.environment_template.side_effect = DeployerUnavailable(None, {}, "GET", "/t")
    stack = parse_stack({"heat_template_version": "2021-04-16", "resources": {"site": {
        "type": "IBM::SCO::ChefEnvironment", "properties": {"template": "origin"}}}})
    stack.validate()        # checked again when the resource is created
