"""The rulebook of Chef names and of the node metadata that carries them.

The API's schemas, the Heat resources' constraints, the catalog, the plan, the
CLI and the node runner all ask here, so what one layer accepts every other
layer accepts too, and each refusal reads the same.  Nothing here imports
beyond the standard library: heat-engine loads it through the plugins.

- node and client names: letters, digits, ``_ . -`` and not only dots (Chef's rule
  less ``:``, which needs %-encoding, and less the path segments ``.`` and ``..``);
- environment, role and environment-template names: letters, digits, ``_ -``
  (Chef refuses dots in environment and role names);
- run-list items: ``recipe[COOKBOOK[::RECIPE][@VERSION]]``, ``role[ROLE]`` or a
  bare ``COOKBOOK[::RECIPE][@VERSION]``, which means ``recipe[...]``, as
  chef-client reads it;
- node metadata: ``chef-runlist`` (a comma string or a list) and ``order`` (a
  whole number, 0 or more; nodes of a lower order converge first);
- SSH host keys are pinned by their SHA256 fingerprint as ``ssh-keygen -l``
  prints it.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

# Chef itself also allows ':', but a name that needs %-encoding in a URL is signed over
# the encoded path and verified over the decoded one by some servers (goiardi: 401,
# i.e. a 502 of ours); and a name of dots only is a path segment ('.', '..') that
# reaches another object of the server.  Neither is a node name here.
NODE_NAME_PATTERN = r"^(?!\.+$)[A-Za-z0-9_.-]{1,255}$"
NODE_NAME_RULE = ("must contain only letters, digits, '_', '.' or '-' (at most 255, "
                  "not only dots)")
ENVIRONMENT_NAME_PATTERN = r"^[A-Za-z0-9_-]+$"
ENVIRONMENT_NAME_RULE = "must contain only letters, digits, '_' or '-'"
ROLE_NAME_PATTERN = ENVIRONMENT_NAME_PATTERN
TEMPLATE_NAME_PATTERN = ENVIRONMENT_NAME_PATTERN       # environments/chef/<name>.json
FINGERPRINT_PATTERN = r"^SHA256:[A-Za-z0-9+/]{43}=?$"
FINGERPRINT_RULE = "must be SHA256:<43 base64 characters>, as ssh-keygen -l prints it"

# Where chef-client comes from when a node lacks it (contract.ChefInstallSource).
INSTALL_KINDS = ("present", "copy", "url", "command")

RUN_LIST_METADATA = "chef-runlist"
ORDER_METADATA = "order"

_RECIPE = r"[A-Za-z0-9_.-]+(?:::[A-Za-z0-9_.-]+)?(?:@[0-9]+(?:\.[0-9]+){1,2})?"
_ROLE = ROLE_NAME_PATTERN[1:-1]
_RUN_LIST_ITEM = re.compile(rf"^(?:recipe\[(?P<recipe>{_RECIPE})\]|role\[(?P<role>{_ROLE})\]"
                            rf"|(?P<bare>{_RECIPE}))$")
_NODE_NAME = re.compile(NODE_NAME_PATTERN)
_ENVIRONMENT_NAME = re.compile(ENVIRONMENT_NAME_PATTERN)
_FINGERPRINT = re.compile(FINGERPRINT_PATTERN)
_NODE_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_ENVIRONMENT_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
# Also reads the older "... of template 'x': ..." form that Heat may still hold in events.
_UNFILLED = re.compile(r"unfilled placeholders of (?:Chef environment )?template "
                       r"'(?P<template>[^']+)': (?P<names>[A-Z0-9_]+(?:, [A-Z0-9_]+)*)")


# -- names -----------------------------------------------------------------------------

def is_node_name(name: Any) -> bool:
    return isinstance(name, str) and bool(_NODE_NAME.fullmatch(name))


def is_environment_name(name: Any) -> bool:
    return isinstance(name, str) and bool(_ENVIRONMENT_NAME.fullmatch(name))


def check_node_name(name: Any, field: str = "node_name") -> str:
    if not is_node_name(name):
        raise ValueError(f"{field} {name!r} {NODE_NAME_RULE}")
    return name


def node_name_from(*parts: str) -> str:
    """A node name made from e.g. a stack and a resource name (unsafe runs become '-')."""
    return _NODE_NAME_UNSAFE.sub("-", "-".join(p for p in parts if p)).strip("-")


def environment_name_from(raw: str) -> str:
    """An environment name made from e.g. a stack name; ValueError when nothing is left."""
    name = _ENVIRONMENT_NAME_UNSAFE.sub("-", raw or "").strip("-")
    if not name:
        raise ValueError(f"cannot derive a Chef environment name from {raw!r}")
    return name


SECRETS_BAG_PREFIX = "deployer_secrets_"


def secrets_bag_name(environment: str) -> str:
    """The data bag holding environment ``environment``'s secrets (one bag per environment:
    a node's item secret opens its own deployment's items only)."""
    return SECRETS_BAG_PREFIX + environment


# -- run-lists ---------------------------------------------------------------------------

def parse_run_list_item(item: Any) -> tuple[str, str]:
    """("recipe" | "role", name) of one run-list item; a recipe keeps its version pin."""
    text = str(item).strip()
    match = _RUN_LIST_ITEM.fullmatch(text)
    if not match:
        raise ValueError(f"run_list item {text!r} is not recipe[NAME], role[NAME] or a recipe name")
    if match.group("role"):
        return "role", match.group("role")
    return "recipe", match.group("recipe") or match.group("bare")


def normalize_run_list_item(item: Any) -> str:
    kind, name = parse_run_list_item(item)
    return f"{kind}[{name}]"


def normalize_run_list(items: Iterable[Any]) -> list[str]:
    """Chef's own normalisation: a bare ``x`` means ``recipe[x]``; duplicates dropped.

    Raises ValueError naming the first item that is neither form.
    """
    normalized: list[str] = []
    for item in items:
        item = normalize_run_list_item(item)
        if item not in normalized:
            normalized.append(item)
    return normalized


def run_list_of(metadata: Any) -> list[str]:
    """The normalised run-list of a node's ``chef-runlist`` metadata (a comma string or a list)."""
    raw = (metadata or {}).get(RUN_LIST_METADATA) or []
    if not isinstance(raw, (str, list)):
        raise ValueError(f"{RUN_LIST_METADATA}: expected a comma-separated string or a list, "
                         f"got {type(raw).__name__}")
    items = raw.split(",") if isinstance(raw, str) else raw
    try:
        return normalize_run_list(text for text in (str(i).strip() for i in items) if text)
    except ValueError as exc:
        raise ValueError(f"{RUN_LIST_METADATA}: {exc}") from None


