"""Galera behind haproxy, both from the rendered configs: kill -9 the writer, lose no acked write.

Three controllers in namespaces run mariadbd with the rendered 60-galera.cnf
(small memory per-node attributes), bootstrapped on the deployer-chosen node
and joined by the others over rsync SST; the cookbook's database SQL creates
the service users and the password-less haproxy_check user.  The rendered
haproxy.cfg runs on the first controller with the DB VIP.  A client writes
through the nova listener (one writer, the others backup); the writer's
mariadbd is killed mid-stream.
"""
from __future__ import annotations

import secrets
import time

import pymysql
import pytest

from tests.ha.cluster_galera import GaleraCluster, Writer
from tests.ha.conftest import require_ha
from tests.ha.netlab import call_in_netns
from tests.ha.rendered import SMALL_GALERA_MEMORY, Overcloud, vip, vrrp_secrets
from tests.ha.waiting import wait_until

pytestmark = pytest.mark.ha

CONTROLLERS = {"ctl1": "10.252.0.11", "ctl2": "10.252.0.12", "ctl3": "10.252.0.13"}
API_VIP, DB_VIP, CLIENT_IP = "10.252.0.100", "10.252.0.101", "10.252.0.50"


def overcloud() -> Overcloud:
    return Overcloud(
        CONTROLLERS,
        vips={"api": vip(API_VIP, 51, "vrrp_api"), "db": vip(DB_VIP, 52, "vrrp_db")},
        attributes={"deployer": {"galera": {"bootstrap_node": "ctl2"}}},
        node_attributes=SMALL_GALERA_MEMORY,
        secrets=vrrp_secrets("vrrp_api", "vrrp_db"))


@pytest.fixture(scope="module")
def galera(lab_factory):
    require_ha("mariadbd", "mariadb-install-db", "mariadb", "rsync", "haproxy",
               files=("/usr/lib/galera/libgalera_smm.so",))
    oc = overcloud()
    attrs = oc.merged("deployer_galera", "ctl1")["deployer"]
    cnf_path = attrs["galera"]["config_file"]
    cluster = GaleraCluster(
        lab_factory("havg"), CONTROLLERS,
        {name: (cnf_path, oc.render("deployer_galera", "galera.cnf", name)) for name in CONTROLLERS},
        lb_name="ctl1", haproxy_cfg=oc.render("deployer_haproxy", "haproxy.cfg", "ctl1"),
        db_vip=DB_VIP, client_ip=CLIENT_IP)
    passwords = {service: secrets.token_urlsafe(12) for service in attrs["databases"]}
    database_sql = oc.helper("deployer_galera", "DeployerGalera::Helpers.database_sql", "ctl1",
                             passwords)
    cluster.bootstrap(attrs["galera"]["bootstrap_node"],
                      database_sql["apply"] + "CREATE TABLE nova.writes (id INT PRIMARY KEY);")
    for name in CONTROLLERS:  # the cookbook's own check query, on every member
        assert cluster.sql(name, database_sql["check"]) == [["1"]], name
    cluster.check_haproxy_config()
    cluster.start_haproxy()
    nova_port = attrs["databases"]["nova"]["port"]
    wait_until(lambda: served_by(cluster, nova_port, passwords["nova"]), timeout=30,
               what="haproxy to forward the nova listener")
    return cluster, nova_port, passwords["nova"]


def served_by(cluster: GaleraCluster, port: int, password: str) -> str:
    """wsrep node name of the server a new connection through the DB VIP reaches."""
    def ask() -> str:
        with pymysql.connect(host=DB_VIP, port=port, user="nova", password=password,
                             database="nova", connect_timeout=2, read_timeout=5) as conn:
            with conn.cursor() as cursor:
                cursor.execute("SELECT @@wsrep_node_name")
                return cursor.fetchone()[0]
    return call_in_netns(cluster.client.netns, ask, timeout=15)


def stored_ids(cluster: GaleraCluster, name: str) -> set[int]:
    # wsrep_sync_wait: read only after every replicated write is applied here
    rows = cluster.sql(name, "SET SESSION wsrep_sync_wait=1; SELECT id FROM nova.writes")
    return {int(row[0]) for row in rows}


def test_killing_the_writer_loses_no_acknowledged_write(galera, record_property):
    cluster, port, password = galera
    assert served_by(cluster, port, password) == "ctl1", "rendered writer of the nova listener"
    with Writer(cluster.client.netns, DB_VIP, port, "nova", password, "nova") as writer:
        wait_until(lambda: len(writer.log.acked) >= 200, timeout=30, what="writes before the fault")
        killed_at = time.monotonic()
        cluster.dbs["ctl1"].kill("mariadbd")
        wait_until(lambda: sum(t > killed_at for t in writer.log.acked.values()) >= 200,
                   timeout=90, what="writes to resume through a backup server")
    outage = writer.first_ack_after(killed_at) - killed_at
    record_property("write_outage_s", round(outage, 2))
    print(f"write outage after kill -9 of the writer: {outage:.2f} s, "
          f"{len(writer.log.acked)} acked, {len(writer.log.errors)} client errors")

    acked = set(writer.log.acked)
    for survivor in ("ctl2", "ctl3"):
        missing = acked - stored_ids(cluster, survivor)
        assert not missing, f"{survivor} lacks {len(missing)} acknowledged ids, e.g. {sorted(missing)[:5]}"
    # one writer at a time: the first backup took over
    assert served_by(cluster, port, password) == "ctl2"
