"""chef-client's why-run output (its doc formatter) -> what a converge would change on one node.

The lines read, as chef-client prints them (the stand-in prints the same)::

    Recipe: deployer_openstack::nova
      * template[/etc/nova/nova.conf] action create
        - Would update content in file /etc/nova/nova.conf from 1a2b3c4d to 5e6f7a8b
          --- /etc/nova/nova.conf
          +++ new content
          -debug = False
          +debug = True
      * service[nova-api] action restart
        - Would restart service service[nova-api]
    Chef Infra Client finished, 2/412 resources would have been updated in 31 seconds

A ``- `` line is a change of the innermost resource line above it; deeper lines without
``- `` are its detail (a diff).  A resource that only contains changed resources (a custom
resource) is not listed itself: its inner resources are.  In why-run every change line
starts with "Would "; one that does not is a change made for real, and ``parse`` raises.
"""
from __future__ import annotations

import dataclasses
import re

FILE_TYPES = ("file", "template", "cookbook_file", "remote_file", "link", "directory",
              "remote_directory")
SERVICE_TYPES = ("service", "systemd_unit", "systemd_service_control")
DIFF_LINES = 200              # per file, as chef-client itself keeps at most (diff_output_threshold)
SENSITIVE = "suppressed sensitive resource"

_STAMP = re.compile(r"^\[\d{4}-\d\d-\d\dT[^\]]*\]\s*")
_RESOURCE = re.compile(r"^(?P<indent> *)\* (?P<type>[A-Za-z_][A-Za-z0-9_]*)\[(?P<name>.*)\] "
                       r"action (?P<action>[a-z_]+)(?P<rest>.*)$")
_CHANGE = re.compile(r"^(?P<indent> *)- (?P<text>.*)$")
_FINISHED = re.compile(r"Chef (?:Infra )?Client finished, (?P<updated>\d+)/(?P<total>\d+) "
                       r"resources (?P<verb>would have been updated|updated)")
_FILE_PATH = re.compile(r"(?:content in file|new file|delete file|utime on file|"
                        r"new directory|existing directory) (?P<path>/\S+)")


class WhyRunOutputError(ValueError):
    """The output is not a why-run's, or says something was changed for real."""


@dataclasses.dataclass
class _Resource:
    indent: int
    type: str
    name: str
    action: str
    changes: list[str] = dataclasses.field(default_factory=list)
    detail: list[str] = dataclasses.field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.type}[{self.name}]"


@dataclasses.dataclass
class NodeChanges:
    """What a converge would change on one node."""
    files: list[dict]
    services: list[dict]
    other: list[dict]
    would_update: int | None          # chef-client's own count, None if it did not finish
    resources: int | None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def changed(self) -> bool:
        return bool(self.files or self.services or self.other)


def parse(text: str) -> NodeChanges:
    """The changes a why-run output reports; raises WhyRunOutputError for a change made."""
    resources: list[_Resource] = []
    stack: list[_Resource] = []
    detail_of: tuple[_Resource, int] | None = None    # the resource whose change may have detail
    counts: tuple[int, int] | None = None
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = _STAMP.sub("", raw.rstrip())
        indent = len(line) - len(line.lstrip(" "))
        if detail_of is not None and line.strip() and indent > detail_of[1] \
                and not _RESOURCE.match(line):     # a diff line may look like "- x"
            detail_of[0].detail.append(line[detail_of[1] + 2:] if indent >= detail_of[1] + 2
                                       else line.strip())
            continue
        detail_of = None
        finished = _FINISHED.search(line)
        if finished:
            if finished.group("verb") == "updated":
                raise WhyRunOutputError(f"not a why-run: {line.strip()}")
            counts = int(finished.group("updated")), int(finished.group("total"))
            continue
        resource = _RESOURCE.match(line)
        if resource:
            while stack and stack[-1].indent >= indent:
                stack.pop()
            entry = _Resource(indent, resource.group("type"), resource.group("name"),
                              resource.group("action"))
            stack.append(entry)
            resources.append(entry)
            continue
        change = _CHANGE.match(line)
        if change and stack:
            while stack and stack[-1].indent >= indent:
                stack.pop()
            if not stack:
                continue
            owner, text_ = stack[-1], change.group("text")
            if not text_.startswith("Would "):
                raise WhyRunOutputError(f"{owner.key} action {owner.action} reports a change "
                                        f"made, not one it would make: {text_!r}")
            owner.changes.append(text_[len("Would "):])
            detail_of = (owner, indent)
            continue
        if line.strip() and not line.startswith(" "):
            stack.clear()           # "Recipe: ...", log lines: a new top level
    return _summarise(resources, counts)


def _summarise(resources: list[_Resource], counts: tuple[int, int] | None) -> NodeChanges:
    files: dict[str, dict] = {}
    services: dict[str, dict] = {}
    other: list[dict] = []
    for entry in resources:
        if not entry.changes:
            continue
        if entry.type in FILE_TYPES:
            path = _path_of(entry)
            found = files.setdefault(path, {"path": path, "resource": entry.key, "actions": [],
                                            "changes": [], "diff": [], "sensitive": False})
            found["actions"].append(entry.action)
            found["changes"].extend(c for c in entry.changes if c != SENSITIVE)
            found["sensitive"] = found["sensitive"] or SENSITIVE in entry.changes
            found["diff"] = (found["diff"] + entry.detail)[:DIFF_LINES]
        elif entry.type in SERVICE_TYPES:
            found = services.setdefault(entry.name, {"name": entry.name, "resource": entry.key,
                                                     "actions": []})
            if entry.action not in found["actions"]:
                found["actions"].append(entry.action)
        else:
            other.append({"resource": entry.key, "action": entry.action,
                          "changes": list(entry.changes)})
    return NodeChanges(files=list(files.values()), services=list(services.values()),
                       other=other, would_update=counts[0] if counts else None,
                       resources=counts[1] if counts else None)


def _path_of(entry: _Resource) -> str:
    for change in entry.changes:
        found = _FILE_PATH.search(change)
        if found:
            return found.group("path")
    return entry.name
