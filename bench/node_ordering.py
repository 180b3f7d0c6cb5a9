"""Stack wall time against the critical path of its node runs.

For each scenario a HOT stack of IBM::SCO::Node resources is created on a
fresh embedded under-cloud and real test nodes (the chef-client stand-in
converges for --converge seconds).  The critical path is the sum, over the
order groups, of the slowest node run in each group: the least time any
orchestrator could take.  The ratio wall / critical path shows what Heat and
the deployer add.  Both of Heat's engines are measured, since the convergence
engine starts independent resources one second apart.

The floor for one order group is the same stand-in converge (same cookbook,
same simulated converge time) started on every node at once over SSH, with
no Heat, API, worker or Chef server: what parallel SSH alone takes.  Each
one-group scenario prints wall / floor beside wall / critical path, and the
median and longest `register` phase (the node's Chef client and node made).

Where the time went: each one-group scenario and the floor also print the CPU
seconds the whole machine spent meanwhile, and each scenario the share of the
under-cloud's parts (Chef server, API, worker, Heat, with their children).  On
this machine the nodes' converges run on the same cores as the under-cloud,
so the wall is CPU-bound once the machine's CPU nears cores x wall.

    .venv/bin/python bench/node_ordering.py [--converge 3] [--sizes 1,10,30] [--chain 3x3]
    .venv/bin/python bench/node_ordering.py --sizes 100 --chain 0x0     # 100 nodes, one group
    .venv/bin/python bench/node_ordering.py --sizes 100 --chain 0x0 --heat-db sqlite,mariadb
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import io
import itertools
import json
import statistics
import sys
import tarfile
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import paramiko  # noqa: E402
import psutil  # noqa: E402

from deployer import config  # noqa: E402
from deployer.testnodes.registry import Registry  # noqa: E402
from deployer.undercloud.manager import Undercloud  # noqa: E402
from deployer.undercloud.process import free_port  # noqa: E402
from tests.fixtures.mariadb import private_mariadb  # noqa: E402
from tests.fixtures.undercloud import (  # noqa: E402
    STANDIN, TEST_CONTENT, RunningUndercloud, upload_test_content)


def _template(groups, converge: float, *, with_environment_resource: bool) -> dict:
    """groups: list of node lists; group i gets order i+1.

    With the environment resource every node depends on it; without it (the
    origin's style: outputs fill the environment) the first group's nodes are
    the stack's independent "leaf" resources.
    """
    values = {"ENABLE_DEBUG": "false", "NETWORK_MANAGER": "nova.network.manager.FlatDHCPManager",
              "CONVERGE_SECONDS": converge}
    resources, outputs = {}, {}
    if with_environment_resource:
        resources["site"] = {"type": "IBM::SCO::ChefEnvironment",
                             "properties": {"template": "sco-test", "values": values}}
        where = {"ChefEnvironment": {"get_resource": "site"}}
    else:
        outputs = {name: {"value": value} for name, value in values.items()}
        where = {"EnvironmentTemplate": "sco-test"}
    for order, nodes in enumerate(groups, start=1):
        for node in nodes:
            resources[f"n{order}-{node.index}"] = {
                "type": "IBM::SCO::Node",
                "properties": {"Address": node.ip, "KeyFile": node.key_file, **where},
                "metadata": {"chef-runlist": "role[sco-test-compute]", "order": order}}
    return {"heat_template_version": "2021-04-16", "resources": resources, "outputs": outputs}


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


NODES_STATE = Path(tempfile.gettempdir()) / "deployer-bench-nodes"
FLOOR_DIR = "/opt/bench-floor"
FLOOR_ROLE = "sco-test-compute"


def _floor_repo(converge: float) -> str:
    """A local-mode chef-repo with the test cookbook and role, base64 of a tar.gz."""
    environment = json.loads((TEST_CONTENT / "environments" / "sco-test.json").read_text())
    environment["default_attributes"]["standin"]["sleep"] = converge
    files = {"client.rb": "\n".join(f"{key} '{FLOOR_DIR}/{path}'" for key, path in (
                 ("cookbook_path", "cookbooks"), ("role_path", "roles"), ("environment_path", "environments"),
                 ("node_path", "nodes"), ("file_cache_path", "cache"))) + "\n",
             "environments/floor.json": json.dumps({**environment, "name": "floor"}),
             f"roles/{FLOOR_ROLE}.json": (TEST_CONTENT / "roles" / f"{FLOOR_ROLE}.json").read_text()}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{FLOOR_DIR.lstrip('/')}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        tar.add(TEST_CONTENT / "cookbooks", arcname=f"{FLOOR_DIR.lstrip('/')}/cookbooks")
        tar.add(STANDIN, arcname=f"{FLOOR_DIR.lstrip('/')}/chef-client")
    return base64.b64encode(buffer.getvalue()).decode()


def floor_ssh(nodes, converge: float) -> tuple[float, float]:
    """Wall time and machine CPU seconds of the same converge on every node at once over SSH
    (set-up not timed)."""
    repo = _floor_repo(converge)
    for node in nodes:
        result = node.exec(f"rm -rf {FLOOR_DIR} && base64 -d | tar -xz -C /", input=repo)
        if result.returncode != 0:
            raise SystemExit(f"floor set-up on {node.name}: {result.stderr}")
    command = (f"{FLOOR_DIR}/chef-client -z -c {FLOOR_DIR}/client.rb -N {{name}} -E floor "
               f"-o 'role[{FLOOR_ROLE}]'")
    failures: list[str] = []
    gate = threading.Barrier(len(nodes) + 1)

    def converge_over_ssh(node) -> None:
        gate.wait()
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())   # bench nodes made just now
        try:
            client.connect(node.ip, username=node.username, key_filename=node.key_file, timeout=60,
                           banner_timeout=60, auth_timeout=60, allow_agent=False, look_for_keys=False)
            _, stdout, stderr = client.exec_command(command.format(name=node.name))
            output = stdout.read().decode() + stderr.read().decode()
            if stdout.channel.recv_exit_status() != 0:
                failures.append(f"{node.name}: {output[-500:]}")
        except Exception as error:      # noqa: BLE001 - reported below
            failures.append(f"{node.name}: {error}")
        finally:
            client.close()

    threads = [threading.Thread(target=converge_over_ssh, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    gate.wait()
    started, cpu_before = time.monotonic(), _machine_cpu()
    for thread in threads:
        thread.join()
    wall, cpu = time.monotonic() - started, _machine_cpu() - cpu_before
    if failures:
        raise SystemExit("floor converge failed:\n" + "\n".join(failures[:5]))
    return wall, cpu


def _machine_cpu() -> float:
    times = psutil.cpu_times()
    return times.user + times.nice + times.system + times.irq + times.softirq


def _component_cpu(uc) -> dict[str, float]:
    """CPU seconds so far of each under-cloud part, its live children included."""
    seconds = {}
    for row in uc.manager.status():
        if row.pid is None:
            continue
        try:
            process = psutil.Process(row.pid)
            family = [process, *process.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        total = 0.0
        for member in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = member.cpu_times()
                total += times.user + times.system
        seconds[row.name] = total
    return seconds


def _register_seconds(runs) -> list[float]:
    return [_ts(phase["finished_at"]) - _ts(phase["started_at"])
            for run in runs for phase in run["phases"] if phase["name"] == "register" and phase["finished_at"]]


def _delete(heat, stack_id: str) -> None:
    heat.stacks.delete(stack_id)
    while True:
        try:
            stack = heat.stacks.get(stack_id)
        except Exception:  # gone
            return
        if stack.stack_status.startswith("DELETE_") and not stack.stack_status.endswith("IN_PROGRESS"):
            return
        time.sleep(0.2)


@dataclasses.dataclass
class Measured:
    wall: float
    critical: float
    register: list[float]
    machine_cpu: float              # CPU seconds of the whole machine during the stack
    component_cpu: dict[str, float]  # of each under-cloud part


def _listed(heat, stack_id: str):
    [stack] = heat.stacks.list(filters={"id": stack_id})
    return stack


def measure(uc, groups, converge: float, with_environment_resource: bool) -> Measured:
    heat, api = uc.heat(), uc.api()
    template = _template(groups, converge, with_environment_resource=with_environment_resource)
    components_before = _component_cpu(uc)
    started, cpu_before = time.monotonic(), _machine_cpu()
    stack_id = heat.stacks.create(stack_name=f"bench-{int(time.time() * 1000)}",
                                  template=template)["stack"]["id"]
    try:
        # The stack list filtered by id: Heat's stack show loads every resource, and polled
        # every 0.2 s it took a fifth of Heat's samples of a 100-node stack.
        while (stack := _listed(heat, stack_id)).stack_status.endswith("IN_PROGRESS"):
            time.sleep(0.2)
        wall, machine_cpu = time.monotonic() - started, _machine_cpu() - cpu_before
        components = {name: seconds - components_before.get(name, 0.0)
                      for name, seconds in _component_cpu(uc).items()}
        if stack.stack_status != "CREATE_COMPLETE":
            raise SystemExit(f"bench stack failed: {stack.stack_status_reason}")
        runs = api.list_runs(stack_id=stack_id, limit=500)["runs"]
    finally:
        _delete(heat, stack_id)
    slowest: dict[str, float] = {}
    for run in runs:
        group = run["resource_name"].split("-")[0]
        slowest[group] = max(slowest.get(group, 0.0), _ts(run["finished_at"]) - _ts(run["started_at"]))
    return Measured(wall, sum(slowest.values()), _register_seconds(runs), machine_cpu, components)


@contextlib.contextmanager
def heat_database(kind: str):
    """The URL of Heat's database for one run: "" (heat.sqlite) or a private MariaDB's."""
    if kind == "sqlite":
        yield ""
    elif kind == "mariadb":
        with private_mariadb() as url:
            yield url
    else:
        raise SystemExit(f"--heat-db: expected sqlite or mariadb, got {kind!r}")


def bench_undercloud(state: Path, convergence: bool, run_workers: int,
                     heat_database: str = "") -> RunningUndercloud:
    config.write_file(state / "deployer.conf", {
        "heat": {"port": free_port(), "convergence_engine": convergence,
                 "database_connection": heat_database},
        "chef": {"port": free_port(), "bind_host": "0.0.0.0"},
        "api": {"port": free_port(), "run_workers": run_workers},
        "content": {"chef_environments_dir": TEST_CONTENT / "environments"},
        # The test nodes' keys live under their state directory; the API takes key files from
        # [bootstrap] key_dir only.
        "bootstrap": {"chef_client_install": "copy", "chef_client_location": STANDIN,
                      "key_dir": NODES_STATE}})
    cfg = config.load(env={"DEPLOYER_STATE_DIR": str(state)})
    return RunningUndercloud(cfg, Undercloud(cfg))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--converge", type=float, default=3.0, help="stand-in converge seconds")
    parser.add_argument("--sizes", default="1,10,30", help="node counts of one order group")
    parser.add_argument("--chain", default="3x3", help="GROUPSxNODES of the ordered chain (0x0: none)")
    parser.add_argument("--engines", default="legacy,convergence")
    parser.add_argument("--heat-db", default="sqlite",
                        help="Heat's databases to measure: sqlite (the embedded default), "
                             "mariadb (a private mariadbd for each run), or both, comma-separated")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    chain_groups, chain_nodes = (int(x) for x in args.chain.split("x"))
    total = max(max(sizes), chain_groups * chain_nodes)

    registry = Registry()
    lease = registry.allocate(NODES_STATE)
    node_set = lease.node_set()
    try:
        nodes = node_set.up(total)
        floors = {}
        for n in sizes:
            floors[n], cpu = floor_ssh(nodes[:n], args.converge)
            print(f"floor: {n} converges over parallel SSH {floors[n]:.2f} s, machine CPU {cpu:.1f} s",
                  flush=True)
        print(f"{'engine':<12} {'heat db':<8} {'scenario':<28} {'wall s':>8} {'critical s':>11} "
              f"{'ratio':>6} {'wall/floor':>10} {'register median/max s':>22}")
        for engine, database in itertools.product(args.engines.split(","), args.heat_db.split(",")):
            with tempfile.TemporaryDirectory(prefix="bench-ordering-") as state, \
                    heat_database(database) as database_url:
                uc = bench_undercloud(Path(state), engine == "convergence", run_workers=total,
                                      heat_database=database_url)
                try:
                    uc.manager.up(sync_content=False, report=lambda line: None)
                    upload_test_content(uc.chef())
                    scenarios = [(f"1 group x {n}", [nodes[:n]], True) for n in sizes]
                    scenarios.append((f"1 group x {sizes[-1]}, leaves", [nodes[:sizes[-1]]], False))
                    if chain_groups * chain_nodes:
                        scenarios.append((f"{chain_groups} groups x {chain_nodes}",
                                          [nodes[g * chain_nodes:(g + 1) * chain_nodes]
                                           for g in range(chain_groups)], True))
                    for label, groups, env_resource in scenarios:
                        try:
                            m = measure(uc, groups, args.converge, env_resource)
                        except SystemExit as failure:   # one failed scenario: print it, go on
                            print(f"{engine:<12} {database:<8} {label:<28} {failure}", flush=True)
                            continue
                        floor = floors.get(len(groups[0])) if len(groups) == 1 else None
                        print(f"{engine:<12} {database:<8} {label:<28} {m.wall:8.2f} {m.critical:11.2f} "
                              f"{m.wall / m.critical:6.2f} {f'{m.wall / floor:.2f}' if floor else '-':>10} "
                              f"{statistics.median(m.register):10.2f} / {max(m.register):6.2f}", flush=True)
                        parts = ", ".join(f"{name} {seconds:.1f}" for name, seconds in m.component_cpu.items())
                        cores = psutil.cpu_count()
                        print(f"{'':<12} machine CPU {m.machine_cpu:.1f} s (of {cores * m.wall:.0f} on "
                              f"{cores} cores); "
                              f"under-cloud {sum(m.component_cpu.values()):.1f} s: {parts}", flush=True)
                finally:
                    uc.manager.down(report=lambda line: None)
    finally:
        node_set.down()
        registry.release(lease)


if __name__ == "__main__":
    main()
