#!/usr/bin/env python3
"""Failover times of the rendered HA configs under injected faults: origin vs tuned timings.

Runs the scenarios of tests/ha (real mariadbd/Galera + haproxy, RabbitMQ,
keepalived + haproxy, in network namespaces ``havb-*`` on 10.252.0.0/24) with
the origin's timings and with tuned ones, and prints a table of the outage a
client saw.  Figures only; tests/ha checks the behaviour.

    sudo .venv/bin/python bench/failover.py                   # everything (~11 min on 2 cores)
    sudo .venv/bin/python bench/failover.py --scenario vip db --repeat 3

Outage: DB = kill -> first acknowledged write; broker = fault -> first publisher
confirm; VIP = fault -> first successful HTTP poll through the VIP (50 ms polls,
new connection each, 0.2 s timeout), plus the time of the last failed poll
before the repair (the API outage, which includes haproxy still sending to
the dead controller).
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.ha import scenarios as sc  # noqa: E402
from tests.ha.amqp_clients import ClientTimeouts  # noqa: E402
from tests.ha.netlab import Lab  # noqa: E402

LAB_PREFIX = "havb"


@dataclass
class Measure:
    outage: float
    notes: str
    api_outage: float | None = None


@dataclass
class Variant:
    scenario: str
    fault: str
    settings: str
    run: Callable[[Lab], Measure]


def db_variant(label: str, checks: dict[str, int],
               provider_options: dict[str, str] = sc.ORIGIN_EVICTION) -> Variant:
    def run(lab: Lab) -> Measure:
        overcloud = sc.galera_overcloud(checks, provider_options)
        result = sc.kill_galera_writer(sc.build_galera(lab, overcloud))
        lost = sum(len(missing) for missing in result.missing.values())
        return Measure(result.outage, f"{lost} acked writes lost of {len(result.acked)}, "
                                      f"{result.client_errors} client errors, "
                                      f"writer {result.writer_before}->{result.writer_after}")
    settings = f"{label}: check inter {checks['inter']} rise {checks['rise']} fall {checks['fall']}"
    if provider_options:
        settings += ", " + ", ".join(f"{k}={v}" for k, v in provider_options.items())
    return Variant("DB writes", "kill -9 writer mariadbd", settings, run)


def broker_variant(label: str, net_ticktime: int, sig: signal.Signals,
                   reconnect_delay: float, quorum: bool = False) -> Variant:
    timeouts = ClientTimeouts(reconnect_delay=reconnect_delay)
    resume = 3 * net_ticktime + 60   # a hung node is declared down after ~net_ticktime

    def run(lab: Lab) -> Measure:
        setup = sc.build_rabbit(lab, sc.rabbit_overcloud(net_ticktime))
        result = sc.fault_queue_master(setup, "bench", sig, timeouts, resume_timeout=resume,
                                       quorum=quorum)
        lost = len(result.confirmed - result.received)
        return Measure(result.outage,
                       f"{lost} confirmed lost of {len(result.confirmed)}, "
                       f"{result.deliveries - len(result.received)} duplicates, "
                       f"{len(result.publisher_errors)} publisher errors")
    role = "quorum leader" if quorum else "mirrored master"
    fault = f"kill -9 {role} beam" if sig == signal.SIGKILL else f"SIGSTOP {role} beam (hung)"
    settings = (f"{label}: net_ticktime {net_ticktime}, reconnect delay {reconnect_delay:g} s, "
                f"socket timeout {timeouts.socket:g} s")
    return Variant("broker publishes", fault, settings, run)


def vip_variant(label: str, checks: dict[str, int], keepalived: dict | None, fault: str) -> Variant:
    def run(lab: Lab) -> Measure:
        setup = sc.build_vip(lab, sc.vip_overcloud(checks, keepalived))
        # keep polling long enough for haproxy to drop the dead controller (inter x fall)
        hold = checks["inter"] * (checks["fall"] + 1) / 1000 + 2
        result = sc.fault_vip_master(setup, fault, after_takeover=hold)
        after = result.failures_after_takeover()
        repaired = result.failures_after_repair()
        return Measure(result.takeover,
                       f"{len(after)} failed polls after takeover, "
                       f"{len(repaired)} after the repair (VIP back, preempt)",
                       api_outage=result.last_failure_before_repair())
    vrrp = sc.vip_overcloud(checks, keepalived).merged("deployer_keepalived", "ctl1")["deployer"]["keepalived"]
    advert, priority = float(vrrp["advert_int"]), vrrp["base_priority"]
    skew = (256 - priority) * (advert if vrrp["vrrp_version"] == 3 else 1) / 256
    settings = (f"{label}: VRRPv{vrrp['vrrp_version']} advert_int {advert:g}, backup priority {priority} "
                f"(skew {skew:.2f} s), check inter {checks['inter']} fall {checks['fall']}")
    what = {"link": "link down on MASTER", "haproxy": "kill -9 haproxy on MASTER"}[fault]
    return Variant("API VIP", what, settings, run)


VARIANTS = {
    "db": [db_variant("origin", sc.ORIGIN_CHECKS), db_variant("tuned", sc.TUNED_CHECKS),
           db_variant("tuned", sc.TUNED_CHECKS, sc.FAST_EVICTION)],
    "broker": [
        broker_variant("origin", 60, signal.SIGKILL, 0.0),
        broker_variant("origin, oslo delay", 60, signal.SIGKILL, 1.0),
        broker_variant("tuned", 15, signal.SIGKILL, 0.0),
        broker_variant("origin", 60, signal.SIGSTOP, 0.0),
        broker_variant("tuned", 15, signal.SIGSTOP, 0.0),
        broker_variant("tuned", 15, signal.SIGKILL, 0.0, quorum=True),
        broker_variant("tuned", 15, signal.SIGSTOP, 0.0, quorum=True),
    ],
    "vip": [
        vip_variant("origin", sc.ORIGIN_CHECKS, sc.ORIGIN_VRRP, "link"),
        vip_variant("tuned, VRRPv2", sc.TUNED_CHECKS, {"vrrp_version": 2, "advert_int": 1}, "link"),
        vip_variant("fast", sc.FAST_CHECKS, None, "link"),
        vip_variant("origin", sc.ORIGIN_CHECKS, sc.ORIGIN_VRRP, "haproxy"),
        vip_variant("fast", sc.FAST_CHECKS, None, "haproxy"),
    ],
}


def run_variant(variant: Variant, repeat: int, state_dir: Path) -> list[Measure]:
    measures = []
    for attempt in range(repeat):
        lab = Lab(LAB_PREFIX, state_dir / f"{len(os.listdir(state_dir))}")
        try:
            measures.append(variant.run(lab))
        finally:
            lab.close()
        print(f"  {variant.scenario} / {variant.fault} / {variant.settings} "
              f"[{attempt + 1}/{repeat}]: {measures[-1].outage:.2f} s; {measures[-1].notes}",
              flush=True)
    return measures


def spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/failover.py needs root (network namespaces)")
    if args.repeat < 1:
        sys.exit("--repeat: must be at least 1")
    # SIGTERM ends the run through the finally blocks that tear the labs down
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rows = []
    with tempfile.TemporaryDirectory(prefix="havb-") as state:
        for name in args.scenario:
            for variant in VARIANTS[name]:
                measures = run_variant(variant, args.repeat, Path(state))
                api = [m.api_outage for m in measures if m.api_outage is not None]
                rows.append((variant.scenario, variant.fault, variant.settings,
                             spread([m.outage for m in measures]), spread(api) if api else "",
                             measures[-1].notes))
    header = ("scenario", "fault", "settings", "outage s", "API outage s", "last run")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print()
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))


if __name__ == "__main__":
    main()
