"""What a node run is, as passed between the API, the worker and the SSH runner.

A *node run* bootstraps one server into Chef and converges it: connect over
SSH, install chef-client if missing, register the node's Chef client and node
object, write client.rb and the key, run chef-client with the stack's
environment.  The Heat resource asks the deployer API to start a run and polls
it; the worker process executes it with ``deployer.bootstrap.runner.execute``.

Secrets (the SSH password) travel in ``NodeTarget.password`` only; ``redacted()``
gives the form that may be stored, logged or returned.  The environment's data bag
item secret is ``RunSpec.data_bag_secret``: the worker sets it from the deployer's
database just before the run; it is never serialised.
"""
from __future__ import annotations

import dataclasses
from typing import Protocol

from deployer.secrets import REDACTED

# The phases of a run, in order.  The API and the status page show them.
PHASES = ("connect", "install", "register", "configure", "converge")

# Terminal and non-terminal run states.
QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = (
    "queued", "running", "succeeded", "failed", "cancelled")
FINAL_STATES = (SUCCEEDED, FAILED, CANCELLED)

# What a run does: bring a node to its run-list, remove it from Chef, or say what a
# converge would change (chef-client -W on a converged node; nothing is written, no
# registration, and the node object is not saved).
WHY_RUN = "why-run"
ACTIONS = ("converge", "delete", WHY_RUN)


@dataclasses.dataclass
class NodeTarget:
    """How to reach a server over SSH."""
    address: str
    port: int = 22
    user: str = "root"
    password: str | None = None
    key_file: str | None = None
    sudo: bool = False                 # use sudo for a non-root user
    host_key_fingerprint: str | None = None   # "SHA256:..." to pin; None = accept and record
    connect_timeout: float = 15.0

    def redacted(self) -> dict:
        data = dataclasses.asdict(self)
        if data["password"]:
            data["password"] = REDACTED
        return data


@dataclasses.dataclass
class ChefInstallSource:
    """Where chef-client comes from when a node lacks it.

    kind (one of deployer.chef.names.INSTALL_KINDS): ``present`` (must already be installed), ``copy`` (upload the local
    file ``location`` to the node), ``url`` (the node downloads ``location`` and
    runs it as an installer script), ``command`` (run ``location`` as a shell
    command on the node, e.g. a site's package install).
    """
    kind: str = "present"
    location: str = ""


@dataclasses.dataclass
class RunSpec:
    """Everything a worker needs to run one node; stored as JSON with the run."""
    node_name: str                     # Chef node and client name
    target: NodeTarget
    run_list: list[str]
    environment: str                   # Chef environment name ("_default" allowed)
    action: str = "converge"           # see ACTIONS
    chef_server_url: str | None = None # None = the deployer's configured server
    install: ChefInstallSource | None = None  # None: the deployer's [bootstrap] source
    stack_id: str | None = None
    stack_name: str | None = None
    resource_name: str | None = None
    timeout: float = 3600.0            # whole-run limit in seconds
    # The environment's encrypted_data_bag_secret (deployer.chef.environment_secrets).
    data_bag_secret: str | None = dataclasses.field(default=None, repr=False)

    def to_dict(self, *, redact: bool = True) -> dict:
        data = dataclasses.asdict(self)
        del data["data_bag_secret"]     # only ever from the worker's own lookup
        if redact:
            data["target"] = self.target.redacted()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "RunSpec":
        data = dict(data)
        data.pop("data_bag_secret", None)
        data["target"] = NodeTarget(**data["target"])
        install = data.get("install")
        data["install"] = ChefInstallSource(**install) if install else None
        return cls(**data)


@dataclasses.dataclass
class RunResult:
    status: str                        # SUCCEEDED or FAILED (CANCELLED when cancelled)
    exit_code: int | None = None       # chef-client's exit status when it ran
    reason: str = ""                   # one line naming node, phase and cause on failure


class RunReporter(Protocol):
    """How the runner tells the outside world what it is doing.

    The worker implements it by persisting to the DB; tests may collect in
    memory.  Every call also counts as a heartbeat.
    """

    def phase(self, name: str) -> None:
        """Entering phase ``name`` (one of PHASES); the previous one succeeded."""

    def output(self, stream: str, text: str) -> None:
        """Append output (stream is 'stdout' or 'stderr'); text is already redacted."""

    def cancelled(self) -> bool:
        """True once a cancel was requested; the runner stops at the next safe point."""
