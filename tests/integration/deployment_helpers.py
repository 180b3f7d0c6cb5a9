"""What the deployment tests share: the deployer and openstack CLIs as an admin runs them,
parameters of the sco-test-three template for a set of test nodes, and deleting a
deployment to the end."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from deployer.client import DeployerAPIError
from tests.fixtures.waiting import wait_until

DEPLOYER = Path(sys.executable).with_name("deployer")

TEMPLATE = "sco-test-three"
DELETE_TIMEOUT = 180


def deployer(undercloud, *argv: str, timeout: float = 120,
             env: dict | None = None) -> subprocess.CompletedProcess:
    """The deployer CLI against ``undercloud``'s API (no OS_TOKEN: the under-cloud is noauth)."""
    environment = {**os.environ, "DEPLOYER_API_URL": undercloud.cfg.api.url, **(env or {})}
    environment.pop("OS_TOKEN", None)
    return subprocess.run([str(DEPLOYER), *argv], env=environment, capture_output=True, text=True,
                          timeout=timeout)


def node_log(undercloud, deployment: str, resource: str) -> str:
    """`deployer logs`: the node's latest run output."""
    shown = deployer(undercloud, "logs", deployment, resource)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout


def openstack(env: dict, *args: str, timeout: float = 120) -> list | dict:
    """The real openstack client with ``env``'s OS_* credentials; its JSON answer."""
    result = subprocess.run(["openstack", *args, "-f", "json"], capture_output=True, text=True, timeout=timeout,
                            env={"PATH": "/usr/bin:/bin", **env})
    assert result.returncode == 0, f"openstack {' '.join(args)}: {result.stderr[-2000:]}"
    return json.loads(result.stdout)


def node_parameters(nodes, *, converge_seconds: int = 0,
                    fingerprints: list[str] | None = None) -> dict[str, str]:
    """sco-test-three's parameters: control, standby and compute on ``nodes`` (in that order)."""
    fingerprints = fingerprints or [node.host_key_fingerprint for node in nodes]
    return {"NodeAddresses": ",".join(node.ip for node in nodes),
            "NodeKeyFiles": ",".join(node.key_file for node in nodes),
            "NodeFingerprints": ",".join(fingerprints),
            "ConvergeSeconds": str(converge_seconds)}


def delete_deployment(api, deployment_id: str) -> None:
    """Delete and wait until it is gone (deleted or 404); a clean-up, so never raises on 404."""
    try:
        api.delete_deployment(deployment_id)
    except DeployerAPIError as exc:
        if exc.status == 404:
            return
        raise

    def current():
        try:
            return api.get_deployment(deployment_id)
        except DeployerAPIError as exc:
            if exc.status == 404:
                return None
            raise
    deployment = wait_until(current, DELETE_TIMEOUT, f"deployment {deployment_id} deleted",
                            until=lambda found: found is None or found["state"] == "deleted"
                            or found.get("stack_status") == "DELETE_FAILED", interval=1)
    if deployment and deployment.get("stack_status") == "DELETE_FAILED":
        raise AssertionError(f"delete of {deployment_id} failed: {deployment['status_reason']}")
