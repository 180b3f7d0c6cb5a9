"""Print the latency of the deployments API's hot GETs under load against a static floor.

Starts the deployer API the way the under-cloud manager does (gunicorn through
``Undercloud(cfg).api()``) in a temporary state directory with DEPLOYMENTS
finished deployment rows and their snapshots stored directly through the
SQLAlchemy models (no Heat: reads never call it), one of them with NODES nodes
and their runs.  For each gunicorn layout (workers x threads) it drives, with
wrk (CONNECTIONS connections):

- ``list``: GET /v1/deployments (the default page, 100 rows);
- ``detail``: GET /v1/deployments/<id> of the NODES-node deployment;
- ``detail 304``: the same with If-None-Match (what a watcher mostly sends);

and, as the baseline in the same run and layout, a bare gunicorn + Flask app
(bench/static_floor.py) serving the very bytes the API answered.  Ratios are
ours/floor.  Before that, in-process, the serialisation of the same views
with the marshmallow schemas (flask-smorest's path) against the lean
``json.dumps`` the endpoints now use.  Figures only.

    .venv/bin/python bench/api_latency.py [--layouts 2x1 2x4 4x1] [--duration 8]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from deployer import config
from deployer.db.migrate import upgrade
from deployer.db.models import Deployment, DeploymentSnapshot, Run, RunPhase
from deployer.db.session import make_engine, make_session_factory
from deployer.undercloud.manager import Undercloud
from deployer.undercloud.process import free_port, http_ready

BENCH_DIR = Path(__file__).resolve().parent
DEPLOYMENTS = 1000
NODES = 100
TEMPLATES = ("all-in-one", "active-passive", "active-active")
FINAL_ROWS = (("complete", "CREATE_COMPLETE", "Stack CREATE completed successfully"),
              ("failed", "CREATE_FAILED", "Resource CREATE failed: node control: converge failed"),
              ("deleted", "DELETE_COMPLETE", "Stack DELETE completed successfully"))
PHASES = ("connect", "install", "register", "configure", "converge")
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def seed(cfg: config.Config, count: int, nodes: int) -> str:
    """``count`` deployments in final states with their snapshots (nothing to refresh
    from Heat); the newest is complete with ``nodes`` node resources and runs.
    Returns that one's id."""
    engine = make_engine(cfg.database_url)
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30)
    big_id = ""
    try:
        with make_session_factory(engine)() as session:
            for index in range(count):
                state, stack_status, reason = FINAL_ROWS[index % len(FINAL_ROWS)]
                if index == count - 1:
                    state, stack_status, reason = FINAL_ROWS[0]
                created = start + dt.timedelta(minutes=index)
                name = f"bench-{index:04d}"
                row = Deployment(
                    id=str(uuid.uuid4()), name=name,
                    active_name=None if state == "deleted" else name,
                    template=TEMPLATES[index % len(TEMPLATES)], parameter_set=None,
                    parameters={"NetworkType": "ovn",
                                "EnableOSDebug": "false"},
                    heat_environments=[], stack_id=str(uuid.uuid4()), stack_status=stack_status,
                    status_reason=reason, state=state, created_at=created,
                    updated_at=created + dt.timedelta(minutes=7),
                    deleted_at=created + dt.timedelta(hours=1) if state == "deleted" else None)
                session.add(row)
                if state != "deleted":
                    session.add(DeploymentSnapshot(deployment_id=row.id, stack_status=stack_status,
                                                   nodes=[], outputs={}, version=1))
                big_id = row.id
            session.flush()
            big = session.get(Deployment, big_id)
            entries = []
            for index in range(nodes):
                resource = f"node{index:03d}"
                entries.append({"resource": resource, "resource_name": resource,
                                "stack_id": big.stack_id, "resource_status": "CREATE_COMPLETE",
                                "physical_resource_id": f"{big.name}-{resource}",
                                "order": 1 + index // 25})
                begun = big.created_at + dt.timedelta(seconds=index)
                run = Run(id=str(uuid.uuid4()), node_name=f"{big.name}-{resource}",
                          action="converge", status="succeeded", phase="converge",
                          spec_json={"target": {"address": f"192.0.2.{index % 250 + 1}",
                                                "port": 22, "user": "root"},
                                     "run_list": ["role[compute]"]},
                          exit_code=0, reason="", created_at=begun, started_at=begun,
                          finished_at=begun + dt.timedelta(seconds=42),
                          stack_id=big.stack_id, stack_name=big.name, resource_name=resource)
                run.phases = [RunPhase(name=phase, status="succeeded", started_at=begun,
                                       finished_at=begun + dt.timedelta(seconds=8))
                              for phase in PHASES]
                session.add(run)
            snapshot = session.get(DeploymentSnapshot, big_id)
            snapshot.nodes = entries
            snapshot.outputs = {"keystone_url": "http://192.0.2.10:5000/v3",
                                "CONTROL_ADDRESS": "192.0.2.1"}
            session.commit()
    finally:
        engine.dispose()
    return big_id


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


def wrk(url: str, *, duration: int, connections: int, headers: dict | None = None) -> dict:
    argv = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s",
            "--latency"]
    for key, value in (headers or {}).items():
        argv += ["-H", f"{key}: {value}"]
    return parse_wrk(subprocess.run([*argv, url], capture_output=True, text=True,
                                    check=True).stdout)


def fetch(url: str, headers: dict | None = None) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:       # 304 arrives as an HTTPError
        return error.code, b"", dict(error.headers)


# -- serialisation, in-process ---------------------------------------------------------

def serialisation(cfg: config.Config, detail_id: str, repeat: int = 30) -> None:
    """marshmallow (what flask-smorest did) against json.dumps on the same views."""
    from deployer.api.app import create_app
    from deployer.api.deployment_schemas import DeploymentPageSchema, DeploymentSchema
    from deployer.api.deployment_services import services
    from deployer.api.watching import dumps, etag_of
    from deployer.deployments import service, views

    app = create_app(cfg, test_config={"STACK_REFRESHERS": False})
    with app.test_request_context():
        found = services()
        rows = service.list_deployments(found, state=None, template=None, name=None,
                                        limit=100, marker=None)
        page = {"deployments": [views.summary(row) for row in rows], "next_marker": rows[-1].id}
        detail = views.detail(found, *views.with_snapshot(found, detail_id))
        cases = {
            "list: query + views": lambda: [views.summary(row) for row in service.list_deployments(
                found, state=None, template=None, name=None, limit=100, marker=None)],
            "list: marshmallow dump + json": lambda: json.dumps(DeploymentPageSchema().dump(page)),
            "list: lean json.dumps": lambda: dumps(page),
            "detail: queries + view": lambda: views.detail(
                found, *views.with_snapshot(found, detail_id)),
            "detail: marshmallow dump + json": lambda: json.dumps(DeploymentSchema().dump(detail)),
            "detail: lean json.dumps": lambda: dumps(detail),
            "detail: ETag": lambda: etag_of(detail),
            "list: change token (cached answer)": lambda: views.list_token(found),
            "detail: change token (cached answer)": lambda: views.detail_token(
                found, detail_id, stack_ids),
        }
        view, token, stack_ids = views.detail_and_token(
            found, *views.with_snapshot(found, detail_id))
        assert views.detail_token(found, detail_id, stack_ids) == token, "token mismatch"
        assert json.loads(dumps(page)) == json.loads(json.dumps(DeploymentPageSchema().dump(page)))
        assert json.loads(dumps(detail)) == json.loads(json.dumps(DeploymentSchema().dump(detail)))
        print(f"serialisation in-process (median of {repeat}, CPU of one request's parts; "
              f"list 100 rows, detail {len(detail['nodes'])} nodes):")
        for label, call in cases.items():
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                call()
                times.append((time.perf_counter() - started) * 1000)
                found.session.rollback()
            print(f"  {label:<34} {statistics.median(times):7.2f} ms")


# -- under load ---------------------------------------------------------------------------

def start_floor(state: Path, port: int, workers: int, threads: int,
                payloads: dict[str, bytes]) -> subprocess.Popen:
    floor_dir = state / "floor"
    floor_dir.mkdir(exist_ok=True)
    for name, body in payloads.items():
        (floor_dir / name).write_bytes(body)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--chdir", str(BENCH_DIR), "-w", str(workers),
         "-k", "gthread", "--threads", str(threads), "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "static_floor:app"],
        env={**os.environ, "BENCH_FLOOR_DIR": str(floor_dir)}, stdout=subprocess.DEVNULL,
        start_new_session=True)
    ready = http_ready(f"http://127.0.0.1:{port}/v1/deployments")
    deadline = time.monotonic() + 30
    while not ready():
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError("the static floor app did not start")
        time.sleep(0.1)
    return process


