"""Checks across the planned nodes: no two share an address, nor (once logged in) a
host name; Chef and the clustered services tell members apart by both."""
from __future__ import annotations

from deployer.preflight.report import FAILED, PASSED, Check, NodeReport


def unique(nodes: list[NodeReport], attribute: str, label: str, fix: str) -> list[tuple[str, Check]]:
    """(field, check) for every node sharing ``attribute`` with an earlier one, or one
    passed check when all differ."""
    holders: dict[str, NodeReport] = {}
    found = []
    for node in nodes:
        value = getattr(node, attribute)
        if not value:
            continue
        first = holders.setdefault(value.lower(), node)
        if first is not node:
            found.append((node.field, Check(f"unique_{attribute}", FAILED,
                                            f"{node.resource} has the same {label} {value} "
                                            f"as {first.resource}", fix)))
    return found or [("nodes", Check(f"unique_{attribute}", PASSED,
                                     f"every node's {label} differs"))]


def checks(nodes: list[NodeReport]) -> list[tuple[str, Check]]:
    return [*unique(nodes, "address", "address",
                    "give each node resource its own server (Address)"),
            *unique(nodes, "hostname", "host name",
                    "give each server its own host name (hostnamectl set-hostname)")]
