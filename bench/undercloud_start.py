"""Print the embedded under-cloud's start time and memory.

Starts a fresh under-cloud (Chef server, deployer API + worker, Heat) in a
temporary state directory on free ports, reports seconds per part (parts
start in parallel; their sum is what a serial start would take) and the
resident memory (RSS, incl. children) of each server, then stops it.

    .venv/bin/python bench/undercloud_start.py [--runs N]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from deployer import config
from deployer.undercloud.manager import Undercloud
from deployer.undercloud.process import free_port


def one_run() -> tuple[dict[str, float], dict[str, int], float]:
    with tempfile.TemporaryDirectory(prefix="bench-undercloud-") as state:
        # The servers read the same file, found through DEPLOYER_STATE_DIR.
        config.write_file(f"{state}/deployer.conf", {
            "heat": {"port": free_port()}, "chef": {"port": free_port()},
            "api": {"port": free_port()}})
        undercloud = Undercloud(config.load(env={"DEPLOYER_STATE_DIR": state}))
        started = time.monotonic()
        try:
            timings = undercloud.up(sync_content=False, report=lambda line: None)
            total = time.monotonic() - started
            rss = {row.name: row.rss_bytes for row in undercloud.status()}
        finally:
            undercloud.down(report=lambda line: None)
        return timings, rss, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = [one_run() for _ in range(args.runs)]
    print(f"under-cloud start, {args.runs} cold runs (fresh state dir each)")
    for part in results[0][0]:
        values = [r[0][part] for r in results]
        print(f"  {part:<20} median {statistics.median(values):6.2f} s   max {max(values):6.2f} s")
    totals = [r[2] for r in results]
    print(f"  {'total':<20} median {statistics.median(totals):6.2f} s   max {max(totals):6.2f} s")
    # Baseline from the same runs: the parts one after another, as a serial start would take.
    serial = [sum(r[0].values()) for r in results]
    print(f"  {'sum of parts':<20} median {statistics.median(serial):6.2f} s   "
          f"(total / sum of parts = {statistics.median(totals) / statistics.median(serial):.2f})")
    print("resident memory after start (last run)")
    for name, rss in results[-1][1].items():
        print(f"  {name:<28} {rss / 2**20:7.1f} MiB")


if __name__ == "__main__":
    main()
