"""Print how SSH handshakes to many nodes behave with [runs] ssh_connect_concurrency.

A 100-node order group starts 100 runs at once, and each opens an SSH
connection (key exchange, host key, password login) exactly as the runner
does (deployer.bootstrap.ssh.SSHConnection, keepalive thread included).  The
bench brings up K systemd test nodes and opens N connections, all threads
started together, with the handshakes limited to L at a time for each L in
--limits (N = unlimited), then runs one command on each and closes them.

Printed per limit: wall time until every connection is up, the median and
maximum single handshake (waiting for a slot included), the deployer's own CPU
seconds per handshake (this process), and wall relative to the unlimited row
measured in the same run.  The nodes' sshd runs on this host too, so the wall
figures include node-side CPU a real under-cloud does not pay; the CPU per
handshake is the deployer's alone.  Connections per node stay under sshd's
MaxStartups (10) so no node drops any.

    sudo .venv/bin/python bench/ssh_connect.py [--nodes 8] [--per-node 10] [--limits 80,16,4] [--rounds 2]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from deployer.bootstrap.contract import NodeTarget  # noqa: E402
from deployer.bootstrap.ssh import SSHConnection  # noqa: E402
from deployer.testnodes.registry import Registry  # noqa: E402

STATE_ROOT = Path("/tmp/deployer-testnodes")


def connect_all(targets: list[NodeTarget], limit: int) -> tuple[float, list[float], float]:
    slots = threading.BoundedSemaphore(limit)
    latencies: list[float] = [0.0] * len(targets)
    connections: list[SSHConnection | None] = [None] * len(targets)
    errors: list[str] = []
    go = threading.Event()

    def one(index: int) -> None:
        go.wait()
        started = time.perf_counter()
        try:
            with slots:
                connections[index] = SSHConnection.open(targets[index])
        except Exception as exc:        # reported below; the bench must not hide failures
            errors.append(f"{targets[index].address}: {exc}")
        latencies[index] = time.perf_counter() - started

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(targets))]
    for thread in threads:
        thread.start()
    cpu = time.process_time()
    started = time.perf_counter()
    go.set()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    for connection in connections:
        if connection is not None:
            assert connection.run("true") == 0
            connection.close()
    if errors:
        raise SystemExit(f"{len(errors)} connections failed, e.g. {errors[0]}")
    return wall, latencies, cpu / len(targets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=8)
    parser.add_argument("--per-node", type=int, default=10)
    parser.add_argument("--limits", default="")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    total = args.nodes * args.per_node
    limits = [int(x) for x in args.limits.split(",")] if args.limits else [total, 16, 4]
    registry = Registry()
    lease = registry.allocate(STATE_ROOT)
    node_set = lease.node_set()
    try:
        node_set.up(args.nodes)
        nodes = node_set.nodes()
        targets = [NodeTarget(address=node.ip, port=node.port, user=node.username,
                              password=node.password, connect_timeout=60.0)
                   for node in nodes for _ in range(args.per_node)]
        figures: dict[int, list] = {limit: [] for limit in limits}
        for round_ in range(args.rounds):
            for limit in (limits if round_ % 2 == 0 else limits[::-1]):
                figures[limit].append(connect_all(targets, limit))
    finally:
        node_set.down()
        registry.release(lease)
    print(f"{total} SSH handshakes ({args.nodes} test nodes x {args.per_node}), all threads at once, "
          f"{args.rounds} round(s)")
    print(f"{'limit':>6}{'wall s (rounds)':>22}{'median s':>10}{'max s':>8}{'CPU ms/conn':>13}"
          f"{'wall/unlimited':>16}")
    base = statistics.median(wall for wall, _, _ in figures[limits[0]])
    for limit, rounds in figures.items():
        walls = [wall for wall, _, _ in rounds]
        lats = [value for _, lat, _ in rounds for value in lat]
        cpu = statistics.median(c for _, _, c in rounds) * 1000
        print(f"{limit:>6}{' '.join(f'{w:.2f}' for w in walls):>22}{statistics.median(lats):>10.2f}"
              f"{max(lats):>8.2f}{cpu:>13.1f}{statistics.median(walls) / base:>16.2f}")


if __name__ == "__main__":
    main()
