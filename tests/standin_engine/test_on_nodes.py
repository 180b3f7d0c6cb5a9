"""Resources that need a real Debian 12 node: apt packages and systemd services.

Runs the stand-in on a systemd test node (tests/fixtures/nodes.py), in local
mode with a small chef-repo written onto the node.  Follows
docs.chef.io/resources/package/ and Chef's lib/chef/provider/package/apt.rb
(dpkg state, apt-cache policy candidate, a virtual package with one provider
resolves to it, apt's own error for an unknown package) and
docs.chef.io/resources/service/ with lib/chef/provider/service/systemd.rb
(state from systemctl, enable/start/stop/disable through systemctl).
"""
import json
import textwrap
import time

import pytest

from tests.standin_engine.repo import CHEF_CLIENT

pytestmark = [pytest.mark.integration]

CLIENT_RB = """\
node_name 'engine-on-node'
cookbook_path ['/root/repo/cookbooks']
node_path '/root/repo/nodes'
file_cache_path '/root/repo/cache'
"""


def _put(node, path: str, text: str) -> None:
    result = node.exec(["sh", "-c", f"mkdir -p \"$(dirname '{path}')\" && cat > '{path}'"], input=text)
    assert result.returncode == 0, result.stderr


def _converge(node, recipe: str):
    _put(node, "/root/repo/cookbooks/n/metadata.rb", "name 'n'\nversion '1.0.0'\n")
    _put(node, "/root/repo/cookbooks/n/recipes/default.rb", textwrap.dedent(recipe))
    result = node.exec(["/usr/local/bin/chef-client", "-z", "-c", "/root/repo/client.rb",
                        "-j", "/root/repo/first-boot.json"], timeout=300)
    return result.returncode, result.stdout + result.stderr


def _settled_state(node, unit: str) -> str:
    deadline = time.monotonic() + 20
    while (state := node.exec(["systemctl", "is-active", unit]).stdout.strip()) in ("reloading", "activating") \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    return state


@pytest.fixture(scope="module")
def node(test_nodes_factory):
    node = test_nodes_factory(1).nodes()[0]
    _put(node, "/usr/local/bin/chef-client", CHEF_CLIENT.read_text())
    assert node.exec(["chmod", "0755", "/usr/local/bin/chef-client"]).returncode == 0
    _put(node, "/root/repo/client.rb", CLIENT_RB)
    _put(node, "/root/repo/first-boot.json", json.dumps({"run_list": ["recipe[n]"]}))
    assert node.exec(["test", "-d", "/run/systemd/system"]).returncode == 0, "the node must boot systemd"
    return node


def test_packages_and_a_systemd_service(node):
    assert node.exec(["systemctl", "is-enabled", "haproxy"]).stdout.strip() != "enabled"
    recipe = """
        package %w(haproxy nova-novncproxy)
        service 'haproxy' do
          action [:enable, :start]
        end
        """
    rc, out = _converge(node, recipe)
    assert rc == 0, out
    assert "nova-novncproxy is a virtual package, actually acting on package[nova-consoleproxy]" in out
    assert "* apt_package[haproxy, nova-novncproxy] action install (up to date)" in out
    assert "- enable service service[haproxy]" in out and "- start service service[haproxy]" in out
    assert node.exec(["systemctl", "is-enabled", "haproxy"]).stdout.strip() == "enabled"
    assert node.exec(["systemctl", "is-active", "haproxy"]).stdout.strip() == "active"

    rc, out = _converge(node, recipe)
    assert rc == 0, out
    assert "Chef Infra Client finished, 0/2 resources updated" in out

    # restart and reload come through notifications; reload of a running unit reloads it
    main_pid = node.exec(["systemctl", "show", "-p", "MainPID", "--value", "haproxy"]).stdout.strip()
    rc, out = _converge(node, """
        file '/etc/standin-marker' do
          content 'changed'
          notifies :restart, 'service[haproxy]', :immediately
          notifies :reload, 'service[haproxy]', :delayed
        end
        service 'haproxy'
        """)
    assert rc == 0, out
    assert "- restart service service[haproxy]" in out and "- reload service service[haproxy]" in out
    assert node.exec(["systemctl", "show", "-p", "MainPID", "--value", "haproxy"]).stdout.strip() != main_pid
    assert _settled_state(node, "haproxy") == "active"   # `systemctl reload` returns while it is "reloading"

    rc, out = _converge(node, """
        service 'haproxy' do
          action [:stop, :disable]
        end
        """)
    assert rc == 0, out
    assert node.exec(["systemctl", "is-active", "haproxy"]).stdout.strip() != "active"
    assert node.exec(["systemctl", "is-enabled", "haproxy"]).stdout.strip() == "disabled"


def test_a_missing_unit_fails_with_systemctl_error(node):
    rc, out = _converge(node, "\nservice 'apache2' do\n  action [:enable, :start]\nend\n")
    assert rc == 1
    assert "apache2.service does not exist" in out or "Unit apache2.service not found" in out, out
    assert "service[apache2] (n::default line 2) had an error" in out.splitlines()[-1]


def test_an_unknown_package_fails_with_apt_error(node):
    rc, out = _converge(node, "\npackage 'no-such-package-standin'\n")
    assert rc == 1
    assert "E: Unable to locate package no-such-package-standin" in out
    assert "apt_package[no-such-package-standin] (n::default line 2" in out.splitlines()[-1]


def test_sysctl_applies_and_persists_a_value(node):
    """docs.chef.io/resources/sysctl/: the value is set now and written to /etc/sysctl.d."""
    node.exec(["sysctl", "-w", "net.ipv4.ip_nonlocal_bind=0"])
    recipe = "\nsysctl 'net.ipv4.ip_nonlocal_bind' do\n  value 1\nend\n"
    rc, out = _converge(node, recipe)
    assert rc == 0, out
    assert node.exec(["sysctl", "-n", "net.ipv4.ip_nonlocal_bind"]).stdout.strip() == "1"
    assert node.read_file("/etc/sysctl.d/99-chef-net.ipv4.ip_nonlocal_bind.conf") == "net.ipv4.ip_nonlocal_bind = 1\n"
    rc, out = _converge(node, recipe)
    assert rc == 0, out
    assert "* sysctl[net.ipv4.ip_nonlocal_bind] action apply (up to date)" in out
