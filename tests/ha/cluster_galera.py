"""A 3-node MariaDB Galera cluster behind haproxy, in namespaces, from rendered configs.

Each DB host gets a private copy of the host's stock ``/etc/mysql`` with the
rendered server config written at the cookbook's path, and private
``/var/lib/mysql``, ``/var/log`` and ``/run``, so ``mariadbd`` runs with its
packaged defaults plus exactly what the cookbook renders.  The cluster is
bootstrapped explicitly on the chosen node and joined by the others (rsync SST).
"""
from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from dataclasses import dataclass
from typing import Protocol, Sequence

import pymysql

from tests.ha.netlab import Host, Lab, NetnsThread
from tests.ha.waiting import GiveUp, wait_until

MYSQL_DIRS = ("/etc/mysql", "/var/lib/mysql", "/var/log")  # /var/log/mysql is absent on the host
HAPROXY_DIRS = ("/etc/haproxy",)
HAPROXY_CFG = "/etc/haproxy/haproxy.cfg"
# Root runs what the package's service manager would: created here if missing.
RUNTIME_DIRS = "install -d -o mysql -g mysql /run/mysqld /var/log/mysql && install -d /run/haproxy"


class Member(Protocol):
    """A controller the cluster runs on: a lab Host or a shared test node (see adapters)."""

    ip: str

    def run(self, argv: Sequence[str], timeout: float = 60.0, env: dict | None = None,
            check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess: ...
    def spawn(self, key: str, argv: Sequence[str], env: dict | None = None) -> object: ...
    def kill(self, key: str) -> None: ...
    def running(self, key: str) -> bool: ...
    def write(self, real_path: str, text: str, mode: int = 0o644) -> object: ...
    def log_tail(self, key: str, lines: int = 30) -> str: ...
    def add_address(self, address: str) -> None: ...


def lab_members(lab: Lab, dbs: dict[str, str]) -> dict[str, Host]:
    """Lab hosts with a private copy of the stock /etc/mysql and empty private datadirs."""
    members = {}
    for name, ip in dbs.items():
        host = lab.add_host(name, ip, MYSQL_DIRS + HAPROXY_DIRS, nonlocal_bind=True)
        shutil.copytree("/etc/mysql", host.path("/etc/mysql"), dirs_exist_ok=True)
        shutil.chown(host.path("/var/lib/mysql"), "mysql", "mysql")
        members[name] = host
    return members


class GaleraCluster:
    """``members``: controller name -> Member; ``server_cnf``: name -> (path, rendered text).

    haproxy runs on ``lb_name`` (one of the controllers, as in the origin) and
    binds the DB VIP, which is put on that controller as keepalived would.
    Clients run in ``client_netns`` (None: this process's own namespace).
    """

    def __init__(self, members: dict[str, Member], server_cnf: dict[str, tuple[str, str]],
                 lb_name: str, haproxy_cfg: str, db_vip: str, client_netns: str | None):
        self.dbs = members
        for name, member in members.items():
            member.run(["sh", "-c", RUNTIME_DIRS])
            member.write(*server_cnf[name])
        self.lb = members[lb_name]
        self.lb.write(HAPROXY_CFG, haproxy_cfg)
        self.lb.add_address(db_vip)
        self.client_netns = client_netns

    def sql(self, name: str, statements: str, timeout: float = 30.0) -> list[list[str]]:
        """Run SQL as root over the node's own socket (on stdin: it may hold passwords)."""
        out = self.dbs[name].run(["mariadb", "-N", "-B"], timeout=timeout, stdin=statements).stdout
        return [line.split("\t") for line in out.splitlines()]

    def status(self, name: str, variable: str) -> str | None:
        rows = self.sql(name, f"SHOW GLOBAL STATUS LIKE '{variable}'", timeout=10)
        return rows[0][1] if rows else None

    def start_node(self, name: str, bootstrap: bool = False) -> None:
        # what galera_new_cluster adds on the bootstrap node; user etc. come from the config
        argv = ["mariadbd", *(["--wsrep-new-cluster"] if bootstrap else [])]
        self.dbs[name].spawn("mariadbd", argv)

    def wait_synced(self, name: str, cluster_size: int, timeout: float = 120.0) -> None:
        def synced() -> bool:
            if not self.dbs[name].running("mariadbd"):
                raise GiveUp(f"mariadbd on {name} exited:\n{self.dbs[name].log_tail('mariadbd')}")
            return (self.status(name, "wsrep_local_state_comment") == "Synced"
                    and self.status(name, "wsrep_cluster_size") == str(cluster_size))
        try:
            wait_until(synced, timeout=timeout, what=f"{name} to be Synced in a cluster of "
                                                     f"{cluster_size}", interval=0.5)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n{self.dbs[name].log_tail('mariadbd')}") from None

    def bootstrap(self, bootstrap_node: str, setup_sql: str) -> None:
        """Initialise the chosen node's datadir unless the package did, start a new cluster
        there, run ``setup_sql``, then join the others one at a time (each SST before the next)."""
        self.dbs[bootstrap_node].run(
            ["sh", "-c", "test -d /var/lib/mysql/mysql || mariadb-install-db --user=mysql "
                         "--skip-test-db --auth-root-authentication-method=socket"], timeout=120)
        self.start_node(bootstrap_node, bootstrap=True)
        self.wait_synced(bootstrap_node, 1)
        self.sql(bootstrap_node, setup_sql)
        for size, name in enumerate([n for n in self.dbs if n != bootstrap_node], start=2):
            self.start_node(name)
            self.wait_synced(name, size)

    def start_haproxy(self) -> None:
        self.lb.spawn("haproxy", ["haproxy", "-db", "-f", HAPROXY_CFG])

    def check_haproxy_config(self) -> None:
        self.lb.run(["haproxy", "-c", "-q", "-f", HAPROXY_CFG])


@dataclass
class WriteLog:
    acked: dict[int, float]        # id -> monotonic time of the acknowledgement
    errors: list[tuple[float, str]]


class Writer:
    """Inserts increasing ids through ``host:port`` with autocommit, recording acknowledged ids.

    Each statement is one transaction; an id counts as written only once the
    server acknowledged the commit.  On any error the client reconnects (time
    bounded by the caller's stop) and carries on with the next id.
    """

    def __init__(self, netns: str | None, host: str, port: int, user: str, password: str,
                 database: str, first_id: int = 1, interval: float = 0.005,
                 max_seconds: float = 300.0):
        self.log = WriteLog({}, [])
        self._conn_args = dict(host=host, port=port, user=user, password=password,
                               database=database, autocommit=True, connect_timeout=1,
                               read_timeout=3, write_timeout=3)
        self._first_id, self._interval, self._max_seconds = first_id, interval, max_seconds
        self._stopping = False
        self._thread = NetnsThread(netns, self._loop, name="galera-writer")

    def _loop(self) -> None:
        next_id, conn = self._first_id, None
        end = time.monotonic() + self._max_seconds
        while not self._stopping and time.monotonic() < end:
            try:
                if conn is None:
                    conn = pymysql.connect(**self._conn_args)
                with conn.cursor() as cursor:
                    cursor.execute("INSERT INTO writes (id) VALUES (%s)", (next_id,))
                self.log.acked[next_id] = time.monotonic()
                time.sleep(self._interval)  # steady load, not a CPU hog on a shared host
            except pymysql.MySQLError as exc:
                self.log.errors.append((time.monotonic(), type(exc).__name__))
                if conn is not None:
                    with contextlib.suppress(pymysql.MySQLError, OSError):
                        conn.close()
                conn = None
                time.sleep(0.05)
            next_id += 1
        if conn is not None:
            with contextlib.suppress(pymysql.MySQLError, OSError):
                conn.close()

    def __enter__(self) -> "Writer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping = True
        self._thread.join(10)
