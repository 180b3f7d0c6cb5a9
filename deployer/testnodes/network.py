"""Network plumbing of a node set: a bridge in the root namespace, one netns per node.

All changes go through ``ip`` (iproute2); a set's links are created in one
``ip -batch`` call and each node's addresses in one ``ip -n NS -batch`` call,
which keeps ``up`` fast.  Process membership of a netns is read from /proc the
same way ``ip netns pids`` does it (same device and inode of ``ns/net``).
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from deployer.testnodes.errors import TestNodesError

NETNS_DIR = Path("/run/netns")


def run_ip(*args: str, batch: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    argv = ["ip", *args, *(["-batch", "-"] if batch is not None else [])]
    result = subprocess.run(argv, input=batch, capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise TestNodesError(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return result


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def link_is_up(name: str) -> bool:
    try:
        flags = int(Path("/sys/class/net", name, "flags").read_text(), 16)
    except OSError:
        return False
    return bool(flags & 0x1)   # IFF_UP


def netns_exists(netns: str) -> bool:
    return (NETNS_DIR / netns).exists()


def list_netns(pattern: re.Pattern) -> list[str]:
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    return sorted(name for name in names if pattern.fullmatch(name))


def list_links(pattern: re.Pattern) -> list[str]:
    return sorted(name for name in os.listdir("/sys/class/net") if pattern.fullmatch(name))


def host_addresses() -> list[str]:
    """IPv4 addresses of the root namespace's interfaces."""
    out = run_ip("-4", "-o", "addr", "show").stdout
    return re.findall(r"\binet (\d+\.\d+\.\d+\.\d+)/", out)


def netns_pids(netns: str) -> list[int]:
    """PIDs whose network namespace is ``netns`` (what ``ip netns pids`` prints)."""
    try:
        target = os.stat(NETNS_DIR / netns)
    except FileNotFoundError:
        return []
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ns = os.stat(f"/proc/{entry}/ns/net")
        except OSError:    # gone, or a zombie (its namespaces are released)
            continue
        if (ns.st_dev, ns.st_ino) == (target.st_dev, target.st_ino):
            pids.append(int(entry))
    return pids


def create_links(bridge: str, subnet: str, nodes: list[tuple[str, str]]) -> None:
    """Bridge ``bridge`` with ``subnet``.1, and per (netns, host veth) a netns whose
    ``eth0`` is the veth's peer, plugged into the bridge."""
    lines = [f"link add {bridge} type bridge",
             f"addr add {subnet}.1/24 dev {bridge}"]
    for netns, veth in nodes:
        lines += [f"netns add {netns}",
                  f"link add {veth} type veth peer name eth0 netns {netns}",
                  f"link set {veth} master {bridge} up"]
    lines.append(f"link set {bridge} up")
    run_ip(batch="\n".join(lines) + "\n")
    # No IPv6 on the private segment: no router solicitations or DAD noise.
    _disable_ipv6(bridge)


def configure_node_link(netns: str, address: str) -> None:
    """Loopback and eth0 up inside the node, with ``address``/24 and no default route."""
    run_ip("-n", netns, batch=f"link set lo up\naddr add {address}/24 dev eth0\nlink set eth0 up\n")


def own_address_only(netns: str, address: str) -> None:
    """eth0 with the node's own address and nothing its services added, as a server that is
    off or has just booted has it.  The network namespace outlives the node's processes: a VIP
    that keepalived or Pacemaker's IPaddr2 held would otherwise stay, answer ARP for it while
    the node is off (taking traffic from the node that took the VIP over) and be found active
    on two nodes by Pacemaker when the node rejoins.  The own address stays, so a node that is
    off refuses connections at once, which the tests rely on."""
    shown = run_ip("-n", netns, "-4", "-o", "addr", "show", "dev", "eth0").stdout
    added = [cidr for cidr in re.findall(r"\binet (\S+)", shown) if cidr.split("/")[0] != address]
    batch = [f"addr del {cidr} dev eth0" for cidr in added]
    if f"inet {address}/" not in shown:
        batch.append(f"addr add {address}/24 dev eth0")
    run_ip("-n", netns, batch="\n".join(batch + ["neigh flush dev eth0"]) + "\n")


def set_link(name: str, up: bool) -> None:
    run_ip("link", "set", name, "up" if up else "down")


def delete_netns(netns: str) -> None:
    if netns_exists(netns):
        run_ip("netns", "del", netns)


def delete_link(name: str) -> None:
    if link_exists(name):
        result = run_ip("link", "del", name, check=False)
        # It may vanish on its own meanwhile (a veth dies with its peer's netns).
        if result.returncode != 0 and link_exists(name):
            raise TestNodesError(f"ip link del {name} failed: {result.stderr.strip()}")


def _disable_ipv6(name: str) -> None:
    knob = Path("/proc/sys/net/ipv6/conf", name, "disable_ipv6")
    if knob.exists():
        knob.write_text("1\n")
