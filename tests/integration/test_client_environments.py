"""DeployerClient's Chef environment calls (used by the Heat resources) against
the real API under gunicorn and the real Chef server."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from deployer.chef import data_bag_secrets, environment_secrets, names
from deployer.client import DeployerAPIError
from deployer.secrets import SecretBox

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


def _filled(client, template: str) -> dict:
    return {name: "1" if "VRID" in name or "PREFIX" in name else f"v-{name.lower()}"
            for name in client.environment_template(template)["placeholders"]}


def test_a_rendered_environment_gets_its_secrets_as_encrypted_items(deployer_api_factory, chef_server):
    """Every item its roles read, encrypted on the Chef server, the same values after a
    re-render, a given one applied, and all of it gone with the environment."""
    api = deployer_api_factory(chef_server=chef_server)
    client = api.client
    values = _filled(client, "active-active")
    rendered = client.render_environment("secret-env", "active-active", values,
                                         secrets={"keystone": {"admin_password": "Chosen-admin-pw"}})
    bag = rendered["override_attributes"]["deployer"]["secrets"]["data_bag"]
    assert bag == names.secrets_bag_name("secret-env")
    assert "Chosen-admin-pw" not in json.dumps(rendered)

    box = SecretBox.in_dir(api.cfg.api_dir)
    engine = sa.create_engine(api.cfg.database_url)
    with Session(engine) as session:
        item_secret = environment_secrets.item_secret(session, box, "secret-env")
    with chef_server.admin() as admin:
        assert set(admin.list_data_bag(bag)) == set(data_bag_secrets.ITEMS) | {"vrrp_api", "vrrp_db"}
        stored = {item: admin.get_item(bag, item) for item in admin.list_data_bag(bag)}
    assert "Chosen-admin-pw" not in json.dumps(stored)
    opened = {item: data_bag_secrets.decrypt_item(body, item_secret) for item, body in stored.items()}
    assert opened["keystone"]["admin_password"] == "Chosen-admin-pw"
    assert len(opened["vrrp_api"]["auth_pass"]) == 8

    client.render_environment("secret-env", "active-active", values)      # re-render: nothing rotates
    with chef_server.admin() as admin:
        admin.delete_item(bag, "rabbitmq")                                # lost on the server: rewritten
    client.render_environment("secret-env", "active-active", values)
    with chef_server.admin() as admin:
        again = {item: data_bag_secrets.decrypt_item(admin.get_item(bag, item), item_secret)
                 for item in admin.list_data_bag(bag)}
    assert again == opened

    client.delete_environment("secret-env")
    with chef_server.admin() as admin:
        assert bag not in admin.list_data_bags()
    with Session(engine) as session:
        assert environment_secrets.item_secret(session, box, "secret-env") is None


def test_an_unknown_secret_is_refused_and_nothing_is_created(deployer_api_factory, chef_server):
    api = deployer_api_factory(chef_server=chef_server)
    with pytest.raises(DeployerAPIError) as refused:
        api.client.render_environment("typo-env", "allinone", _filled(api.client, "allinone"),
                                      secrets={"keystone": {"admin_pasword": "x"}})
    assert refused.value.status == 422 and "secrets.keystone.admin_pasword" in refused.value.errors
    with chef_server.admin() as admin:
        assert names.secrets_bag_name("typo-env") not in admin.list_data_bags()
        assert "typo-env" not in admin.list_environments()
