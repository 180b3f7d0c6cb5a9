"""The server side of a run, against a real Chef server (goiardi, auth on).

Follows docs.chef.io/server/api_chef_server/ (nodes, environments, roles,
environments/NAME/cookbook_versions, data bags), Chef's
lib/chef/cookbook/synchronizer.rb (every file of the resolved versions into the
file cache, checksums checked, stale files removed) and lib/chef/client.rb
(the node is saved at the end of a successful run), with requests signed as in
mixlib-authentication protocol 1.3, byte-identical to the deployer's own signer.
"""
import json
import subprocess
import textwrap
import uuid
from pathlib import Path

import pytest

from deployer.chef.cookbooks import upload_cookbook
from deployer.chef.signing import load_private_key, sign_request
from tests.standin_engine.repo import CHEF_CLIENT, STANDIN_DIR

pytestmark = [pytest.mark.integration]


def _cookbook(root: Path, name: str, marker: Path) -> Path:
    base = root / name
    files = {
        "metadata.rb": f"name '{name}'\nversion '0.3.0'\n",
        "attributes/default.rb": "default['srv']['greeting'] = 'from attributes'\n",
        "libraries/helper.rb": "module SrvHelper\n  def self.shout(s) = s.upcase\nend\n",
        "templates/default/out.erb": "<%= @greeting %> <%= @role %> <%= @secret %>\n",
        "recipes/default.rb": textwrap.dedent(f"""\
            template '{marker}' do
              source 'out.erb'
              variables(greeting: SrvHelper.shout(node['srv']['greeting']), role: node['srv']['from_role'],
                        secret: data_bag_item('srv_bag', 'item')['value'])
            end
            """),
    }
    for rel, text in files.items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text(text)
    return base


@pytest.fixture
def server_run(chef_server, tmp_path):
    admin = chef_server.admin()
    tag = uuid.uuid4().hex[:8]
    name, cookbook, env, role = f"srv-node-{tag}", f"srv_cb_{tag}", f"srv-env-{tag}", f"srv-role-{tag}"
    key = tmp_path / "client.pem"
    key.write_text(admin.create_client(name)["private_key"])
    marker = tmp_path / "out.txt"
    upload_cookbook(admin, _cookbook(tmp_path / "src", cookbook, marker))
    admin.upsert_environment({"name": env, "default_attributes": {"srv": {"from_env": "env"}}})
    admin.upsert_role({"name": role, "run_list": [f"recipe[{cookbook}]"],
                       "default_attributes": {"srv": {"from_role": "role-default"}}})
    admin.create_data_bag("srv_bag")
    admin.upsert_item("srv_bag", {"id": "item", "value": "bag-value"})
    cache = tmp_path / "cache"
    client_rb = tmp_path / "client.rb"
    client_rb.write_text(f"chef_server_url '{chef_server.url}'\nnode_name '{name}'\nclient_key '{key}'\n"
                         f"file_cache_path '{cache}'\nfile_backup_path '{tmp_path / 'backup'}'\n")
    first_boot = tmp_path / "first-boot.json"
    first_boot.write_text(json.dumps({"run_list": [f"role[{role}]"], "rack": "r1"}))

    def run():
        return subprocess.run([str(CHEF_CLIENT), "-c", str(client_rb), "-E", env, "-j", str(first_boot)],
                              capture_output=True, text=True, timeout=120)
    yield admin, name, cookbook, cache, marker, run
    for cleanup in (lambda: admin.delete(f"/nodes/{name}"), lambda: admin.delete_client(name)):
        try:
            cleanup()
        except Exception:   # noqa: BLE001 - best-effort cleanup of this test's server objects
            pass


def test_server_run_syncs_cookbooks_converges_and_saves_the_node(server_run):
    admin, name, cookbook, cache, marker, run = server_run
    result = run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0].startswith("Starting Chef Infra Client, version 18.0.0-standin (STAND-IN")
    assert marker.read_text() == "FROM ATTRIBUTES role-default bag-value\n"
    synced = sorted(str(p.relative_to(cache / "cookbooks")) for p in (cache / "cookbooks").rglob("*") if p.is_file())
    assert synced == sorted(f"{cookbook}/{rel}" for rel in (
        "metadata.rb", "attributes/default.rb", "libraries/helper.rb", "templates/default/out.erb",
        "recipes/default.rb"))
    node = admin.get_node(name)
    assert node["run_list"] == [f"role[{node['run_list'][0][5:-1]}]"] and node["chef_environment"].startswith("srv-env-")
    assert node["normal"]["rack"] == "r1"
    assert node["automatic"]["platform"] == "debian" and node["automatic"]["ipaddress"]
    assert node["automatic"]["recipes"] == [cookbook]
    assert node["default"]["srv"] == {"greeting": "from attributes", "from_env": "env", "from_role": "role-default"}
    assert "Chef Infra Client finished, 1/1 resources updated" in result.stdout


def test_cached_files_are_checked_and_stale_ones_removed(server_run):
    _admin, _name, cookbook, cache, marker, run = server_run
    assert run().returncode == 0
    recipe = cache / "cookbooks" / cookbook / "recipes" / "default.rb"
    recipe.write_text("raise 'a corrupted cache file must be replaced by the server copy'\n")
    stale = cache / "cookbooks" / cookbook / "recipes" / "stale.rb"
    stale.write_text("raise 'stale'\n")
    result = run()
    assert result.returncode == 0, result.stdout
    assert "template" in recipe.read_text()
    assert not stale.exists()
    assert "Chef Infra Client finished, 0/1 resources updated" in result.stdout


def test_request_signature_matches_the_deployer_signer(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "k.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption()))
    body = '{"run_list":["recipe[x]"]}'
    script = ("require 'standin'; h = Standin::ServerAPI.signed_headers('POST', "
              "'/organizations/o/environments/prod/cookbook_versions', ARGV[1], 'web-1', "
              "OpenSSL::PKey::RSA.new(File.read(ARGV[0])), '2026-01-02T03:04:05Z'); puts JSON.generate(h)")
    out = subprocess.run(["ruby", "-I", str(STANDIN_DIR / "lib"), "-e", script, str(pem), body],
                         capture_output=True, text=True, check=True).stdout
    ours = sign_request(method="POST", path="/organizations/o/environments/prod/cookbook_versions", body=body,
                        user_id="web-1", key=load_private_key(pem), timestamp="2026-01-02T03:04:05Z")
    assert json.loads(out) == ours
