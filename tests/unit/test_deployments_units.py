"""Deployments service pieces whose failure paths the real Heat cannot be made to
produce on demand: a stack create refused after the preview passed, and a row
that cannot be committed after the stack exists.  Plus the pure helpers:
Heat message -> field, redaction, plan building from a preview document."""
from __future__ import annotations

import json
from pathlib import Path
from unittest import mock

import pytest
from heatclient import exc as heat_exc
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from deployer.chef.environment_template import EnvironmentTemplates
from deployer.config import ContentSettings
from deployer.db.migrate import upgrade_database
from deployer.db.models import Deployment
from deployer.db.session import make_engine, make_session_factory
from deployer.deployments import heat_stacks, plan, secrets, service, steps
from deployer.deployments.catalog import Catalog
from deployer.deployments.context import Services
from deployer.errors import Unprocessable
from deployer.secrets import SecretBox

REPO = Path(__file__).resolve().parents[2]
PREVIEW_OK = {"parameters": {}, "outputs": [], "resources": []}


class FakeStacks:
    """Heat's stacks API as far as create needs it; ``create`` is set per test."""

    def __init__(self, create):
        self.create = create
        self.deleted: list[str] = []
        self.validate = mock.Mock(return_value={"Parameters": {
            "NodeAddress": {"Type": "String"}, "SshPassword": {"Type": "String", "NoEcho": "true"}}})
        self.preview = mock.Mock(return_value=mock.Mock(to_dict=lambda: PREVIEW_OK))

    def delete(self, stack_id):
        self.deleted.append(stack_id)

    def get(self, stack_id, resolve_outputs=False):
        raise heat_exc.HTTPNotFound()


@pytest.fixture
def make_services(tmp_path):
    url = f"sqlite:///{tmp_path / 'deployer.sqlite'}"
    upgrade_database(url)
    factory = make_session_factory(make_engine(url))

    def build(create) -> Services:
        heat = mock.Mock(stacks=FakeStacks(create))
        return Services(session=factory(), heat_factory=lambda: heat, box=SecretBox.in_dir(tmp_path),
                        catalog=Catalog(ContentSettings()),
                        environment_templates=EnvironmentTemplates(REPO / "environments" / "chef"))
    return build


def _request(name="aio") -> service.Request:
    return service.Request(name=name, template="allinone", parameter_set=None,
                           parameters={"NodeAddress": "192.0.2.1", "SshPassword": "pw-Secret-1"},
                           heat_environments=[])


def test_refused_stack_create_leaves_no_row(make_services):
    def refuse(**_kwargs):
        raise heat_exc.HTTPBadRequest("ERROR: The Parameter (NodeAddress) was not provided.")
    services = make_services(refuse)
    with pytest.raises(Unprocessable) as info:
        service.create(services, _request())
    assert "parameters.NodeAddress" in info.value.errors
    services.session.commit()
    assert services.session.scalars(select(Deployment)).all() == []


def test_row_that_cannot_be_committed_deletes_its_stack(make_services):
    services = make_services(lambda **_kwargs: {"stack": {"id": "stack-1"}})
    row = service.create(services, _request())
    assert row.stack_id == "stack-1" and row.secret_names == ["SshPassword"]
    assert b"pw-Secret-1" not in row.secret_blob
    with mock.patch.object(services.session, "commit",
                           side_effect=OperationalError("COMMIT", {}, Exception("disk full"))):
        with pytest.raises(OperationalError):
            service.commit_created(services, row)
    assert services.heat.stacks.deleted == ["stack-1"]
    assert services.session.scalars(select(Deployment)).all() == []


@pytest.mark.parametrize("message, field", [
    ("ERROR: The Parameter (NodeAddress) was not provided.", "parameters.NodeAddress"),
    ("ERROR: The Parameter (Bogus) was not defined in template.", "parameters.Bogus"),
    ("ERROR: Parameter 'SshPort' is invalid: 0 is out of range (min: 1, max: 65535)",
     "parameters.SshPort"),
    ("ERROR: Property error: resources.site: site: values: unfilled placeholders of template "
     "'sco-test': CONVERGE_SECONDS, NETWORK_MANAGER", "chef_environment.NETWORK_MANAGER"),
    ("ERROR: control: unfilled placeholders of Chef environment template 'sco-test': "
     "CONVERGE_SECONDS (no stack output of that name)", "chef_environment.CONVERGE_SECONDS"),
    ("ERROR: something else entirely", "template"),
])
def test_heat_refusals_name_the_field(message, field):
    assert field in heat_stacks.refusal(message.removeprefix("ERROR: ")).errors


