"""A 3-node RabbitMQ cluster in namespaces, from rendered configs, clustered as the origin does.

Each node is a namespace with its own epmd and private /etc/rabbitmq,
/var/lib/rabbitmq (HOME, so the shared .erlang.cookie is found by the server and
by rabbitmqctl) and /var/log/rabbitmq; the rendered rabbitmq.conf and
advanced.config and rabbitmq-env.conf sit at their packaged paths (the env file
names the node).  Clustering follows the origin:
shared cookie, ``stop_app`` / ``join_cluster`` / ``start_app``, then the HA policy.
"""
from __future__ import annotations

import json
import os
import re
import shutil

from tests.ha.netlab import Host, Lab
from tests.ha.waiting import GiveUp, wait_until

RABBIT_DIRS = ("/etc/rabbitmq", "/var/lib/rabbitmq", "/var/log/rabbitmq")
RABBIT_BIN = "/usr/lib/rabbitmq/bin"


class RabbitCluster:
    """``nodes``: controller name -> (address, Erlang node name, {path: rendered text})."""

    def __init__(self, lab: Lab, nodes: dict[str, tuple[str, str, dict[str, str]]], cookie: str,
                 client_ip: str):
        self.nodes: dict[str, Host] = {}
        self.node_names: dict[str, str] = {}
        for name, (ip, node_name, files) in nodes.items():
            host = lab.add_host(name, ip, RABBIT_DIRS)
            shutil.copytree("/etc/rabbitmq", host.path("/etc/rabbitmq"), dirs_exist_ok=True)
            for path, text in files.items():
                host.write(path, text)
            host.write("/var/lib/rabbitmq/.erlang.cookie", cookie, mode=0o400)
            self.nodes[name] = host
            self.node_names[name] = node_name
        self.client = lab.add_host("client", client_ip)

    @staticmethod
    def _env() -> dict[str, str]:
        # node name, long names and ports come from the rendered rabbitmq-env.conf
        return {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": "/var/lib/rabbitmq",
            "LANG": "C.UTF-8",
            # exec the VM directly (as under systemd) so the spawned PID is the node's beam.smp
            "RUNNING_UNDER_SYSTEMD": "true",
        }

    def ctl(self, name: str, *args: str, timeout: float = 60.0, check: bool = True,
            stdin: str | None = None):
        host = self.nodes[name]
        return host.run([f"{RABBIT_BIN}/rabbitmqctl", *args], env=self._env(),
                        timeout=timeout, check=check, stdin=stdin)

    def start_node(self, name: str) -> None:
        host = self.nodes[name]
        if "epmd" not in host.processes:
            host.spawn("epmd", ["epmd"], env=self._env())
        host.spawn("rabbit", [f"{RABBIT_BIN}/rabbitmq-server"], env=self._env())

    def wait_started(self, name: str, timeout: float = 120.0) -> None:
        host = self.nodes[name]

        def started() -> bool:
            if host.processes["rabbit"].poll() is not None:
                raise GiveUp(f"rabbitmq-server on {name} exited:\n{host.log_tail('rabbit')}")
            # await_startup fails at once until the node registered with epmd: retry by time
            return self.ctl(name, "await_startup", "--timeout", "10", timeout=20,
                            check=False).returncode == 0
        wait_until(started, timeout=timeout, what=f"RabbitMQ on {name} to boot", interval=1)

    def form(self, seed: str, policy_args: list[str] | None) -> None:
        """Boot every node, join the others to ``seed`` as the origin does, apply the policy."""
        for name in self.nodes:
            self.start_node(name)
        for name in self.nodes:
            self.wait_started(name)
        for name in self.nodes:
            if name != seed:
                self.ctl(name, "stop_app")
                self.ctl(name, "join_cluster", self.node_names[seed])
                self.ctl(name, "start_app")
        if policy_args:
            self.ctl(seed, *policy_args)

    def add_user(self, user: str, password: str) -> None:
        """A client user with full rights on /; the password goes in on stdin, never argv."""
        first = next(iter(self.nodes))
        self.ctl(first, "add_user", user, stdin=password + "\n")
        self.ctl(first, "set_permissions", "-p", "/", user, ".*", ".*", ".*")

    def running_nodes(self, name: str) -> set[str]:
        out = self.ctl(name, "cluster_status", "--formatter", "json", timeout=30).stdout
        return set(json.loads(out)["running_nodes"])

    def queue_info(self, name: str, queue: str) -> dict[str, list[str]]:
        """Nodes holding a mirrored queue: master, mirrors and synchronised mirrors."""
        out = self.ctl(name, "list_queues", "-q", "--no-table-headers", "name", "pid",
                       "slave_pids", "synchronised_slave_pids", timeout=30).stdout
        for line in out.splitlines():
            fields = line.split("\t")
            if fields[0] == queue:
                master, mirrors, synced = (_PID_NODE.findall(f) for f in fields[1:4])
                return {"master": master, "mirrors": mirrors, "synchronised": synced}
        raise KeyError(f"queue {queue} not found on {name}")

    def amqp_urls(self, user: str, password: str, first: str) -> str:
        """kombu multi-URL, ``first`` node first (like oslo's rabbit_hosts ordering)."""
        order = [first, *[n for n in self.nodes if n != first]]
        return ";".join(f"amqp://{user}:{password}@{self.nodes[n].ip}:5672//" for n in order)


# an Erlang pid as rabbitmqctl prints it: <rabbit@10.252.0.11.1795595645.1140.0>
_PID_NODE = re.compile(r"<(rabbit@[^<>]+?)\.\d+\.\d+\.\d+>")
