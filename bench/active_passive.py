"""Active/passive failover times: the origin's Pacemaker timings against tuned ones.

For each profile, a fresh pair of systemd test nodes sharing one disk (no DRBD module on this
host: environments/heat/active-passive-shared-disk.yaml) gets the shipped active-passive
template through the whole deployer (one embedded under-cloud for both profiles).  On the
converged pair, with INSERT + COMMIT through the DB VIP every 0.1 s:

- baseline: `crm_resource --restart` of the mysql group, then of the three schedulers, in place
  (the same stop and start a failover does, without detecting a lost node: this machine's speed);
- crash: SIGKILL of the active node's systemd (all of it at once); it boots again afterwards;
- stop: a clean poweroff of the active node; it boots again afterwards.

Each row gives the time from the fault until a write through the DB VIP succeeds again and until
the three schedulers run again (all on the surviving node), each also as a ratio to the same
profile's baseline, and acknowledged writes lost (must be 0).  Profiles: origin = corosync 3's
default token (3000 ms; the origin's Pacemaker set no timing), tuned = token 1000 ms.  Figures
only.

    .venv/bin/python bench/active_passive.py [--profiles origin,tuned]
"""
from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.converge import NODES_STATE, running_undercloud, wait_finished  # noqa: E402
from deployer.certify.probes import DbWriteProbe  # noqa: E402
from deployer.testnodes.registry import Registry  # noqa: E402

PROFILES = {"origin": 3000, "tuned": 1000}      # corosync totem token, ms
AP_SERVICES = ("nova-scheduler", "cinder-scheduler", "nova-conductor")
VIP_HOSTS = (200, 201)
LIMIT = 180.0


