"""The Chef server client against a real goiardi with authentication on."""
from __future__ import annotations

import uuid

import pytest

from deployer.chef.cookbooks import upload_cookbook
from deployer.chef.errors import (ChefAuthError, ChefConflict, ChefDependencyError, ChefNotFound,
                                  ChefUnavailable, RunListError)
from deployer.chef.server import ChefServer, expand_run_list, new_node
from deployer.undercloud.process import free_port
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def prefix():
    """A unique name prefix: the Chef server is shared by the whole test session."""
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("auth_version", ["1.3", "1.1", "1.0"])
def test_every_auth_protocol_reads_and_writes(chef_server, prefix, auth_version):
    admin = chef_server.admin(auth_version)
    assert admin.upsert_environment({"name": f"{prefix}-env", "description": auth_version}) is True
    assert admin.get_environment(f"{prefix}-env")["description"] == auth_version
    assert f"{prefix}-env" in admin.list_environments()
    admin.delete_environment(f"{prefix}-env")


def test_environment_nested_attributes_round_trip(chef_server, prefix):
    admin = chef_server.admin()
    name = f"{prefix}-site"
    attributes = {"openstack": {"network": {"vlans": [100, 101], "manager": "VlanManager"},
                                "debug": True, "ratio": 1.5, "empty": {}, "none": None}}
    overrides = {"haproxy": {"vip": "192.0.2.10", "backends": [{"host": "a", "port": 3306}]}}
    admin.upsert_environment({"name": name, "default_attributes": attributes,
                              "override_attributes": overrides,
                              "cookbook_versions": {"mysql": "= 1.0.0"}})
    stored = admin.get_environment(name)
    assert stored["default_attributes"] == attributes
    assert stored["override_attributes"] == overrides
    assert stored["cookbook_versions"] == {"mysql": "= 1.0.0"}
    # a second upsert updates in place
    assert admin.upsert_environment({"name": name, "default_attributes": {"x": {"y": 1}}}) is False
    assert admin.get_environment(name)["default_attributes"] == {"x": {"y": 1}}
    admin.delete_environment(name)
    with pytest.raises(ChefNotFound):
        admin.get_environment(name)


def test_roles_upsert_list_and_delete(chef_server, prefix):
    admin = chef_server.admin()
    role = {"name": f"{prefix}-primary", "run_list": ["recipe[haproxy]", "role[base]"],
            "env_run_lists": {"prod": ["recipe[haproxy::ha]"]},
            "default_attributes": {"haproxy": {"mode": "http"}}}
    assert admin.upsert_role(role) is True
    stored = admin.get_role(role["name"])
    assert stored["run_list"] == role["run_list"]
    assert stored["env_run_lists"] == role["env_run_lists"]
    assert stored["default_attributes"] == role["default_attributes"]
    assert admin.upsert_role({**role, "run_list": ["recipe[keepalived]"]}) is False
    assert admin.get_role(role["name"])["run_list"] == ["recipe[keepalived]"]
    assert role["name"] in admin.list_roles()
    admin.delete_role(role["name"])
    assert role["name"] not in admin.list_roles()


def test_node_crud(chef_server, prefix):
    admin = chef_server.admin()
    name = f"{prefix}-node"
    assert not admin.node_exists(name)
    admin.create_node(new_node(name, run_list=["role[primary]"], normal={"tags": ["a"]}))
    assert admin.node_exists(name) and name in admin.list_nodes()
    node = admin.get_node(name)
    assert node["run_list"] == ["role[primary]"] and node["normal"] == {"tags": ["a"]}
    node["normal"]["deployer"] = {"stack": "s1"}
    assert admin.update_node(node)["normal"]["deployer"] == {"stack": "s1"}
    assert admin.get_node(name)["normal"]["deployer"] == {"stack": "s1"}
    with pytest.raises(ChefConflict):
        admin.create_node({"name": name})
    admin.delete_node(name)
    assert not admin.node_exists(name)
    with pytest.raises(ChefNotFound):
        admin.delete_node(name)


