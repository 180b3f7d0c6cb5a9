"""What the controllers say about their clusters, asked over SSH (and HAProxy's stats page).

``Controllers`` answers the questions a certification asks before and after
each fault: who holds a VIP, which Galera node HAProxy writes to, which
RabbitMQ node leads the RPC queues, and whether every cluster is whole
(Galera Synced N/N, RabbitMQ N running, each VIP held once, every HAProxy
backend UP, every Pacemaker node online and its resources settled: each
started once, none failed, no transition under way).
"""
from __future__ import annotations

import csv
import io
import json
import logging
import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import requests

from deployer.bootstrap.contract import NodeTarget
from deployer.bootstrap.ssh import SSHConnection, SSHError

LOG = logging.getLogger(__name__)
GALERA_LISTENER = "mysql-cluster"       # deployer_haproxy: the 3306 listener on the DB VIP
RPC_QUEUE = "conductor"                 # nova-conductor's topic queue
NOT_PROXIES = ("stats", "monitor")
HAPROXY_ADMIN_SOCKET = "/run/haproxy/admin.sock"   # deployer_haproxy's ['global']['stats_socket']
_STICK_ENTRY = re.compile(r"\bserver_id=(\d+)(?:\s+server_key=(\S+))?")


def show_writer(listener: str = GALERA_LISTENER) -> str:
    """The shell command that prints a Galera listener's stick table (deployer_haproxy, no
    failback: which server writes now). Python, not socat: every OpenStack controller has it."""
    return (f"python3 - <<'EOF'\nimport socket\nsock = socket.socket(socket.AF_UNIX)\n"
            f"sock.connect({HAPROXY_ADMIN_SOCKET!r})\n"
            f"sock.sendall(b'show table {listener}\\n')\nprint(sock.makefile().read())\nEOF")


class NodeUnreachable(Exception):
    pass


@dataclass
class Controller:
    name: str
    address: str
    ssh: NodeTarget


