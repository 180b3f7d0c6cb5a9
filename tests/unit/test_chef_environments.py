"""deployer.chef.environments: what PUT /v1/chef/environments/<name> refuses, and how,
decided before the Chef server is asked anything."""
from __future__ import annotations

from pathlib import Path

import pytest

from deployer.chef import environments
from deployer.chef.environment_template import EnvironmentTemplates
from deployer.errors import DeployerError, NotFound, Unprocessable

TEMPLATES = EnvironmentTemplates(Path(__file__).resolve().parents[1] / "integration" / "content"
                                 / "environments")


@pytest.mark.parametrize("name, body, error, fields", [
    ("bad.name", {"template": "sco-test"}, DeployerError, {"name"}),
    ("site", {"template": "no-such-template"}, NotFound, {"template"}),
    ("site", {"template": "sco-test", "values": {"ENABLE_DEBUG": "true"}}, Unprocessable,
     {"values.NETWORK_MANAGER", "values.CONVERGE_SECONDS"}),
])
def test_refusals_name_their_fields(name, body, error, fields):
    with pytest.raises(error) as refused:
        environments.document(TEMPLATES, name, body)
    assert type(refused.value) is error
    assert set(refused.value.errors) == fields


def test_rendered_and_direct_documents():
    values = {"ENABLE_DEBUG": "true", "NETWORK_MANAGER": "m", "CONVERGE_SECONDS": 0}
    rendered = environments.document(TEMPLATES, "site", {"template": "sco-test", "values": values})
    assert rendered["name"] == "site" and rendered["chef_type"] == "environment"
    direct = environments.document(TEMPLATES, "site", {"default_attributes": {"a": 1}})
    assert direct["default_attributes"] == {"a": 1} and direct["override_attributes"] == {}