def test_new_client_authenticates_and_manages_only_its_own_node(chef_server, prefix):
    admin = chef_server.admin()
    name, other = f"{prefix}-n1", f"{prefix}-n2"
    created = admin.create_client(name)
    assert created["private_key"].startswith("-----BEGIN") and admin.client_exists(name)
    admin.create_node(new_node(name, run_list=["role[primary]"]))
    admin.create_node(new_node(other))
    for auth_version in ("1.3", "1.0"):
        as_node = chef_server.client(name, created["private_key"], auth_version)
        me = as_node.get_node(name)
        me["automatic"] = {"ipaddress": "192.0.2.5", "auth": auth_version}
        as_node.update_node(me)
        assert admin.get_node(name)["automatic"] == {"ipaddress": "192.0.2.5", "auth": auth_version}
        with pytest.raises(ChefAuthError):  # 403: a node may not write another node
            as_node.update_node(as_node.get_node(other))
    admin.delete_node(name)
    admin.delete_node(other)
    admin.delete_client(name)
    assert not admin.client_exists(name)


def test_client_with_own_public_key_and_validator_bootstrap(chef_server, prefix):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    admin = chef_server.admin()
    created = admin.create_client(f"{prefix}-own", public_key=public)
    assert created["private_key"] is None
    chef_server.client(f"{prefix}-own", private).create_node(new_node(f"{prefix}-own"))
    validator = chef_server.client("chef-validator", chef_server.validator_key_path)
    booted = validator.create_client(f"{prefix}-boot")
    chef_server.client(f"{prefix}-boot", booted["private_key"]).create_node(new_node(f"{prefix}-boot"))
    for name in (f"{prefix}-own", f"{prefix}-boot"):
        admin.delete_node(name)
        admin.delete_client(name)


def test_rekey_invalidates_the_old_key(chef_server, prefix):
    admin = chef_server.admin()
    name = f"{prefix}-rk"
    old_key = admin.create_client(name)["private_key"]
    chef_server.client(name, old_key).get(f"/clients/{name}")
    new_key = admin.rekey_client(name)
    assert new_key != old_key and new_key.startswith("-----BEGIN")
    with pytest.raises(ChefAuthError) as info:
        chef_server.client(name, old_key).get(f"/clients/{name}")
    assert info.value.status == 401 and "BEGIN" not in str(info.value)
    assert chef_server.client(name, new_key).get_client(name)["name"] == name
    admin.delete_client(name)


def test_data_bags(chef_server, prefix):
    admin = chef_server.admin()
    bag = f"{prefix}_secrets"
    assert admin.create_data_bag(bag) is True
    assert admin.create_data_bag(bag) is False
    assert admin.upsert_item(bag, {"id": "mysql", "password": {"encrypted_data": "xx", "iv": "yy"}})
    assert admin.upsert_item(bag, {"id": "mysql", "password": "changed"}) is False
    assert admin.upsert_item(bag, {"id": "rabbit", "cookie": "c"})
    assert admin.list_data_bag(bag) == ["mysql", "rabbit"]
    assert admin.get_item(bag, "mysql")["password"] == "changed"
    assert bag in admin.list_data_bags()
    admin.delete_item(bag, "rabbit")
    assert admin.list_data_bag(bag) == ["mysql"]
    with pytest.raises(ValueError, match="'id'"):
        admin.upsert_item(bag, {"password": "no id"})
    admin.delete_data_bag(bag)
    with pytest.raises(ChefNotFound):
        admin.list_data_bag(bag)


def test_search_pages_past_the_page_size(chef_server, prefix):
    admin = chef_server.admin()
    environment = f"{prefix}_search"
    admin.upsert_environment({"name": environment})
    names = [f"{prefix}-s{index:02d}" for index in range(25)]
    for name in names:
        admin.create_node(new_node(name, environment, ["role[web]"], {"ipaddress": f"10.0.0.{len(name)}"}))
    query = f"chef_environment:{environment}"
    # goiardi indexes asynchronously: the search is complete only after a while.
    found = wait_until(lambda: sorted(n["name"] for n in admin.search("node", query, rows=10)),
                       30, "search returns all 25 nodes across pages of 10",
                       until=lambda listed: listed == names)
    assert found == names
    rows = list(admin.search("node", query, rows=10))
    assert len(rows) == 25 and len({row["name"] for row in rows}) == 25
    assert len(list(admin.search("node", f"{query} AND role:web", rows=7))) == 25
    partial = list(admin.partial_search("node", f"name:{names[3]}",
                                        {"env": ["chef_environment"], "name": ["name"]}))
    assert partial == [{"env": environment, "name": names[3]}]
    for name in names:
        admin.delete_node(name)
    admin.delete_environment(environment)


