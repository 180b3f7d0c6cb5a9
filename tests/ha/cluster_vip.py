"""Two load balancers (keepalived + haproxy) sharing a VIP, plus web backends and a client.

Every host is a namespace on one bridge (see netlab).  The rendered configs are
placed at /etc/keepalived/keepalived.conf and /etc/haproxy/haproxy.cfg of each
LB host; the backends answer plain HTTP so a client can poll through the VIP.
"""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.ha.netlab import Host, Lab
from tests.ha.waiting import wait_until

KEEPALIVED_CONF = "/etc/keepalived/keepalived.conf"
HAPROXY_CFG = "/etc/haproxy/haproxy.cfg"


@dataclass
class LbSpec:
    name: str
    ip: str
    keepalived_conf: str
    haproxy_cfg: str


class VipCluster:
    def __init__(self, lab: Lab, vip: str, lbs: list[LbSpec], backends: dict[str, str],
                 backend_port: int, client_ip: str):
        self.lab, self.vip = lab, vip
        self.lbs: dict[str, Host] = {}
        for spec in lbs:
            host = lab.add_host(spec.name, spec.ip, ("/etc/keepalived", "/etc/haproxy",
                                                     "/var/lib/haproxy"), nonlocal_bind=True)
            host.write(KEEPALIVED_CONF, spec.keepalived_conf)
            host.write(HAPROXY_CFG, spec.haproxy_cfg)
            self.lbs[spec.name] = host
        self.backends = {name: lab.add_host(name, ip) for name, ip in backends.items()}
        self.backend_port = backend_port
        self.client = lab.add_host("client", client_ip)

    def check_configs(self) -> None:
        """The real daemons accept the rendered files (keepalived -t needs the interfaces)."""
        for host in self.lbs.values():
            host.run(["haproxy", "-c", "-q", "-f", HAPROXY_CFG])
            host.run(["keepalived", "-t", "-e", "-f", KEEPALIVED_CONF])

    def start(self) -> None:
        for name, host in self.backends.items():
            docroot = host.root / "www"
            docroot.mkdir(exist_ok=True)
            (docroot / "index.html").write_text(f"{name}\n")
            host.spawn("http", [sys.executable, "-m", "http.server", "--bind", host.ip,
                                "--directory", str(docroot), str(self.backend_port)])
        for host in self.lbs.values():
            self.start_haproxy(host)
            self.start_keepalived(host)
        wait_until(self.vip_holders, timeout=15, what=f"a keepalived MASTER to set {self.vip}")

    def start_haproxy(self, host: Host) -> None:
        host.spawn("haproxy", ["haproxy", "-db", "-f", HAPROXY_CFG])

    def start_keepalived(self, host: Host) -> None:
        # -n foreground, -l log to the console, -D detailed, -G no syslog
        host.spawn("keepalived", ["keepalived", "-n", "-l", "-D", "-G", "-f", KEEPALIVED_CONF])

    def vip_holders(self) -> list[str]:
        """Names of the LB hosts that currently carry the VIP."""
        holders = []
        for name, host in self.lbs.items():
            out = subprocess.run(["ip", "-n", host.netns, "-4", "-o", "addr", "show"],
                                 capture_output=True, text=True, timeout=10).stdout
            if f" {self.vip}/" in out:
                holders.append(name)
        return holders

    def keepalived_log(self, name: str) -> str:
        return self.lbs[name].log_tail("keepalived", 40)


def lab_dir(base: Path, tag: str) -> Path:
    path = Path(base) / tag
    path.mkdir(parents=True, exist_ok=True)
    return path
