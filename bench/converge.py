"""The all-in-one converge through the whole deployer: first run, re-run, slowest resources,
and the deployer's share of the stack's wall time.

A fresh embedded under-cloud (Heat, goiardi, the deployer API and worker, the shipped
cookbooks and roles) and one systemd test node; `deployments` create of the shipped
allinone template with environments/heat/allinone-fake.yaml, then an update that changes
no value (the deployer's fresh DeployIdentifier converges again).  For each:

- wall: from the create (update) request until the deployment is complete;
- converge: chef-client's own time on the node (the run's converge phase);
- the deployer's share, wall - converge, split into SSH connect, bootstrap (install,
  register, configure) and Heat + API (what is left: the stack, the environment and
  its secrets, scheduling the run and noticing its end);
- the slowest resources, from the arrival time of each resource line of chef-client's
  output (the worker stores every output chunk as it arrives; a line arrives when its
  resource has run).

Ratios: re-run / first run, and each part / wall.  Figures only.

    .venv/bin/python bench/converge.py [--top 8]
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import re
import secrets
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import select  # noqa: E402

from deployer import config  # noqa: E402
from deployer.db.models import RunOutput  # noqa: E402
from deployer.db.session import make_engine, make_session_factory  # noqa: E402
from deployer.testnodes.registry import Registry  # noqa: E402
from deployer.undercloud.manager import Undercloud  # noqa: E402
from deployer.undercloud.process import free_port  # noqa: E402
from tests.fixtures.undercloud import STANDIN, RunningUndercloud  # noqa: E402

NODES_STATE = Path(tempfile.gettempdir()) / "deployer-bench-converge-nodes"
RESOURCE_LINE = re.compile(r"^\s*\* (\S+\[.*?\]) action (\w+)")
BOOTSTRAP = ("install", "register", "configure")


def _ts(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def bench_undercloud(state: Path) -> RunningUndercloud:
    config.write_file(state / "deployer.conf", {
        "heat": {"port": free_port()},
        "chef": {"port": free_port(), "bind_host": "0.0.0.0"},
        "api": {"port": free_port()},
        "bootstrap": {"chef_client_install": "copy", "chef_client_location": STANDIN,
                      "key_dir": NODES_STATE}})
    cfg = config.load(env={"DEPLOYER_STATE_DIR": str(state)})
    return RunningUndercloud(cfg, Undercloud(cfg))


@contextlib.contextmanager
def running_undercloud(state: Path):
    """A fresh embedded under-cloud in ``state``, up with the shipped content, down afterwards."""
    uc = bench_undercloud(state)
    try:
        uc.manager.up(sync_content=True, report=lambda line: None)
        yield uc
    finally:
        uc.manager.down(report=lambda line: None)


def wait_finished(api, deployment_id: str, action: str, timeout: float = 3600) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        found = api.get_deployment(deployment_id)
        if found["stack_status"].startswith(action) and found["state"] != "in_progress":
            if found["state"] != ("deleted" if action == "DELETE" else "complete"):
                raise SystemExit(f"{action} failed: {found['status_reason']}")
            return found
        if time.monotonic() > deadline:
            raise SystemExit(f"{action} did not finish in {timeout:g} s")
        time.sleep(0.5)


def resource_times(cfg, run_id: str, converge_start: float) -> list[tuple[float, str]]:
    """(seconds, 'resource action') per resource line.  chef-client's doc formatter (the
    stand-in's) prints a resource's line once its action has run (a custom resource's when
    it starts, its inner resources' as they finish), so a line's time is the gap since the
    line before; the first gap is chef-client's start and recipe compilation."""
    engine = make_engine(cfg.database_url)
    try:
        with make_session_factory(engine)() as session:
            chunks = session.execute(select(RunOutput.created_at, RunOutput.text)
                                     .where(RunOutput.run_id == run_id, RunOutput.stream == "stdout")
                                     .order_by(RunOutput.seq)).all()
    finally:
        engine.dispose()
    arrivals = [(created.timestamp(), f"{m.group(1)} {m.group(2)}")
                for created, text in chunks for line in text.splitlines()
                if (m := RESOURCE_LINE.match(line))]
    times, previous = [], converge_start
    for index, (arrived, label) in enumerate(arrivals):
        times.append((arrived - previous, label if index else f"start + compile, then {label}"))
        previous = arrived
    return sorted(times, reverse=True)


def measure(uc, deployment_id: str, action: str, started: float) -> dict:
    api = uc.api()
    deployment = wait_finished(api, deployment_id, action)
    wall = time.time() - started
    runs = [r for r in api.list_runs(stack_id=deployment["stack_id"], limit=50)["runs"]
            if _ts(r["created_at"]) >= started - 1]
    [run] = runs
    run_phases = api.get_run(run["id"])["phases"]
    phases = {p["name"]: _ts(p["finished_at"]) - _ts(p["started_at"]) for p in run_phases}
    converge_start = next(_ts(p["started_at"]) for p in run_phases if p["name"] == "converge")
    converge_end = _ts(run["finished_at"])
    run_time = converge_end - _ts(run["created_at"])
    log = api.node_log(deployment_id, "allinone")["text"]
    updated = re.search(r"finished, (\d+)/(\d+) resources updated", log)
    lines = log.splitlines()
    changed = [line.strip() for line, after in zip(lines, lines[1:])
               if line.lstrip().startswith("* ") and after.lstrip().startswith("- ")]
    return {"changed": changed, "wall": wall, "converge": phases["converge"], "connect": phases["connect"],
            "bootstrap": sum(phases[p] for p in BOOTSTRAP), "heat": wall - run_time,
            "updated": f"{updated.group(1)}/{updated.group(2)}" if updated else "?",
            "slowest": resource_times(uc.cfg, run["id"], converge_start)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=8, help="slowest resources to list per run")
    args = parser.parse_args()
    registry = Registry()
    lease = registry.allocate(NODES_STATE)
    node_set = lease.node_set()
    try:
        [node] = node_set.up(1)
        with tempfile.TemporaryDirectory(prefix="bench-converge-") as state, \
                running_undercloud(Path(state)) as uc:
            api = uc.api()
            started = time.time()
            created = api.create_deployment({
                "name": "bench-aio", "template": "allinone", "heat_environments": ["allinone-fake"],
                "parameters": {"NodeAddress": node.ip, "SshKeyFile": node.key_file,
                               "AdminPassword": secrets.token_urlsafe(18)}})
            first = measure(uc, created["id"], "CREATE", started)
            started = time.time()
            api.update_deployment(created["id"], parameters={"RegionName": "RegionOne"})
            rerun = measure(uc, created["id"], "UPDATE", started)
    finally:
        node_set.down()
        registry.release(lease)

    print("all-in-one through the deployer on 1 systemd test node (stand-in chef-client, fake virt driver)")
    print(f"{'':<10} {'wall s':>8} {'converge s':>11} {'updated':>9} {'SSH s':>7} {'bootstrap s':>12} "
          f"{'Heat+API s':>11} {'deployer share':>15}")
    for label, m in (("first", first), ("re-run", rerun)):
        share = (m["wall"] - m["converge"]) / m["wall"]
        print(f"{label:<10} {m['wall']:8.1f} {m['converge']:11.1f} {m['updated']:>9} {m['connect']:7.2f} "
              f"{m['bootstrap']:12.2f} {m['heat']:11.2f} {share:15.3f}")
    print(f"re-run / first: wall {rerun['wall'] / first['wall']:.3f}, "
          f"converge {rerun['converge'] / first['converge']:.3f}")
    if rerun["changed"]:
        print("updated by the re-run (a converged node should need none):")
        for line in rerun["changed"]:
            print(f"  {line}")
    for label, m in (("first run", first), ("re-run", rerun)):
        print(f"slowest resources, {label}:")
        for seconds, resource in m["slowest"][:args.top]:
            print(f"  {seconds:7.1f} s  {resource}")


if __name__ == "__main__":
    main()
