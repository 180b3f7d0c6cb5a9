"""DeployerClient's Chef environment calls (used by the Heat resources) against
the real API under gunicorn and the real Chef server."""
from __future__ import annotations

import pytest

from deployer.client import DeployerAPIError

pytestmark = pytest.mark.timeout(120)


def test_render_read_and_delete_environment(deployer_api_factory, chef_server):
    client = deployer_api_factory(chef_server=chef_server).client
    template = client.environment_template("allinone")
    values = {name: "1" if "VRID" in name else f"v-{name.lower()}"
              for name in template["placeholders"]}
    with pytest.raises(DeployerAPIError) as unfilled:
        client.render_environment("client-env", "allinone", {})
    assert unfilled.value.status == 422
    assert set(unfilled.value.errors) == {f"values.{name}" for name in template["placeholders"]}

    client.render_environment("client-env", "allinone", values)
    assert client.get_environment("client-env")["name"] == "client-env"
    with chef_server.admin() as admin:
        admin.create_node({"name": "env-user", "chef_environment": "client-env"})
        with pytest.raises(DeployerAPIError) as in_use:
            client.delete_environment("client-env", if_unused=True)
        assert in_use.value.status == 409 and "env-user" in in_use.value.detail
        admin.delete_node("env-user")
    client.delete_environment("client-env", if_unused=True)
    client.delete_environment("client-env")                  # already gone: success
    with pytest.raises(DeployerAPIError) as gone:
        client.get_environment("client-env")
    assert gone.value.status == 404


def test_list_environments_names_what_the_chef_server_has(deployer_api_factory, chef_server):
    api = deployer_api_factory(chef_server=chef_server)
    chef_server.admin().upsert_environment({"name": "listed-env", "json_class": "Chef::Environment",
                                            "chef_type": "environment"})
    assert "listed-env" in api.client.list_environments()
