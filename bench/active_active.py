"""The active-active deploy through the whole deployer: wall time against its critical path.

A fresh embedded under-cloud and four systemd test nodes; `deployer create` of the shipped
active-active template (three controllers, one compute) with
environments/heat/active-active-fake.yaml.  The nodes converge in steps (controller 1, 2, 3,
then the computes); the critical path is the sum over steps of the slowest node run of the
step (from its creation to its end).  Wall is the create request until the deployment is
complete.  wall / critical path is what the deployer and Heat add on top of the converges
themselves (1.0 = nothing).  With --certify, the converged deployment is then certified
(`deployer certify`'s five faults, through the worker) and its table printed.  Figures only.

    .venv/bin/python bench/active_active.py [--certify]
"""
from __future__ import annotations

import secrets
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.converge import NODES_STATE, _ts, running_undercloud, wait_finished  # noqa: E402
from deployer.testnodes.registry import Registry  # noqa: E402

CONTROLLERS = 3
VIP_HOSTS = (200, 201)      # last octets of the API and DB VIPs in the nodes' /24


def main() -> None:
    registry = Registry()
    lease = registry.allocate(NODES_STATE)
    node_set = lease.node_set()
    try:
        nodes = node_set.up(CONTROLLERS + 1)
        controllers, compute = nodes[:CONTROLLERS], nodes[CONTROLLERS]
        subnet = controllers[0].ip.rsplit(".", 1)[0]
        parameters = {f"Controller{i}Address": node.ip for i, node in enumerate(controllers, 1)}
        parameters |= {"ComputeAddresses": compute.ip, "SshKeyFile": compute.key_file,
                       "ApiVipAddress": f"{subnet}.{VIP_HOSTS[0]}", "DbVipAddress": f"{subnet}.{VIP_HOSTS[1]}",
                       "AdminPassword": secrets.token_urlsafe(18)}
        with tempfile.TemporaryDirectory(prefix="bench-aa-") as state, \
                running_undercloud(Path(state)) as uc:
            api = uc.api()
            started = time.time()
            created = api.create_deployment({"name": "bench-aa", "template": "active-active",
                                             "heat_environments": ["active-active-fake"],
                                             "parameters": parameters})
            deployment = wait_finished(api, created["id"], "CREATE", timeout=5400)
            wall = time.time() - started
            certification = certify(api, created["id"], node_set.state_dir) if "--certify" in sys.argv else None
    finally:
        node_set.down()
        registry.release(lease)

    by_step: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for node in deployment["nodes"]:
        seconds = _ts(node["finished_at"]) - _ts(node["started_at"])
        by_step[node["step"]].append((seconds, node["node_name"]))
    critical = sum(max(runs)[0] for runs in by_step.values())
    print("active-active (3 controllers + 1 compute) through the deployer on systemd test nodes "
          "(stand-in chef-client, fake virt driver)")
    for step in sorted(by_step):
        print(f"  step {step}: " + ", ".join(f"{name} {seconds:.0f} s" for seconds, name in sorted(by_step[step])))
    print(f"wall {wall:.1f} s, critical path {critical:.1f} s, wall / critical path {wall / critical:.3f}")
    if certification is not None:
        print(f"failover certification: {certification['status']} {certification['reason']}")
        print(certification["table"])


def certify(api, deployment_id: str, test_nodes: Path, timeout: float = 3600) -> dict:
    queued = api.certify_deployment(deployment_id, confirm=True, test_nodes=str(test_nodes))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = api.get_certification(deployment_id, queued["id"])
        if found["status"] in ("passed", "failed", "error"):
            return found
        time.sleep(2)
    raise SystemExit(f"the certification did not end in {timeout:g} s")


if __name__ == "__main__":
    main()
