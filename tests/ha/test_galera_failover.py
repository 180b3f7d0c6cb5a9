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

import pytest

from tests.ha.conftest import require_ha
from tests.ha.scenarios import build_galera, galera_overcloud, kill_galera_writer

pytestmark = pytest.mark.ha


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
