"""Print the latency of GET /v1/deployments under load, by gunicorn worker count.

Starts the deployer API the way the under-cloud manager does (gunicorn through
``Undercloud(cfg).api()``) in a temporary state directory, stores DEPLOYMENTS
finished deployment rows directly through the SQLAlchemy models (no Heat: a
finished deployment's cached stack status is what the list serves), then
drives the default page with wrk (50 connections, ~15 s) and prints p50, p99
and requests per second parsed from ``wrk --latency``.  Figures only.

    .venv/bin/python bench/api_latency.py [--workers 1 2 4] [--duration 15] [--connections 50]
"""
from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import uuid
from pathlib import Path

from deployer import config
from deployer.db.migrate import upgrade
from deployer.db.models import Deployment
from deployer.db.session import make_engine, make_session_factory
from deployer.undercloud.manager import Undercloud
from deployer.undercloud.process import free_port

DEPLOYMENTS = 1000
TEMPLATES = ("all-in-one", "active-passive", "active-active")
FINAL_ROWS = (("complete", "CREATE_COMPLETE", "Stack CREATE completed successfully"),
              ("failed", "CREATE_FAILED", "Resource CREATE failed: node control: converge failed"),
              ("deleted", "DELETE_COMPLETE", "Stack DELETE completed successfully"))
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def seed(cfg: config.Config, count: int) -> None:
    """``count`` deployments in final states: the list serves their cached status
    and has nothing to refresh from Heat."""
    engine = make_engine(cfg.database_url)
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30)
    try:
        with make_session_factory(engine)() as session:
            for index in range(count):
                state, stack_status, reason = FINAL_ROWS[index % len(FINAL_ROWS)]
                created = start + dt.timedelta(minutes=index)
                name = f"bench-{index:04d}"
                session.add(Deployment(
                    id=str(uuid.uuid4()), name=name,
                    active_name=None if state == "deleted" else name,
                    template=TEMPLATES[index % len(TEMPLATES)], parameter_set=None,
                    parameters={"NetworkManager": "nova.network.manager.FlatDHCPManager",
                                "EnableOSDebug": "false"},
                    heat_environments=[], stack_id=str(uuid.uuid4()), stack_status=stack_status,
                    status_reason=reason, state=state, created_at=created,
                    updated_at=created + dt.timedelta(minutes=7),
                    deleted_at=created + dt.timedelta(hours=1) if state == "deleted" else None))
            session.commit()
    finally:
        engine.dispose()


def parse_wrk(output: str) -> dict[str, float]:
    """p50/p99 in ms, requests/s and error counts from ``wrk --latency`` output."""
    def latency(percent: str) -> float:
        match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
        if not match:
            raise ValueError(f"no {percent}% line in wrk output:\n{output}")
        return float(match.group(1)) * _UNIT_MS[match.group(2)]

    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                              output)
    return {"p50_ms": latency("50"), "p99_ms": latency("99"),
            "rps": float(rps.group(1)) if rps else float("nan"),
            "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
            "socket_errors": sum(map(int, socket_errors.groups())) if socket_errors else 0}


def first_page(url: str) -> tuple[int, int]:
    """Status and number of deployments of the default page (a sanity check)."""
    import json
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, len(json.load(response)["deployments"])


def measure(state: Path, workers: int, *, duration: int, connections: int) -> dict[str, float]:
    conf = config.write_file(state / "deployer.conf", {
        "DEFAULT": {"state_dir": state},
        # Heat is never contacted for finished rows; the port only has to be free.
        "heat": {"port": free_port()}, "chef": {"port": free_port()},
        "api": {"port": free_port(), "workers": workers}})
    cfg = config.load(conf, env={"DEPLOYER_STATE_DIR": str(state)})
    api = Undercloud(cfg).api()
    url = f"{cfg.api.url}/v1/deployments"
    api.start()
    try:
        status, rows = first_page(url)
        run = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s",
                              "--timeout", "10s", "--latency", url],
                             capture_output=True, text=True, check=True)
        return {"workers": workers, "status": status, "page_rows": rows, **parse_wrk(run.stdout)}
    finally:
        api.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--deployments", type=int, default=DEPLOYMENTS)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")

    with tempfile.TemporaryDirectory(prefix="bench-api-latency-") as tmp:
        state = Path(tmp)
        cfg = config.load(config.write_file(state / "deployer.conf",
                                            {"DEFAULT": {"state_dir": state}}),
                          env={"DEPLOYER_STATE_DIR": str(state)})
        upgrade(cfg)
        seed(cfg, args.deployments)
        print(f"GET /v1/deployments (default page) over {args.deployments} stored deployments, "
              f"{args.connections} connections, {args.duration} s each")
        print(f"{'workers':>7} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'rows':>5} "
              f"{'non-2xx':>8} {'sock err':>8}")
        for workers in args.workers:
            result = measure(state, workers, duration=args.duration,
                             connections=args.connections)
            print(f"{result['workers']:>7} {result['p50_ms']:>8.1f} {result['p99_ms']:>8.1f} "
                  f"{result['rps']:>8.1f} {result['page_rows']:>5} {result['non_2xx']:>8} "
                  f"{result['socket_errors']:>8}", flush=True)


if __name__ == "__main__":
    main()