class Shell:
    """One SSH connection per node, reopened when a fault broke it."""

    def __init__(self, targets: dict[str, NodeTarget]):
        self._targets = targets
        self._connections: dict[str, SSHConnection] = {}
        self._lock = threading.Lock()

    def run(self, node: str, command: str, timeout: float = 30.0) -> tuple[int, str]:
        for attempt in (1, 2):
            connection = self._connection(node)
            output: list[str] = []
            try:
                status = connection.run(command, timeout=timeout,
                                        on_output=lambda stream, text: output.append(text)
                                        if stream == "stdout" else None)
                return status, "".join(output)
            except SSHError as exc:
                self._drop(node)
                if attempt == 2:
                    raise NodeUnreachable(f"{node}: {exc}") from None
        raise AssertionError("unreachable")

    def put_file(self, node: str, data: bytes, path: str, mode: int = 0o600) -> None:
        try:
            self._connection(node).put_file(data, path, mode)
        except SSHError as exc:
            self._drop(node)
            raise NodeUnreachable(f"{node}: {exc}") from None

    def _connection(self, node: str) -> SSHConnection:
        with self._lock:
            connection = self._connections.get(node)
        if connection is None:
            try:
                connection = SSHConnection.open(self._targets[node])
            except SSHError as exc:
                raise NodeUnreachable(f"{node}: {exc}") from None
            with self._lock:
                self._connections[node] = connection
        return connection

    def _drop(self, node: str) -> None:
        with self._lock:
            connection = self._connections.pop(node, None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        for node in list(self._connections):
            self._drop(node)


class Controllers:
    def __init__(self, controllers: list[Controller], vips: dict[str, str], stats_port: int = 1936,
                 stats_uri: str = "/haproxy?stats"):
        self.controllers = {c.name: c for c in controllers}
        self.vips = vips                          # cluster ("api", "db") -> address
        self.stats_url = f"http://{{address}}:{stats_port}{stats_uri};csv"
        self.shell = Shell({c.name: c.ssh for c in controllers})

    @property
    def names(self) -> list[str]:
        return list(self.controllers)

    def run(self, node: str, command: str, timeout: float = 30.0) -> str:
        """stdout of ``command`` as root on ``node``; raises unless it exits 0."""
        status, output = self.shell.run(node, command, timeout)
        if status != 0:
            raise RuntimeError(f"{node}: `{command}` exited {status}")
        return output

    # --- who does what ---------------------------------------------------------
    def vip_holders(self, cluster: str) -> list[str]:
        vip = self.vips[cluster]
        holders = []
        for name in self.names:
            try:
                if f" {vip}/" in self.run(name, "ip -o -4 addr show", timeout=10):
                    holders.append(name)
            except (NodeUnreachable, RuntimeError):
                continue
        return holders

    def galera_writer(self) -> str:
        """The server HAProxy sends the DB VIP's writes to, as the DB VIP holder's HAProxy
        sees it: the one its stick table holds when that one is UP (no failback), else the
        UP non-backup server of the Galera listener."""
        holders = self.vip_holders("db")
        if len(holders) != 1:
            raise RuntimeError(f"the DB VIP is held by {holders or 'no controller'}")
        rows = [row for row in self.haproxy_servers(holders[0]) if row["pxname"] == GALERA_LISTENER]
        stuck = stick_table_server(self.run(holders[0], show_writer(), timeout=15), rows)
        if stuck and any(row["svname"] == stuck and row["status"] == "UP" for row in rows):
            return stuck
        active = [row["svname"] for row in rows if row["bck"] == "0" and row["status"] == "UP"]
        if len(active) != 1:
            raise RuntimeError(f"HAProxy on {holders[0]} has {len(active)} active Galera servers")
        return active[0]

    def rpc_leader(self) -> str:
        """The RabbitMQ node leading (quorum) or mastering (classic) nova-conductor's queue."""
        for name in self.names:
            try:
                queues = json.loads(self.run(
                    name, "rabbitmqctl list_queues name type leader pid --formatter json -q", timeout=30))
            except (NodeUnreachable, RuntimeError, ValueError):
                continue
            for queue in queues:
                if queue.get("name") == RPC_QUEUE:
                    owner = queue.get("leader") or queue.get("pid") or ""
                    match = re.search(r"rabbit@([\w.-]+?)(?:\.\d+)*>?$", str(owner).strip("<>"))
                    if match and match.group(1).split(".")[0] in self.controllers:
                        return match.group(1).split(".")[0]
        raise RuntimeError(f"no RabbitMQ node answers for queue {RPC_QUEUE!r}")

    def haproxy_servers(self, name: str) -> list[dict]:
        url = self.stats_url.format(address=self.controllers[name].address)
        response = requests.get(url, timeout=5)
        response.raise_for_status()
        rows = csv.DictReader(io.StringIO(response.text.lstrip("# ")))
        return [row for row in rows if row["svname"] not in ("FRONTEND", "BACKEND")
                and row["pxname"] not in NOT_PROXIES]

    # --- whole -----------------------------------------------------------------
    def problems(self) -> list[str]:
        """What keeps the clusters from being whole ([] = whole)."""
        found: list[str] = []
        count = str(len(self.controllers))
        expected_rabbits = {f"rabbit@{name}" for name in self.names}
        for name in self.names:
            try:
                status = dict(line.split("\t", 1) for line in self.run(
                    name, "mariadb -N -B -e \"SHOW GLOBAL STATUS LIKE 'wsrep_%'\"", timeout=15).splitlines()
                    if "\t" in line)
                galera = (status.get("wsrep_cluster_size"), status.get("wsrep_local_state_comment"),
                          status.get("wsrep_cluster_status"))
                if galera != (count, "Synced", "Primary"):
                    found.append(f"{name}: Galera {'/'.join(map(str, galera))}")
                rabbit = json.loads(self.run(name, "rabbitmqctl cluster_status --formatter json -q", timeout=30))
                running = set(rabbit.get("running_nodes", []))
                if running != expected_rabbits:
                    found.append(f"{name}: RabbitMQ running {sorted(running)}")
                down = [f"{row['pxname']}/{row['svname']}" for row in self.haproxy_servers(name)
                        if row["status"] != "UP"]
                if down:
                    found.append(f"{name}: HAProxy backends not UP: {', '.join(down[:5])}")
            except (NodeUnreachable, RuntimeError, ValueError, requests.RequestException) as exc:
                found.append(f"{name}: {str(exc).splitlines()[0][:200]}")
        for cluster in self.vips:
            holders = self.vip_holders(cluster)
            if len(holders) != 1:
                found.append(f"{cluster} VIP held by {holders or 'nobody'}")
        try:
            found += pacemaker_problems(self.run(self.names[0], "crm_mon -1 --output-as=xml", timeout=30),
                                        self.names)
            dc_state = self.run(self.names[0], "crmadmin -q -S \"$(crmadmin -q -D)\"", timeout=30)
            if dc_state.strip() != "S_IDLE":
                found.append(f"Pacemaker transition under way: {dc_state.strip()[:80]}")
        except (NodeUnreachable, RuntimeError) as exc:
            found.append(f"Pacemaker: {str(exc)[:200]}")
        return found

    def close(self) -> None:
        self.shell.close()


def pacemaker_problems(crm_mon_xml: str, names: list[str]) -> list[str]:
    """What keeps Pacemaker from being settled, from ``crm_mon --output-as=xml``: a node not
    online, a resource stopped or failed, or one outside a clone running on other than one node
    (a thawed node's copy beside the one started while it hung)."""
    root = ET.fromstring(crm_mon_xml)
    found = []
    online = sorted(n.get("name") for n in root.iterfind("./nodes/node") if n.get("online") == "true")
    if online != sorted(names):
        found.append(f"Pacemaker nodes online: {online}")
    resources = root.find("./resources")
    for parent in [resources, *resources.iterfind("group")] if resources is not None else []:
        for resource in parent.iterfind("resource"):
            where = [n.get("name") for n in resource.iterfind("node")]
            if resource.get("failed") == "true" or resource.get("role") != "Started" or len(where) != 1:
                found.append(f"Pacemaker {resource.get('id')}: {resource.get('role')} on {where or 'no node'}"
                             + (" (failed)" if resource.get("failed") == "true" else ""))
    for clone in resources.iterfind("clone") if resources is not None else []:
        for resource in clone.iter("resource"):
            if resource.get("failed") == "true" or resource.get("active") != "true":
                found.append(f"Pacemaker {clone.get('id')}/{resource.get('id')}: {resource.get('role')}")
    return found


def stick_table_server(table: str, rows: list[dict]) -> str | None:
    """The server a ``show table`` answer names (server_key, or server_id as the stats'
    sid); None for an empty table (no failover yet, or the failback mode: no table)."""
    match = _STICK_ENTRY.search(table)
    if not match:
        return None
    if match.group(2):
        return match.group(2)
    return next((row["svname"] for row in rows if row.get("sid") == match.group(1)), None)
