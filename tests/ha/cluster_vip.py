"""Controllers running keepalived + haproxy + a web service, sharing a VIP, and a client.

Every host is a namespace on one bridge (see netlab).  The rendered configs are
placed at /etc/keepalived/keepalived.conf and /etc/haproxy/haproxy.cfg of each
controller; the web services answer plain HTTP so a client can poll the VIP.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.ha.netlab import Host, Lab
from tests.ha.waiting import wait_until

KEEPALIVED_CONF = "/etc/keepalived/keepalived.conf"
HAPROXY_CFG = "/etc/haproxy/haproxy.cfg"
WEBSERVICE = Path(__file__).with_name("webservice.py")


class VipCluster:
    """``lbs``: controller name -> (address, rendered keepalived.conf, rendered haproxy.cfg).

    Each controller also runs the web service haproxy balances (on its own
    address and ``backend_port``), as OpenStack APIs do in the origin.
    """

    def __init__(self, lab: Lab, vip: str, lbs: dict[str, tuple[str, str, str]],
                 backend_port: int, client_ip: str):
        self.vip, self.backend_port = vip, backend_port
        self.lbs: dict[str, Host] = {}
        for name, (ip, keepalived_conf, haproxy_cfg) in lbs.items():
            host = lab.add_host(name, ip, ("/etc/keepalived", "/etc/haproxy"), nonlocal_bind=True)
            host.write(KEEPALIVED_CONF, keepalived_conf)
            host.write(HAPROXY_CFG, haproxy_cfg)
            host.path("/run/haproxy").mkdir(parents=True, exist_ok=True)
            self.lbs[name] = host
        self.client = lab.add_host("client", client_ip)

    def check_configs(self) -> None:
        """The real daemons accept the rendered files (keepalived -t needs the interfaces)."""
        for host in self.lbs.values():
            host.run(["haproxy", "-c", "-q", "-f", HAPROXY_CFG])
            host.run(["keepalived", "-t", "-e", "-f", KEEPALIVED_CONF])

    def start(self) -> None:
        for name, host in self.lbs.items():
            host.spawn("web", [sys.executable, str(WEBSERVICE), host.ip, str(self.backend_port),
                               name])
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

