"""deployer.whyrun.output: chef-client's why-run output -> files, services and other changes."""
from __future__ import annotations

import pytest

from deployer.whyrun.output import WhyRunOutputError, parse

# As chef-client's doc formatter prints it (and the stand-in), through a terminal.
OUTPUT = """\
Starting Chef Infra Client, version 18.0.0-standin (STAND-IN, tests/standin; not the real chef-client)
WARN: why-run mode: nothing will be changed
[2026-12-06T10:00:00+00:00] INFO: Run List is [role[allinone]]
Compiling Cookbooks...
Converging 412 resources
Recipe: deployer_common::default
  * directory[/etc/deployer] action create (up to date)
  * execute[apt-get update] action run (skipped due to not_if)
Recipe: deployer_roles::allinone
  * deployer_openstack_service[nova] action configure
    * template[/etc/nova/nova.conf] action create
      - Would update content in file /etc/nova/nova.conf from 1a2b3c4d to 5e6f7a8b
        --- /etc/nova/nova.conf
        +++ new content
        @@ -1,3 +1,3 @@
         [DEFAULT]
        -debug = False
        +debug = True
        - indented = line removed
    * template[/etc/nova/api-paste.ini] action create (up to date)
     (up to date)
  * template[/etc/keystone/keystone.conf] action create
    - Would update content in file /etc/keystone/keystone.conf from 0a0a0a0a to 1b1b1b1b
    - Would suppressed sensitive resource
  * file[/etc/motd] action create
    - Would create new file /etc/motd
    - Would update content in file /etc/motd from none to 9c9c9c9c
    - Would change mode from '' to '0644'
  * execute[nova-manage cell_v2 discover_hosts] action run
    - Would execute ["nova-manage", "cell_v2", "discover_hosts"]
  * service[nova-api] action restart
    - Would restart service service[nova-api]
  * service[nova-api] action start (up to date)
  * service[apache2] action reload
    - Would reload service service[apache2]
\r
Running handlers:\r
Running handlers complete\r
Chef Infra Client finished, 6/412 resources would have been updated in 31 seconds\r
"""


def test_files_with_their_path_changes_and_diff():
    found = parse(OUTPUT)
    files = {f["path"]: f for f in found.files}
    assert list(files) == ["/etc/nova/nova.conf", "/etc/keystone/keystone.conf", "/etc/motd"]
    nova = files["/etc/nova/nova.conf"]
    assert nova["resource"] == "template[/etc/nova/nova.conf]" and nova["actions"] == ["create"]
    assert nova["changes"] == ["update content in file /etc/nova/nova.conf from 1a2b3c4d to 5e6f7a8b"]
    assert nova["diff"] == ["--- /etc/nova/nova.conf", "+++ new content", "@@ -1,3 +1,3 @@",
                            " [DEFAULT]", "-debug = False", "+debug = True",
                            "- indented = line removed"]
    assert not nova["sensitive"]
    keystone = files["/etc/keystone/keystone.conf"]
    assert keystone["sensitive"] and keystone["diff"] == []
    assert keystone["changes"] == ["update content in file /etc/keystone/keystone.conf "
                                   "from 0a0a0a0a to 1b1b1b1b"]
    assert files["/etc/motd"]["changes"][0] == "create new file /etc/motd"


def test_services_other_resources_and_counts():
    found = parse(OUTPUT)
    assert found.services == [
        {"name": "nova-api", "resource": "service[nova-api]", "actions": ["restart"]},
        {"name": "apache2", "resource": "service[apache2]", "actions": ["reload"]}]
    assert found.other == [{"resource": "execute[nova-manage cell_v2 discover_hosts]",
                            "action": "run",
                            "changes": ['execute ["nova-manage", "cell_v2", "discover_hosts"]']}]
    assert (found.would_update, found.resources) == (6, 412)
    assert found.changed
    # a custom resource that only holds changed resources is not listed itself
    assert all("deployer_openstack_service" not in o["resource"] for o in found.other)


def test_nothing_to_change():
    found = parse("  * template[/etc/a] action create (up to date)\n"
                  "Chef Infra Client finished, 0/10 resources would have been updated in 02 seconds\n")
    assert not found.changed and (found.would_update, found.resources) == (0, 10)


def test_a_run_that_did_not_finish_has_no_counts():
    found = parse("  * template[/etc/a] action create\n    - Would update content in file /etc/a from a to b\n")
    assert [f["path"] for f in found.files] == ["/etc/a"] and found.would_update is None


@pytest.mark.parametrize("text, says", [
    ("  * template[/etc/a] action create\n    - update content in file /etc/a from a to b\n",
     "reports a change made"),
    ("Chef Infra Client finished, 3/10 resources updated in 02 seconds\n", "not a why-run"),
])
def test_a_change_made_for_real_is_an_error(text, says):
    with pytest.raises(WhyRunOutputError, match=says):
        parse(text)


def test_a_file_resource_named_otherwise_takes_its_path_from_the_change():
    found = parse("  * template[nova config] action create\n"
                  "    - Would update content in file /etc/nova/nova.conf from a to b\n")
    assert [f["path"] for f in found.files] == ["/etc/nova/nova.conf"]
