"""Run credentials: how the API knows a run comes from a deployment's own node resources.

When the deployer creates (or updates) a deployment's stack it hands Heat a
credential for that deployment: ``v1.<deployment id>.<MAC>``, the MAC made
with the deployer's secret box (nothing is stored; it is checked by making it
again).  Heat carries it in the stack environment's ``parameter_defaults``
(nested stacks inherit it) and the IBM::SCO::Node resource sends it with every
request as the ``X-Deployer-Run-Credential`` header.  A run that carries it
works for that deployment only: the node names it may register are that
deployment's.  Without one, only an admin may start runs.
"""
from __future__ import annotations

from deployer.errors import DeployerError
from deployer.secrets import SecretBox

PARAMETER = "DeployerRunCredential"       # the stack environment's parameter_defaults key
HEADER = "X-Deployer-Run-Credential"
_VERSION = "v1"


class InvalidCredential(DeployerError):
    status, title = 403, "Forbidden"


def issue(box: SecretBox, deployment_id: str) -> str:
    return f"{_VERSION}.{deployment_id}.{box.mac(_message(deployment_id))}"


def verify(box: SecretBox, credential: str) -> str:
    """The deployment id the credential was issued for; InvalidCredential otherwise."""
    version, _, rest = (credential or "").partition(".")
    deployment_id, _, mac = rest.rpartition(".")
    if version != _VERSION or not deployment_id or not box.verify_mac(_message(deployment_id), mac):
        raise InvalidCredential(f"the {HEADER} header is not a credential this deployer issued",
                                field=HEADER)
    return deployment_id


def _message(deployment_id: str) -> str:
    return f"run-credential:{deployment_id}"
