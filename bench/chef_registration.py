"""Print the cost of registering N nodes in Chef: server-made keys against deployer-made keys.

Both ways register N nodes (an API client and a node object each) on a fresh
embedded goiardi, C at a time, one Chef client per worker thread as the
worker's runs do:

  server   the former register phase: does the client exist?  POST /clients
           without a key (the server generates the RSA pair), does the node
           exist?  POST /nodes.
  deployer the register phase now: the RSA pair generated here in the run's
           thread, POST /clients with the public key, POST /nodes (409 turns
           into an update; not hit here).

Figures: wall time per way, the median and maximum single registration, and
the ratio deployer/server measured in the same run (below 1 = faster).  Rounds
alternate the ways so machine load hits them alike.

With ``--burst`` it also measures what a 100-node order group does to the
worker: all N runs reach the register phase at once (N threads), first with
nothing queued, then with [runs] register_concurrency slots (a semaphore), and
prints that ratio too (the default of register_concurrency comes from it).

    .venv/bin/python bench/chef_registration.py [--nodes 100] [--concurrency 8] [--rounds 2]
                                                [--burst --register-concurrency 8]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from deployer.chef.keys import generate_client_key  # noqa: E402
from deployer.chef.server import ChefServer, new_node  # noqa: E402
from deployer.undercloud.goiardi import EmbeddedChefServer  # noqa: E402
from deployer.undercloud.process import free_port  # noqa: E402


def register_server_keys(chef: ChefServer, name: str) -> None:
    if not chef.client_exists(name):
        assert chef.create_client(name)["private_key"]
    if not chef.node_exists(name):
        chef.create_node(new_node(name, "_default", ["recipe[base]"]))


def register_deployer_keys(chef: ChefServer, name: str) -> None:
    keys = generate_client_key()
    chef.register_client(name, keys.public_pem)
    chef.register_node(name, "_default", ["recipe[base]"])


def limited(way, slots: int):
    semaphore = threading.BoundedSemaphore(slots)

    def register(chef: ChefServer, name: str) -> None:
        with semaphore:
            way(chef, name)
    return register


def run_way(server: EmbeddedChefServer, way, prefix: str, nodes: int, concurrency: int):
    local = threading.local()
    clients: list[ChefServer] = []

    def one(index: int) -> float:
        if not hasattr(local, "chef"):
            local.chef = ChefServer(server.url, "admin", server.admin_key_path, timeout=120)
            clients.append(local.chef)
        started = time.perf_counter()
        way(local.chef, f"{prefix}-{index}")
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(one, range(nodes)))
    wall = time.perf_counter() - started
    with ChefServer(server.url, "admin", server.admin_key_path) as admin:
        for index in range(nodes):
            admin.remove_node(f"{prefix}-{index}")
    for chef in clients:
        chef.close()
    return wall, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--burst", action="store_true",
                        help="also: all nodes at once, unlimited against register_concurrency slots")
    parser.add_argument("--register-concurrency", type=int, default=8)
    args = parser.parse_args()
    burst_labels = (f"burst, all {args.nodes} at once", f"burst, {args.register_concurrency} slots")
    with tempfile.TemporaryDirectory(prefix="bench-chef-reg-") as state:
        server = EmbeddedChefServer(Path(state), port=free_port())
        server.start()
        try:
            figures = {"server": [], "deployer": []}
            order = [("server", register_server_keys, args.concurrency),
                     ("deployer", register_deployer_keys, args.concurrency)]
            if args.burst:
                figures.update({label: [] for label in burst_labels})
                order += [(burst_labels[0], register_deployer_keys, args.nodes),
                          (burst_labels[1], limited(register_deployer_keys, args.register_concurrency),
                           args.nodes)]
            for round_ in range(args.rounds):
                for index, (label, way, threads) in enumerate(order if round_ % 2 == 0 else order[::-1]):
                    figures[label].append(run_way(server, way, f"b{round_}x{index}",
                                                  args.nodes, threads))
        finally:
            server.stop()
    print(f"Chef registration of {args.nodes} nodes, {args.concurrency} at a time, "
          f"{args.rounds} round(s), goiardi on this host")
    print(f"{'keys made by':<28}{'wall s (each round)':<24}{'median reg s':>14}{'max reg s':>11}")
    walls = {}
    for label, rounds in figures.items():
        latencies = [value for _, lats in rounds for value in lats]
        walls[label] = statistics.median(wall for wall, _ in rounds)
        print(f"{label:<28}{' '.join(f'{wall:.2f}' for wall, _ in rounds):<24}"
              f"{statistics.median(latencies):>14.3f}{max(latencies):>11.3f}")
    print(f"ratio deployer/server (median wall): {walls['deployer'] / walls['server']:.2f}")
    if args.burst:
        print(f"ratio {args.register_concurrency} slots/unlimited for a burst of {args.nodes} "
              f"(median wall): {walls[burst_labels[1]] / walls[burst_labels[0]]:.2f}")


if __name__ == "__main__":
    main()
