"""Which packages a node can install, from ``apt-cache policy`` run on it.

A package exists for the node when it is installed or has an install candidate
from the node's own APT sources; ``apt-cache policy`` prints nothing for a name
no source knows, and ``Candidate: (none)`` for one it knows of but cannot install.
"""
from __future__ import annotations

import re
import shlex

NONE = "(none)"
_HEADER = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9.+-]*)(?::[a-z0-9]+)?:$")
_FIELD = re.compile(r"^\s+(?P<key>Installed|Candidate):\s*(?P<value>\S+)")


def command(packages: list[str]) -> str:
    return "LC_ALL=C apt-cache policy " + " ".join(shlex.quote(p) for p in packages)


def available(output: str) -> dict[str, dict[str, str]]:
    """{package: {"installed": version | "(none)", "candidate": ...}} of apt-cache policy."""
    found: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in output.splitlines():
        header = _HEADER.match(line)
        if header is not None:
            current = found.setdefault(header.group("name"), {"installed": NONE,
                                                               "candidate": NONE})
            continue
        field = _FIELD.match(line)
        if field is not None and current is not None:
            current[field.group("key").lower()] = field.group("value")
    return found


def missing(wanted: list[str], output: str) -> list[str]:
    """The packages of ``wanted`` neither installed nor installable on the node."""
    known = available(output)
    return [name for name in wanted
            if name not in known or (known[name]["installed"] == NONE
                                     and known[name]["candidate"] == NONE)]