def measure(state: Path, detail_id: str, nodes: int, workers: int, threads: int, *,
            duration: int, connections: int) -> dict[str, dict]:
    conf = config.write_file(state / "deployer.conf", {
        "DEFAULT": {"state_dir": state},
        # Heat is never contacted: every row is final with its snapshot.
        "heat": {"port": free_port()}, "chef": {"port": free_port()},
        "api": {"port": free_port(), "workers": workers}})
    cfg = config.load(conf, env={"DEPLOYER_STATE_DIR": str(state)})
    os.environ["GUNICORN_CMD_ARGS"] = f"--threads {threads}"
    api = Undercloud(cfg).api()
    list_url = f"{cfg.api.url}/v1/deployments"
    detail_url = f"{cfg.api.url}/v1/deployments/{detail_id}"
    results: dict[str, dict] = {}
    api.start()
    try:
        status, list_body, _ = fetch(list_url)
        assert status == 200 and len(json.loads(list_body)["deployments"]) == 100
        status, detail_body, headers = fetch(detail_url)
        assert status == 200 and len(json.loads(detail_body)["nodes"]) == nodes
        etag = headers["ETag"]
        assert fetch(detail_url, {"If-None-Match": etag})[0] == 304
        results["list"] = wrk(list_url, duration=duration, connections=connections)
        results["detail"] = wrk(detail_url, duration=duration, connections=connections)
        results["detail 304"] = wrk(detail_url, duration=duration, connections=connections,
                                    headers={"If-None-Match": etag})
    finally:
        api.stop()
        os.environ.pop("GUNICORN_CMD_ARGS", None)
    port = free_port()
    floor = start_floor(state, port, workers, threads,
                        {"list.json": list_body, "detail.json": detail_body})
    try:
        base = f"http://127.0.0.1:{port}/v1/deployments"
        results["floor list"] = wrk(base, duration=duration, connections=connections)
        results["floor detail"] = wrk(f"{base}/{detail_id}", duration=duration,
                                      connections=connections)
    finally:
        os.killpg(floor.pid, 15)
        floor.wait(10)
    results["sizes"] = {"list": len(list_body), "detail": len(detail_body)}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layouts", nargs="+", default=["2x1", "2x4", "4x1"],
                        help="gunicorn workers x threads")
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--deployments", type=int, default=DEPLOYMENTS)
    parser.add_argument("--nodes", type=int, default=NODES)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="bench-api-latency-") as tmp:
        state = Path(tmp)
        cfg = config.load(config.write_file(state / "deployer.conf",
                                            {"DEFAULT": {"state_dir": state}}),
                          env={"DEPLOYER_STATE_DIR": str(state)})
        upgrade(cfg)
        detail_id = seed(cfg, args.deployments, args.nodes)
        serialisation(cfg, detail_id)
        print(f"\n{args.deployments} stored deployments, detail of one with {args.nodes} nodes; "
              f"wrk {args.connections} connections, {args.duration} s each; ratio = ours/floor "
              f"(static Flask app, same layout, same bytes)")
        print(f"{'layout':>6} {'endpoint':<11} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} "
              f"{'p50 x':>6} {'p99 x':>6} {'rps x':>6} {'errors':>6}")
        for layout in args.layouts:
            workers, threads = (int(part) for part in layout.split("x"))
            results = measure(state, detail_id, args.nodes, workers, threads, duration=args.duration,
                              connections=args.connections)
            for endpoint, floor in (("list", "floor list"), ("detail", "floor detail"),
                                    ("detail 304", "floor detail"), ("floor list", None),
                                    ("floor detail", None)):
                ours = results[endpoint]
                base = results[floor] if floor else ours
                print(f"{layout:>6} {endpoint:<11} {ours['p50_ms']:>8.1f} {ours['p99_ms']:>8.1f} "
                      f"{ours['rps']:>8.0f} {ours['p50_ms'] / base['p50_ms']:>6.2f} "
                      f"{ours['p99_ms'] / base['p99_ms']:>6.2f} {ours['rps'] / base['rps']:>6.2f} "
                      f"{ours['non_2xx'] + ours['socket_errors']:>6}", flush=True)
        print(f"payload bytes: list {results['sizes']['list']}, "
              f"detail {results['sizes']['detail']}")


if __name__ == "__main__":
    main()
