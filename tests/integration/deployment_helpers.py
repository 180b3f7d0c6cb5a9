"""What the status page and CLI tests share: parameters of the sco-test-three template
for a set of test nodes, and deleting a deployment to the end."""
from __future__ import annotations

from deployer.client import DeployerAPIError
from tests.fixtures.waiting import wait_until

TEMPLATE = "sco-test-three"
DELETE_TIMEOUT = 180


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
