"""Boot time and idle memory of systemd test nodes, against sshd-only nodes measured in the same run.

For each size N (default 1, 10, 30) the bench brings N nodes up together with
``TestNodes.up`` (root overlay, systemd-nspawn, systemd reaching ``running``,
sshd's banner) and times it; then it starts N baseline nodes the way test
nodes were started before systemd: sshd -D as PID 1 of fresh mount, UTS, IPC
and PID namespaces in each node's network namespace (no overlay, no systemd),
timed to the same sshd banner.  Idle memory is the RSS summed over every
process of one node after it has been idle for --settle seconds, with and
without its systemd-nspawn supervisor on the host, plus PSS (shared pages
counted once) and anonymous RSS (what a node adds: its libraries' pages are
the host image's, shared by every node) for comparison.

    sudo .venv/bin/python bench/testnodes_boot.py [--sizes 1,10,30] [--settle 5]
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from deployer.testnodes import TestNodes, keys, network  # noqa: E402
from deployer.testnodes.registry import Registry  # noqa: E402

STATE_ROOT = Path("/tmp/deployer-testnodes")
BASELINE_SSHD_CONFIG = """\
ListenAddress {ip}:22
HostKey {host_key}
PermitRootLogin yes
UsePAM no
UseDNS no
PidFile none
"""
# The pre-systemd node: sshd as PID 1 of its own namespaces, with a private /run.
BASELINE_INIT = 'mount -t tmpfs tmpfs /run && mkdir /run/sshd && exec /usr/sbin/sshd -D -e -f "$0"'


def memory_kib(pids: list[int], field: str) -> int:
    """Sum of a /proc/PID/status field (VmRSS, RssAnon) or of Pss (smaps_rollup) over ``pids``, KiB."""
    total = 0
    for pid in pids:
        source = "smaps_rollup" if field == "Pss" else "status"
        try:
            for line in Path(f"/proc/{pid}/{source}").read_text().splitlines():
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def footprint(pids: list[int]) -> tuple[int, int, int, int]:
    """(RSS, PSS, anonymous RSS in KiB, process count) of ``pids``."""
    return (memory_kib(pids, "VmRSS"), memory_kib(pids, "Pss"), memory_kib(pids, "RssAnon"),
            len(pids))


def banner(ip: str) -> bool:
    try:
        with socket.create_connection((ip, 22), timeout=0.5) as sock:
            return sock.recv(4).startswith(b"SSH-")
    except OSError:
        return False


class BaselineNodes:
    """N sshd-only nodes in network namespaces on a leased prefix and subnet."""

    def __init__(self, prefix: str, subnet: str, workdir: Path):
        self.prefix, self.subnet, self.workdir = prefix, subnet, workdir
        self.bridge = f"{prefix}br0"
        self.launchers: list[subprocess.Popen] = []
        self.nodes: list[tuple[str, str, str]] = []   # (netns, veth, ip)

    def up(self, count: int, timeout: float = 120.0) -> float:
        started = time.monotonic()
        self.nodes = [(f"{self.prefix}-node{k}", f"{self.prefix}-v{k}", f"{self.subnet}.{10 + k}")
                      for k in range(1, count + 1)]
        network.create_links(self.bridge, self.subnet, [(ns, veth) for ns, veth, _ in self.nodes])
        for netns, _, ip in self.nodes:
            network.configure_node_link(netns, ip)
            host_key = self.workdir / f"{netns}.key"
            keys.write_keypair(host_key, "ed25519")
            config = self.workdir / f"{netns}.conf"
            config.write_text(BASELINE_SSHD_CONFIG.format(ip=ip, host_key=host_key))
            self.launchers.append(subprocess.Popen(
                ["ip", "netns", "exec", netns, "unshare", "--mount", "--uts", "--ipc", "--pid",
                 "--fork", "--kill-child", "--propagation", "slave", "sh", "-c", BASELINE_INIT,
                 str(config)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True))
        pending = {ip for _, _, ip in self.nodes}
        while pending:
            pending = {ip for ip in pending if not banner(ip)}
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"baseline sshd of {sorted(pending)} not up in {timeout} s")
            time.sleep(0.02)
        return time.monotonic() - started

    def processes(self, index: int) -> list[int]:
        return sorted(set(network.netns_pids(self.nodes[index][0])) | {self.launchers[index].pid})

    def down(self) -> None:
        for launcher in self.launchers:
            launcher.kill()          # unshare --kill-child takes sshd with it
            launcher.wait()
        for netns, _, _ in self.nodes:
            while pids := network.netns_pids(netns):
                for pid in pids:
                    os.kill(pid, signal.SIGKILL)
                time.sleep(0.02)
            network.delete_netns(netns)
        for _, veth, _ in self.nodes:
            network.delete_link(veth)
        network.delete_link(self.bridge)
        self.launchers, self.nodes = [], []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,10,30", help="node counts, comma-separated")
    parser.add_argument("--settle", type=float, default=5.0, help="idle seconds before measuring memory")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    if os.geteuid() != 0:
        print("needs root", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # run the finally clauses

    registry = Registry()
    lease = registry.allocate(STATE_ROOT)
    baseline_lease = registry.allocate(STATE_ROOT)
    node_set = lease.node_set()
    with tempfile.TemporaryDirectory(prefix="testnodes-bench-") as workdir:
        baseline = BaselineNodes(baseline_lease.prefix, baseline_lease.subnet, Path(workdir))
        rows, memory = [], {}
        try:
            for size in sizes:
                measure_memory = not memory      # on the first (smallest) size only
                base_s = baseline.up(size)
                if measure_memory:
                    time.sleep(args.settle)
                    memory["sshd-only node (baseline)"] = footprint(baseline.processes(0))
                baseline.down()

                started = time.monotonic()
                node_set.up(size)
                boot_s = time.monotonic() - started
                if measure_memory:
                    time.sleep(args.settle)
                    node = node_set.get(1)
                    supervisor = node.launcher_pid()
                    memory["systemd node, with systemd-nspawn"] = footprint(node.processes())
                    memory["systemd node, its container only"] = footprint(
                        [pid for pid in node.processes() if pid != supervisor])
                degraded = sorted(node_set.failed_units)
                node_set.down()
                rows.append((size, boot_s, base_s, degraded))
                print(f"  {size} node(s): systemd {boot_s:.2f} s, sshd-only {base_s:.2f} s", flush=True)
        finally:
            baseline.down()
            node_set.down()
            registry.release(lease)
            registry.release(baseline_lease)

    print("\nboot, all nodes together (until systemd says running and sshd answers on each):")
    print(f"{'nodes':>5} {'systemd s':>10} {'sshd-only s':>12} {'ratio':>7} {'s/node':>7}  degraded")
    for size, boot_s, base_s, degraded in rows:
        print(f"{size:>5} {boot_s:>10.2f} {base_s:>12.2f} {boot_s / base_s:>7.1f} {boot_s / size:>7.2f}"
              f"  {', '.join(degraded) or '-'}")
    print(f"\nidle node memory after {args.settle:.0f} s (MiB; ratio = RSS against the baseline):")
    print(f"{'what':<40} {'RSS':>7} {'PSS':>7} {'anon':>7} {'procs':>6} {'ratio':>6}")
    base_rss = memory["sshd-only node (baseline)"][0]
    for label, (rss, pss, anon, count) in memory.items():
        print(f"{label:<40} {rss / 1024:>7.1f} {pss / 1024:>7.1f} {anon / 1024:>7.1f} {count:>6} "
              f"{rss / base_rss:>6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
