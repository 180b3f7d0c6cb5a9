"""The preflight's result: a row per check, grouped by node, by VIP and site-wide.

Every failed check names what it is about (the node's resource and address, the
VIP) and what to fix; ``problems()`` turns them into the problem+json ``errors``
of a refused create, keyed by the request field at fault (``nodes.<resource>``,
``chef_environment.deployer.vips.<name>``).  Nothing here holds a secret: the
probes' messages come from deployer.bootstrap.ssh, which never includes the password.
"""
from __future__ import annotations

import dataclasses
from typing import Iterator

PASSED, FAILED, WARNING, SKIPPED = "passed", "failed", "warning", "skipped"


@dataclasses.dataclass
class Check:
    name: str           # ssh, sudo, platform, chef_server, packages, address, hostname, vip...
    status: str         # PASSED | FAILED | WARNING | SKIPPED
    detail: str = ""
    fix: str = ""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def line(self) -> str:
        return f"{self.name}: {self.detail}" + (f"; fix: {self.fix}" if self.fix else "")


@dataclasses.dataclass
class NodeReport:
    resource: str
    address: str | None
    node_name: str | None = None
    host_key_fingerprint: str | None = None
    hostname: str | None = None
    checks: list[Check] = dataclasses.field(default_factory=list)

    @property
    def field(self) -> str:
        return f"nodes.{self.resource}"

    def to_dict(self) -> dict:
        return {"resource": self.resource, "address": self.address, "node_name": self.node_name,
                "host_key_fingerprint": self.host_key_fingerprint, "hostname": self.hostname,
                "status": status_of(self.checks), "checks": [c.to_dict() for c in self.checks]}


@dataclasses.dataclass
class VipReport:
    name: str
    address: str
    segment: str
    vrid: int | None
    checks: list[Check] = dataclasses.field(default_factory=list)

    @property
    def field(self) -> str:
        return f"chef_environment.deployer.vips.{self.name}"

    def to_dict(self) -> dict:
        return {"name": self.name, "address": self.address, "segment": self.segment,
                "vrid": self.vrid, "status": status_of(self.checks),
                "checks": [c.to_dict() for c in self.checks]}


@dataclasses.dataclass
class Report:
    skipped: bool = False
    reason: str = ""        # why it was skipped
    nodes: list[NodeReport] = dataclasses.field(default_factory=list)
    vips: list[VipReport] = dataclasses.field(default_factory=list)
    site: list[tuple[str, Check]] = dataclasses.field(default_factory=list)   # (field, check)

    @property
    def status(self) -> str:
        if any(True for _ in self.failures()):
            return FAILED
        return SKIPPED if self.skipped else PASSED

    def failures(self) -> Iterator[tuple[str, str, Check]]:
        """(request field, what it is about, failed check) of every failure."""
        for node in self.nodes:
            for check in node.checks:
                if check.status == FAILED:
                    yield node.field, f"{node.resource} ({node.address or 'no address'})", check
        for vip in self.vips:
            for check in vip.checks:
                if check.status == FAILED:
                    yield vip.field, f"VIP {vip.name} ({vip.address})", check
        for field, check in self.site:
            if check.status == FAILED:
                yield field, "site", check

    def problems(self) -> dict[str, list[str]]:
        """problem+json ``errors``: request field -> what failed and what to fix."""
        found: dict[str, list[str]] = {}
        for field, _what, check in self.failures():
            found.setdefault(field, []).append(check.line())
        return found

    def summary(self) -> str:
        return "; ".join(f"{what}: {check.line()}" for _field, what, check in self.failures())

    def to_dict(self) -> dict:
        return {"status": self.status, "skipped": self.skipped, "reason": self.reason,
                "nodes": [n.to_dict() for n in self.nodes],
                "vips": [v.to_dict() for v in self.vips],
                "site": [{"field": field, **check.to_dict()} for field, check in self.site]}


def status_of(checks: list[Check]) -> str:
    if any(c.status == FAILED for c in checks):
        return FAILED
    if any(c.status == WARNING for c in checks):
        return WARNING
    if checks and all(c.status == SKIPPED for c in checks):
        return SKIPPED
    return PASSED
