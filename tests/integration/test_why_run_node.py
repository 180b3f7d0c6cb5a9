"""A why-run node run on a real systemd test node against goiardi: converge a small cookbook,
then run it why-run in another environment (as a why-run plan's temporary one) and check the
output says what would change, parsed as the plan parses it, while the node's files, the
Chef node object and the node's client key stay as they were."""
from __future__ import annotations

import pytest

from deployer.bootstrap.contract import SUCCEEDED, WHY_RUN, ChefInstallSource, NodeTarget, RunSpec
from deployer.bootstrap.runner import execute
from deployer.chef.cookbooks import upload_cookbook
from deployer.whyrun.output import parse
from tests.fixtures.chef import relay_for_nodes
from tests.fixtures.common import require_root_and
from tests.integration.test_bootstrap import STANDIN, Collect

pytestmark = pytest.mark.timeout(300)

LIVE, PLANNED = "wr_live", "_whyrun-0123456789ab"
RECIPE = """
directory '/etc/wr_probe'
template '/etc/wr_probe/probe.conf' do
  source 'probe.conf.erb'
  variables debug: node['site']['debug']
  notifies :run, 'execute[reload probe]', :delayed
end
file '/etc/wr_probe/secret.conf' do
  content "password = #{node['site']['password']}\\n"
  sensitive true
end
execute 'reload probe' do
  command ['touch', '/etc/wr_probe/reloaded']
  action :nothing
end
"""


@pytest.fixture(scope="module")
def node(test_nodes_factory):
    require_root_and("socat")
    node_set = test_nodes_factory(1)
    yield node_set, node_set.nodes()[0]
    test_nodes_factory.discard(node_set)


@pytest.fixture(scope="module")
def admin(chef_server, tmp_path_factory):
    chef = chef_server.admin()
    cookbook = tmp_path_factory.mktemp("cookbooks") / "wr_probe"
    (cookbook / "recipes").mkdir(parents=True)
    (cookbook / "templates" / "default").mkdir(parents=True)
    (cookbook / "metadata.rb").write_text("name 'wr_probe'\nversion '0.1.0'\n")
    (cookbook / "recipes" / "default.rb").write_text(RECIPE)
    (cookbook / "templates" / "default" / "probe.conf.erb").write_text(
        "[DEFAULT]\ndebug = <%= @debug %>\nkeep = 1\n")
    upload_cookbook(chef, cookbook)
    chef.upsert_environment({"name": LIVE, "default_attributes": {
        "site": {"debug": False, "password": "live-Secret-1"}}})
    chef.upsert_environment({"name": PLANNED, "default_attributes": {
        "site": {"debug": True, "password": "planned-Secret-2"}}})
    yield chef
    for name in (LIVE, PLANNED):
        chef.delete_environment(name)
    chef.close()


def spec(node, chef_url: str, **changes) -> RunSpec:
    values = dict(node_name="wr-node", run_list=["recipe[wr_probe]"], environment=LIVE,
                  target=NodeTarget(address=node.ip, port=node.port, user=node.username,
                                    password=node.password, connect_timeout=5.0),
                  chef_server_url=chef_url, timeout=120.0,
                  install=ChefInstallSource(kind="copy", location=str(STANDIN)))
    return RunSpec(**{**values, **changes})


def files_of(node) -> str:
    """Every file's checksum, and every file's and directory's mtime, mode and owner."""
    return node.exec("find /etc/wr_probe /etc/chef -type f -print0 | sort -z | xargs -0 sha256sum; "
                     "find /etc/wr_probe /etc/chef -printf '%p %T@ %m %U\\n' | sort").stdout


def test_a_why_run_says_what_would_change_and_changes_nothing(node, admin, chef_server):
    node_set, node = node
    with relay_for_nodes(chef_server.url, f"{node_set.subnet}.1") as chef_url:
        converged = execute(spec(node, chef_url), Collect(), admin)
        assert converged.status == SUCCEEDED, converged.reason
        before, chef_node = files_of(node), admin.get_node("wr-node")

        reporter = Collect()
        result = execute(spec(node, chef_url, environment=PLANNED, action=WHY_RUN, install=None),
                         reporter, admin)
    assert result.status == SUCCEEDED, result.reason
    assert reporter.phases == ["connect", "converge"]
    assert f"chef-client -W -E {PLANNED} -o 'recipe[wr_probe]'" in reporter.text
    assert files_of(node) == before                      # the notified execute did not run
    assert node.exec("ls -a /etc/wr_probe").stdout.split() == [".", "..", "probe.conf", "reloaded",
                                                                "secret.conf"]
    assert admin.get_node("wr-node") == chef_node        # not saved: environment, run-list, automatic

    found = parse(reporter.text)
    files = {f["path"]: f for f in found.files}
    assert set(files) == {"/etc/wr_probe/probe.conf", "/etc/wr_probe/secret.conf"}
    probe = files["/etc/wr_probe/probe.conf"]
    assert "-debug = false" in probe["diff"] and "+debug = true" in probe["diff"]
    assert files["/etc/wr_probe/secret.conf"]["sensitive"] and not files["/etc/wr_probe/secret.conf"]["diff"]
    assert "planned-Secret-2" not in reporter.text and "live-Secret-1" not in reporter.text
    assert found.other == [{"resource": "execute[reload probe]", "action": "run",
                            "changes": ['execute ["touch", "/etc/wr_probe/reloaded"]']}]
    assert (found.would_update, found.resources) == (3, 4)