def write_cookbook(root, name, version, depends=None, extra_files=None):
    directory = root / f"{name}-{version}"
    (directory / "recipes").mkdir(parents=True)
    lines = [f"name '{name}'", f"version '{version}'", "maintainer 'Tests'", "license 'Apache-2.0'",
             "description 'test cookbook'", "chef_version '>= 15.0'", "supports 'debian'",
             "source_url 'https://example.invalid/x'", "issues_url 'https://example.invalid/x/issues'"]
    lines += [f"depends '{dep}', '{constraint}'" for dep, constraint in (depends or {}).items()]
    (directory / "metadata.rb").write_text("\n".join(lines) + "\n")
    (directory / "recipes" / "default.rb").write_text(f"log '{name} {version}'\n")
    (directory / "recipes" / "extra.rb").write_text("log 'extra'\n")
    for relative, content in (extra_files or {}).items():
        (directory / relative).parent.mkdir(parents=True, exist_ok=True)
        (directory / relative).write_bytes(content)
    return directory


def test_cookbook_upload_is_binary_safe_and_skips_unchanged(chef_server, prefix, tmp_path):
    admin = chef_server.admin()
    blob = bytes(range(256)) * 40 + b"\x00\xff\r\n"
    directory = write_cookbook(tmp_path, f"{prefix}_bin", "1.2.0", extra_files={
        "files/default/blob.bin": blob, "templates/default/app.conf.erb": b"port <%= @port %>\n",
        "templates/debian/app.conf.erb": b"debian\n", ".git/HEAD": b"x", "spec/a_spec.rb": b"x"})
    assert upload_cookbook(admin, directory) == "uploaded"
    assert upload_cookbook(admin, directory) == "unchanged"
    assert admin.list_cookbooks()[f"{prefix}_bin"] == ["1.2.0"]
    manifest = admin.get_cookbook(f"{prefix}_bin", "1.2.0")
    assert manifest["metadata"]["dependencies"] == {}
    assert manifest["metadata"]["platforms"] == {"debian": ">= 0.0.0"}
    (blob_entry,) = manifest["files"]
    assert admin.fetch_file(blob_entry["url"]) == blob
    templates = {entry["path"]: entry["specificity"] for entry in manifest["templates"]}
    assert templates == {"templates/default/app.conf.erb": "default",
                         "templates/debian/app.conf.erb": "debian"}
    paths = {entry["path"] for segment in ("recipes", "root_files") for entry in manifest[segment]}
    assert paths == {"recipes/default.rb", "recipes/extra.rb", "metadata.rb"}
    (directory / "recipes" / "default.rb").write_text("log 'changed'\n")
    assert upload_cookbook(admin, directory) == "uploaded"
    (entry,) = [e for e in admin.get_cookbook(f"{prefix}_bin", "1.2.0")["recipes"]
                if e["name"] == "default.rb"]
    assert admin.fetch_file(entry["url"]) == b"log 'changed'\n"
    admin.delete_cookbook(f"{prefix}_bin", "1.2.0")
    with pytest.raises(ChefNotFound):
        admin.get_cookbook(f"{prefix}_bin", "1.2.0")


