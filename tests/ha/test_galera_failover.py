"""Galera behind haproxy, both from the rendered configs: kill -9 the writer, lose no acked write.

Three controllers in namespaces run mariadbd with the rendered 60-galera.cnf
(small memory per-node attributes), bootstrapped on the deployer-chosen node
and joined by the others over rsync SST; the cookbook's database SQL creates
the service users and the password-less haproxy_check user.  The rendered
haproxy.cfg (origin check timings) runs on the first controller with the DB
VIP.  A client writes through the nova listener (one writer, the others
backup); the writer's mariadbd is killed mid-stream.
"""
from __future__ import annotations

import time

import pytest

from deployer.certify.cluster import show_writer, stick_table_server
from tests.ha.cluster_galera import Writer
from tests.ha.conftest import require_ha
from tests.ha.scenarios import (build_galera, galera_overcloud, kill_galera_writer,
                                served_by, stored_ids)
from tests.ha.waiting import wait_until

pytestmark = pytest.mark.ha
ORIGIN_RISE_SECONDS = 2 * 2.0      # galera_overcloud's origin checks: rise 2 x inter 2000 ms


@pytest.fixture(scope="module")
def galera(lab_factory):
    require_ha("mariadbd", "mariadb-install-db", "mariadb", "rsync", "haproxy",
               files=("/usr/lib/galera/libgalera_smm.so",))
    return build_galera(lab_factory("havg"), galera_overcloud())


def test_killing_the_writer_loses_no_acknowledged_write(galera, record_property):
    result = kill_galera_writer(galera)
    record_property("write_outage_s", round(result.outage, 2))
    print(f"write outage after kill -9 of the writer: {result.outage:.2f} s, "
          f"{len(result.acked)} acked, {result.client_errors} client errors")

    assert result.writer_before == "ctl1", "the rendered writer of the nova listener"
    for survivor, missing in result.missing.items():
        assert not missing, (f"{survivor} lacks {len(missing)} acknowledged ids, "
                             f"e.g. {sorted(missing)[:5]}")
    assert result.writer_after == "ctl2", "the first backup server takes the writes"


def test_a_restarted_writer_rejoins_and_the_writes_stay_where_they_are(galera):
    """No failback: the killed node rejoins (IST) but the listener's stick table keeps the
    writes on ctl2, past the checks' rise; certify's writer query reads that table."""
    cluster = galera.cluster
    if "mariadbd" in cluster.dbs["ctl1"].processes:  # run alone: take the writer down first
        cluster.dbs["ctl1"].kill("mariadbd")
        wait_until(lambda: served_by(galera) == "ctl2", timeout=60, what="ctl2 to take the writes")
    with Writer(cluster.client_netns, galera.db_vip, galera.port, "nova", galera.password, "nova",
                first_id=1_000_000) as writer:  # above the ids the first test wrote
        wait_until(lambda: len(writer.log.acked) >= 100, timeout=30, what="writes through ctl2")
        cluster.start_node("ctl1")
        cluster.wait_synced("ctl1", cluster_size=3)
        back_at = time.monotonic()
        while time.monotonic() - back_at < 3 * ORIGIN_RISE_SECONDS:   # ctl1 is UP again meanwhile
            assert served_by(galera) == "ctl2", "the writes moved back to the rejoined node"
            time.sleep(0.5)
        wait_until(lambda: sum(t > back_at for t in writer.log.acked.values()) >= 100,
                   timeout=60, what="writes after the rejoin")
    table = cluster.lb.run(["sh", "-c", show_writer("mysql-cluster-nova")]).stdout
    assert stick_table_server(table, []) == "ctl2", table
    acked = set(writer.log.acked)
    for name in cluster.dbs:
        missing = acked - stored_ids(cluster, name)
        assert not missing, f"{name} lacks {len(missing)} acknowledged ids"
