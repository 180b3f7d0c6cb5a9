"""The Galera scenario on the shared test nodes: Debian servers with systemd as PID 1.

Same rendered configs and the same fault as test_galera_failover, but each
controller is a deployer test node (tests/fixtures/nodes.py): mariadbd runs as
a unit of the node's systemd, from the package-installed datadir and stock
/etc/mysql of the node's copy-on-write root, as on a real server, and the
client writes from the host over the nodes' bridge.
"""
from __future__ import annotations

import pytest

from tests.ha.conftest import require_ha
from tests.ha.rendered import vip
from tests.ha.scenarios import build_galera_on, galera_overcloud, kill_galera_writer
from tests.ha.testnode_member import TestNodeMember

pytestmark = pytest.mark.ha


@pytest.fixture(scope="module")
def galera_nodes(test_nodes_factory):
    require_ha("mariadbd", "mariadb", "rsync", "haproxy",
               files=("/usr/lib/galera/libgalera_smm.so",))
    node_set = test_nodes_factory(3)
    try:
        members = {node.name: TestNodeMember(node) for node in node_set.nodes()}
        for member in members.values():
            member.allow_nonlocal_bind()
        subnet = node_set.subnet
        oc = galera_overcloud(
            controllers={name: member.ip for name, member in members.items()},
            vips={"api": vip(f"{subnet}.100", 51, "vrrp_api"),
                  "db": vip(f"{subnet}.101", 52, "vrrp_db")})
        setup = build_galera_on(members, oc, client_netns=None)
        for member in members.values():
            state = member.run(["systemctl", "is-active", "ha-mariadbd"], check=False).stdout.strip()
            assert state == "active", f"{member.node.name}: mariadbd's unit is {state}"
        yield setup, list(members)
    finally:
        test_nodes_factory.discard(node_set)


def test_killing_the_writer_on_a_test_node_loses_no_acknowledged_write(galera_nodes,
                                                                      record_property):
    setup, names = galera_nodes
    result = kill_galera_writer(setup)
    record_property("write_outage_s", round(result.outage, 2))
    print(f"test nodes: write outage after kill -9 of the writer: {result.outage:.2f} s, "
          f"{len(result.acked)} acked")
    assert result.writer_before == names[0], "the rendered writer of the nova listener"
    for survivor, missing in result.missing.items():
        assert not missing, f"{survivor} lacks {len(missing)} acknowledged ids"
    assert result.writer_after == names[1], "the first backup server takes the writes"