def order_of(metadata: Any) -> int:
    """A node's ``order`` metadata: a whole number, 0 or more; missing means 0."""
    raw = (metadata or {}).get(ORDER_METADATA, 0)
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise ValueError(f"{ORDER_METADATA}: expected an integer, got {raw!r}")
    try:
        order = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{ORDER_METADATA}: expected an integer, got {raw!r}") from None
    if order < 0:
        raise ValueError(f"{ORDER_METADATA}: must be 0 or more, got {order}")
    return order


def static_node(metadata: Any) -> tuple[int | None, list[str] | None]:
    """(order, run-list) of metadata read from a template file, before Heat resolves it:
    each is None where it is not a literal (an intrinsic function) or breaks the rules
    (Heat's validation of the node reports those)."""
    try:
        order = order_of(metadata)
    except ValueError:
        order = None
    try:
        run_list = run_list_of(metadata)
    except ValueError:
        run_list = None
    return order, run_list


def order_sort_key(order: int | None) -> int:
    """Nodes whose order is not known sort after every known order."""
    return order if order is not None else 1 << 30


# -- SSH targets -----------------------------------------------------------------------------

HOST_ADDRESS_RULE = "must be an IPv4 or IPv6 address or a DNS host name"
SSH_USER_PATTERN = r"^[a-z_][a-z0-9_.-]{0,31}$"
SSH_USER_RULE = "must be a login name: lower-case letters, digits, '_', '.' or '-'"
_HOST_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def is_host_address(value: Any) -> bool:
    """An IP address or a DNS host name (RFC 1123 labels), checked before anything
    resolves or connects to it."""
    import ipaddress
    if not isinstance(value, str) or not value or len(value) > 253:
        return False
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    labels = value[:-1].split(".") if value.endswith(".") else value.split(".")
    return all(_HOST_LABEL.fullmatch(label) for label in labels) and not labels[-1].isdigit()


# -- host keys -----------------------------------------------------------------------------

def is_fingerprint(value: Any) -> bool:
    return isinstance(value, str) and bool(_FINGERPRINT.fullmatch(value))


def normalize_fingerprint(value: str) -> str:
    """'SHA256:abc=' / 'abc' -> 'SHA256:abc' (OpenSSH prints no base64 padding)."""
    value = value.strip()
    if value.upper().startswith("SHA256:"):
        value = value[len("SHA256:"):]
    return "SHA256:" + value.rstrip("=")


# -- environment placeholders ------------------------------------------------------------

def unfilled_placeholders_message(template: str, missing: Iterable[str]) -> str:
    """The one sentence every layer uses for placeholders left without a value."""
    return (f"unfilled placeholders of Chef environment template {template!r}: "
            f"{', '.join(sorted(missing))}")


def parse_unfilled_placeholders(message: str) -> tuple[str, list[str]] | None:
    """(template, names) from a message holding ``unfilled_placeholders_message``."""
    match = _UNFILLED.search(message)
    if not match:
        return None
    return match.group("template"), [n.strip() for n in match.group("names").split(",")]