def test_redaction_by_name_value_and_password_property():
    hidden = {"AdminPassword"}
    assert secrets.redact_parameters({"AdminPassword": "s3", "X": 1}, hidden) == {
        "AdminPassword": "******", "X": 1}
    texts = secrets.secret_texts({"AdminPassword": "s3cret-value"})
    assert secrets.redact_value({"Password": "literal", "url": "http://u:s3cret-value@h",
                                 "n": [None, 3]}, texts) == {
        "Password": "******", "url": "http://u:******@h", "n": [None, 3]}


def test_plan_from_a_cfn_preview_renders_outputs_and_orders_nodes():
    templates = EnvironmentTemplates(REPO / "tests" / "integration" / "content" / "environments")
    node = {"resource_type": "IBM::SCO::Node", "stack_name": "s1",
            "properties": {"Address": "192.0.2.5", "EnvironmentTemplate": "sco-test",
                           "Password": "pw-Secret-2"},
            "attributes": {"run_list": ["role[a]"]}}
    preview = {"parameters": {}, "outputs": [
        {"output_key": "ENABLE_DEBUG", "output_value": "true"},
        {"output_key": "NETWORK_MANAGER", "output_value": "m"},
        {"output_key": "CONVERGE_SECONDS", "output_value": 2},
        {"output_key": "OTHER", "output_value": "ignored"}],
        "resources": [{**node, "resource_name": "b", "metadata": {"order": 2}},
                      # Heat names a group member's stack <stack>-<group>-<id>-<index>-<id>
                      [[{**node, "resource_name": "c",
                         "stack_name": "s1-group-abcdefgh2345-0-ijklmnop6723",
                         "metadata": {"order": 2}}]],
                      {**node, "resource_name": "a", "metadata": {"order": 1}}]}
    template_steps = [steps.StepNode("a", 1, 1, ["role[a]"], ()),
                      steps.StepNode("b", 2, 2, ["role[a]"], ("a",)),
                      steps.StepNode("group/c", 3, 2, ["role[a]"], ("a", "b"))]
    built = plan.build(preview, "s1", templates, ["pw-Secret-2"], {}, template_steps)
    assert [[(n["resource"], n["step"]) for n in group] for group in built["steps"]] == [
        [("a", 1)], [("b", 2)], [("group/0/c", 3)]]
    assert built["chef_environment"]["name"] == "s1"
    assert built["chef_environment"]["default_attributes"]["standin"]["sleep"] == 2
    assert "pw-Secret-2" not in json.dumps(built)
    del preview["outputs"][2]
    with pytest.raises(Unprocessable) as info:
        plan.build(preview, "s1", templates, [], {}, template_steps)
    assert list(info.value.errors) == ["chef_environment.CONVERGE_SECONDS"]


def test_hot_values_for_no_placeholder_are_refused():
    templates = EnvironmentTemplates(REPO / "tests" / "integration" / "content" / "environments")
    site = {"resource_type": "IBM::SCO::ChefEnvironment", "resource_name": "site",
            "stack_name": "s1", "properties": {"template": "sco-test", "values": {
                "ENABLE_DEBUG": "x", "NETWORK_MANAGER": "m", "CONVERGE_SECONDS": 0,
                "TYPO_NAME": 1}}}
    with pytest.raises(Unprocessable) as info:
        plan.build({"resources": [site]}, "s1", templates, [], {}, [])
    assert info.value.errors == {"chef_environment.TYPO_NAME": ["unknown placeholder"]}


def test_states_follow_heat():
    assert [service.state_of(s) for s in ("CREATE_IN_PROGRESS", "UPDATE_COMPLETE",
                                          "CREATE_FAILED", "DELETE_COMPLETE", None,
                                          "DELETE_IN_PROGRESS")] == [
        "in_progress", "complete", "failed", "deleted", "deleted", "in_progress"]