def test_depsolver_expands_roles_and_reports_missing_cookbooks(chef_server, prefix, tmp_path):
    from deployer.chef.cookbooks import upload_all
    admin = chef_server.admin()
    app, lib = f"{prefix}_app", f"{prefix}_lib"
    write_cookbook(tmp_path, app, "1.0.0", depends={lib: ">= 1.0.0"})
    write_cookbook(tmp_path, lib, "1.0.0")
    write_cookbook(tmp_path, lib, "2.1.0")
    results = upload_all(admin, tmp_path)
    assert sorted(results.values()) == ["uploaded"] * 3
    env = f"{prefix}_env"
    admin.upsert_environment({"name": env})
    admin.upsert_role({"name": f"{prefix}_base", "run_list": [f"recipe[{lib}]"]})
    admin.upsert_role({"name": f"{prefix}_primary",
                       "run_list": [f"role[{prefix}_base]", f"recipe[{app}]"],
                       "env_run_lists": {env: [f"role[{prefix}_base]", f"recipe[{app}::extra]"]}})
    assert admin.expand_run_list("_default", [f"role[{prefix}_primary]"]) == [lib, app]
    assert admin.expand_run_list(env, [f"role[{prefix}_primary]"]) == [lib, f"{app}::extra"]
    assert admin.solve(env, [f"role[{prefix}_primary]"]) == {app: "1.0.0", lib: "2.1.0"}
    assert admin.solve("_default", [f"recipe[{lib}@1.0.0]"]) == {lib: "1.0.0"}
    with pytest.raises(ChefDependencyError) as info:
        admin.solve(env, [f"role[{prefix}_primary]", f"recipe[{prefix}_missing]"])
    assert info.value.status == 412
    assert info.value.non_existent_cookbooks == [f"{prefix}_missing"]
    assert f"{prefix}_missing" in str(info.value)
    with pytest.raises(RunListError, match=f"{prefix}_nope"):
        admin.solve(env, [f"role[{prefix}_nope]"])
    for name in (f"{prefix}_primary", f"{prefix}_base"):
        admin.delete_role(name)
    admin.delete_environment(env)


def test_errors_map_to_exception_classes(chef_server, prefix, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    admin = chef_server.admin()
    with pytest.raises(ChefNotFound) as info:
        admin.get_role(f"{prefix}-absent")
    assert info.value.status == 404 and info.value.method == "GET"
    admin.upsert_role({"name": f"{prefix}-dup"})
    with pytest.raises(ChefConflict):
        admin.post("/roles", {"name": f"{prefix}-dup"})
    admin.delete_role(f"{prefix}-dup")
    wrong_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(ChefAuthError) as info:
        ChefServer(chef_server.url, "admin", wrong_key).list_nodes()
    assert info.value.status == 401
    with pytest.raises(ChefUnavailable) as info:
        ChefServer(f"http://127.0.0.1:{free_port()}", "admin", chef_server.admin_key_path,
                   timeout=2).list_nodes()
    assert info.value.status is None
    # goiardi answers unknown routes (e.g. Chef 12 organizations) with an empty 200
    assert admin.get("/organizations/none/nodes") is None


def test_expand_run_list_is_a_pure_function():
    roles = {
        "base": {"run_list": ["recipe[ntp]", "role[common]"]},
        "common": {"run_list": ["ntp", "recipe[users]", "role[base]"]},  # cycle back to base
        "db": {"run_list": ["recipe[mysql]"], "env_run_lists": {"prod": ["recipe[galera@2.0.0]"]}},
    }
    expansion = expand_run_list(["role[base]", "role[db]", "recipe[ntp]"], "prod", roles.get)
    assert expansion == ["ntp", "users", "galera@2.0.0"]
    assert expansion.roles == ["base", "common", "db"]
    assert expand_run_list(["role[db]"], "_default", roles.get) == ["mysql"]
    with pytest.raises(RunListError, match="'gone'.*base -> common"):
        expand_run_list(["role[base]"], "x", {**roles, "common": {"run_list": ["role[gone]"]}}.get)
    with pytest.raises(RunListError, match="recipe\\[broken"):
        expand_run_list(["recipe[broken"], "x", roles.get)


def test_metadata_rb_is_evaluated_like_knife_and_errors_name_the_line(tmp_path):
    from deployer.chef.cookbooks import CookbookError, read_metadata
    directory = write_cookbook(tmp_path, "meta", "2.0", depends={"lib": "~> 1.2"})
    metadata = read_metadata(directory)
    assert metadata["version"] == "2.0.0"
    assert metadata["dependencies"] == {"lib": "~> 1.2"}
    assert metadata["chef_versions"] == [[">= 15.0"]]
    assert metadata["issues_url"] == "https://example.invalid/x/issues"
    with open(directory / "metadata.rb", "a") as handle:
        handle.write("frobnicate 'x'\n")
    with pytest.raises(CookbookError, match=r"metadata.rb:11: .*unsupported metadata method 'frobnicate'"):
        read_metadata(directory)
    (directory / "metadata.json").write_text('{"name": "meta", "version": "3.0.0"}')
    assert read_metadata(directory)["version"] == "3.0.0"