def run_on(node, cmd: str) -> str:
    result = node.exec(cmd, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{node.name}: {cmd}: {result.stderr[-1000:]}")
    return result.stdout


def holder_of(node, resource: str) -> str | None:
    status = run_on(node, "crm_mon -1 --output-as=xml")
    match = re.search(rf'<resource id="{re.escape(resource)}"[^>]*role="Started"[^>]*>\s*<node name="([^"]+)"', status)
    return match.group(1) if match else None


def online(node) -> list[str]:
    return sorted(re.findall(r'<node name="([^"]+)"[^>]*online="true"', run_on(node, "crm_mon -1 --output-as=xml")))


def wait(condition, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception:           # a node going down answers with errors meanwhile
            value = None
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")


def schedulers_on(node) -> bool:
    result = node.exec("systemctl is-active " + " ".join(AP_SERVICES), timeout=10)
    return result.stdout.split() == ["active"] * len(AP_SERVICES)


def writes_back_after(probe: DbWriteProbe, moment: float) -> float:
    """The write outage around ``moment``: the longest stall between two acknowledged writes
    (a write already in flight when the fault hit may still succeed, so not the first one
    after it), measured once a write has succeeded a while after the fault."""
    wait(lambda: probe.outage(moment) is not None and probe.succeeded_since(time.monotonic() - 1, 3),
         LIMIT, "writes through the DB VIP again")
    return probe.outage(moment)


def baseline(holder, nodes: dict, probe: DbWriteProbe) -> tuple[float, float]:
    """In-place restarts: (writes back after the mysql group's, schedulers back after theirs)."""
    started = time.monotonic()
    run_on(holder, "crm_resource --restart --resource mysql --timeout 120s")
    writes = writes_back_after(probe, started)
    started = time.monotonic()
    for unit in AP_SERVICES:
        run_on(holder, f"crm_resource --restart --resource p_{unit} --timeout 120s")
    wait(lambda: schedulers_running(holder, nodes), LIMIT, "the schedulers after their restart")
    return writes, time.monotonic() - started


def schedulers_running(asked, nodes: dict) -> bool:
    """Each scheduler active on the node Pacemaker runs it on (no colocation ties them to
    MySQL: they need not be on its node)."""
    for unit in AP_SERVICES:
        where = holder_of(asked, f"p_{unit}")
        if where is None or nodes[where].exec(f"systemctl is-active {unit}",
                                              timeout=10).stdout.strip() != "active":
            return False
    return True


def fault(node_set, nodes: dict, probe: DbWriteProbe, verb: str) -> tuple[float, float]:
    """Crash or stop the node running mysqld: (writes back, schedulers back) on the other one."""
    first = next(iter(nodes.values()))
    holder = holder_of(first, "mysqld")
    survivor = nodes[next(name for name in nodes if name != holder)]
    injected = time.monotonic()
    {"crash": node_set.crash, "stop": node_set.power_off}[verb](nodes[holder].index)
    schedulers = wait(lambda: schedulers_on(survivor) and time.monotonic(), LIMIT,
                      f"the schedulers on {survivor.name}") - injected
    writes = writes_back_after(probe, injected)
    node_set.wait_down(nodes[holder].index, timeout=180)
    node_set.start(nodes[holder].index, timeout=180)
    wait(lambda: online(survivor) == sorted(nodes), 180, f"{holder} back in the cluster", interval=2)
    wait(lambda: len(json.loads(run_on(survivor, "rabbitmqctl cluster_status --formatter json"))
                     ["running_nodes"]) == 2, 180, "RabbitMQ on both nodes", interval=3)
    return writes, schedulers


def cluster_state(nodes: dict) -> str:
    """Why a wait gave up: Pacemaker's view with fail counts and its journal, per node."""
    shown = []
    for name, node in nodes.items():
        try:
            found = node.exec("crm_mon -1 -r -f 2>&1 | tail -30; "
                              "journalctl --no-pager -n 40 -u pacemaker -u mariadb", timeout=30)
            shown.append(f"--- {name}\n{(found.stdout + found.stderr)[-5000:]}")
        except Exception as exc:        # noqa: BLE001 - a node that is down says so
            shown.append(f"--- {name}: {exc}")
    return "\n".join(shown)


def write_target(holder, db_vip: str) -> dict:
    password = secrets.token_urlsafe(16)
    run_on(holder, "mariadb -e \"CREATE DATABASE IF NOT EXISTS bench_ap; "
           f"CREATE OR REPLACE USER 'bench_ap'@'%' IDENTIFIED BY '{password}'; "
           "GRANT ALL ON bench_ap.* TO 'bench_ap'@'%'; "
           "CREATE TABLE IF NOT EXISTS bench_ap.writes (series CHAR(36), seq INT, PRIMARY KEY (series, seq))\"")
    return {"host": db_vip, "port": 3306, "user": "bench_ap", "password": password, "database": "bench_ap"}


def measure_profile(uc, registry: Registry, profile: str, token: int) -> dict:
    lease = registry.allocate(NODES_STATE)
    node_set = lease.node_set()
    try:
        listed = node_set.up(2, shared_disk="/dev/vdb")
        nodes = {node.name: node for node in listed}
        subnet = listed[0].ip.rsplit(".", 1)[0]
        db_vip = f"{subnet}.{VIP_HOSTS[1]}"
        parameters = {"PrimaryAddress": listed[0].ip, "PrimaryName": listed[0].name,
                      "SecondaryAddress": listed[1].ip, "SecondaryName": listed[1].name,
                      "ApiVipAddress": f"{subnet}.{VIP_HOSTS[0]}", "DbVipAddress": db_vip,
                      "DrbdDisk": "/dev/vdb", "SshKeyFile": listed[0].key_file, "ClusterToken": token,
                      "AdminPassword": secrets.token_urlsafe(18)}
        api = uc.api()
        started = time.monotonic()
        created = api.create_deployment({"name": f"bench-ap-{profile}", "template": "active-passive",
                                         "heat_environments": ["active-passive-shared-disk"],
                                         "parameters": parameters})
        deployment = wait_finished(api, created["id"], "CREATE", timeout=5400)
        if deployment["stack_status"] != "CREATE_COMPLETE":
            raise SystemExit(f"{profile}: the deployment failed: {deployment.get('status_reason')}")
        converge = time.monotonic() - started
        holder = nodes[holder_of(listed[0], "mysqld")]
        probe = DbWriteProbe(**write_target(holder, db_vip), timeout=1.0, interval=0.1).start()
        try:
            wait(lambda: probe.succeeded_since(time.monotonic() - 1, 3), 30, "writes through the DB VIP")
            rows = {"baseline": baseline(holder, nodes, probe)}
            for verb in ("crash", "stop"):
                rows[verb] = fault(node_set, nodes, probe, verb)
        except RuntimeError as error:
            raise SystemExit(f"{profile}: {error}; the writes' errors: {probe.errors}\n"
                             f"{cluster_state(nodes)}") from None
        finally:
            probe.stop()
        result = {"token": token, "converge": converge, "rows": rows, "acked": len(probe.acked),
                  "lost": probe.lost()}
        # Printed at once: the deletion below must not take the figures with it.
        print(f"{profile}: {json.dumps(result)}", flush=True)
        api.delete_deployment(created["id"])
        wait_finished(api, created["id"], "DELETE", timeout=600)
        return result
    finally:
        node_set.down()
        registry.release(lease)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default="origin,tuned", help="comma-separated: origin, tuned")
    args = parser.parse_args()
    profiles = [name.strip() for name in args.profiles.split(",") if name.strip()]
    unknown = [name for name in profiles if name not in PROFILES]
    if unknown:
        raise SystemExit(f"--profiles: unknown {', '.join(unknown)} (known: {', '.join(PROFILES)})")
    results = {}
    registry = Registry()
    with tempfile.TemporaryDirectory(prefix="bench-ap-") as state, running_undercloud(Path(state)) as uc:
        for profile in profiles:
            results[profile] = measure_profile(uc, registry, profile, PROFILES[profile])
            print(f"{profile}: converged in {results[profile]['converge']:.0f} s", flush=True)
    print("active-passive failover on 2 systemd test nodes, shared disk (no DRBD), writes through the DB VIP "
          "every 0.1 s; seconds (ratio to the profile's in-place baseline)")
    print(f"{'profile':8} {'token ms':>8} {'fault':9} {'writes back':>16} {'schedulers back':>18}")
    for profile, result in results.items():
        base_writes, base_schedulers = result["rows"]["baseline"]
        for fault_name, (writes, schedulers) in result["rows"].items():
            print(f"{profile:8} {result['token']:>8} {fault_name:9} "
                  f"{writes:7.1f} s ({writes / base_writes:4.1f}x) "
                  f"{schedulers:9.1f} s ({schedulers / base_schedulers:4.1f}x)")
        print(f"{'':8} {'':>8} acknowledged writes {result['acked']}, lost {result['lost']}")


if __name__ == "__main__":
    main()
