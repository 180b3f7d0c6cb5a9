"""Every cookbook and role uploaded to the real Chef server (goiardi); each role's run-list,
expanded by the server's roles, resolved by the server's depsolver in the environment of its
topology (the shipped Chef environment filled with the sample Heat values)."""
from __future__ import annotations

import functools
import json
import uuid

import pytest

from deployer.chef.cookbooks import find_cookbooks, read_metadata, upload_all
from deployer.chef.environment_template import EnvironmentTemplates
from deployer.chef.errors import ChefDependencyError
from tests.cookbooks.test_roles_and_environments import (COOKBOOKS, ENV_DIR, ENV_NAMES, ROLE_NAMES,
                                                        ROLES_DIR, hot_values)

pytestmark = pytest.mark.integration

TOPOLOGY_OF_ROLE = {
    "allinone": "allinone",
    "primary": "active-passive", "secondary": "active-passive", "scheduler-ap": "active-passive",
}


@pytest.fixture(scope="module")
def loaded_server(chef_server):
    """The admin client after uploading all cookbooks and roles, plus one environment per topology."""
    admin = chef_server.admin()
    upload_all(admin, COOKBOOKS)
    for name in ROLE_NAMES:
        admin.upsert_role(json.loads((ROLES_DIR / f"{name}.json").read_text()))
    suffix = uuid.uuid4().hex[:6]
    environments = {}
    templates = EnvironmentTemplates(ENV_DIR)
    for topology in ENV_NAMES:
        _, values = hot_values(topology)
        environment = templates.render(topology, f"{topology}-{suffix}", values)
        admin.upsert_environment(environment)
        environments[topology] = environment["name"]
    try:
        yield admin, environments
    finally:
        for name in environments.values():
            admin.delete_environment(name)


@functools.cache
def metadata(name: str) -> dict:
    return read_metadata(COOKBOOKS / name)


def dependency_closure(name: str) -> set[str]:
    seen: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending += list(metadata(current)["dependencies"])
    return seen


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_role_run_list_resolves_on_the_chef_server(loaded_server, role):
    admin, environments = loaded_server
    environment = environments[TOPOLOGY_OF_ROLE.get(role, "active-active")]
    expanded = admin.expand_run_list(environment, [f"role[{role}]"])
    assert expanded, f"role {role} expands to nothing"
    solution = admin.solve(environment, [f"role[{role}]"])
    wanted = set().union(*(dependency_closure(recipe.split("::")[0]) for recipe in expanded))
    assert wanted <= set(solution), f"missing from the solution: {wanted - set(solution)}"
    for cookbook in wanted:
        assert solution[cookbook] == metadata(cookbook)["version"]


def test_every_shipped_cookbook_was_uploaded(loaded_server):
    admin, _ = loaded_server
    assert {path.name for path in find_cookbooks(COOKBOOKS)} <= set(admin.list_cookbooks())


def test_a_role_naming_a_missing_cookbook_does_not_resolve(loaded_server):
    admin, environments = loaded_server
    name = f"broken-{uuid.uuid4().hex[:6]}"
    admin.upsert_role({"name": name, "json_class": "Chef::Role", "chef_type": "role", "description": "test",
                       "run_list": ["recipe[deployer_roles::controller]", "recipe[deployer_no_such_cookbook]"],
                       "default_attributes": {}, "override_attributes": {}, "env_run_lists": {}})
    try:
        with pytest.raises(ChefDependencyError, match="deployer_no_such_cookbook"):
            admin.solve(environments["active-active"], [f"role[{name}]"])
    finally:
        admin.delete_role(name)
