"""The config lint of each planned node (deployer.lint), as one preflight check, "config".

The files a node's converge would write are rendered from the cookbooks (deployer.chef.render:
the cookbooks' own attribute files, the node's expanded roles and the plan's Chef environment,
with Chef's precedence), then every option an OpenStack service reads is checked against
that service's option schema and the timeouts of one layer against the next.  A node is
linted with the site's shared files beside its own: a compute node's nova.conf reaches the
database through the controllers' HAProxy, so it is checked against their haproxy.cfg.

An unknown or removed option, a timeout mismatch or a file that cannot be rendered fails
the check (the service would ignore the option; the converge would stop on the template);
a deprecated option is a warning naming its replacement.  The passwords are not known yet
and play no part: every secret renders as a placeholder.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import textwrap
from pathlib import Path

from deployer import lint
from deployer.chef import render
from deployer.lint.options import SchemaUnavailable
from deployer.preflight.report import FAILED, PASSED, SKIPPED, WARNING, Check

NAME = "config"
# The file the lint knows it by -> the cookbooks that write it, the first reached one wins
# (an all-in-one's nova.conf is deployer_openstack's; an active-passive pair's MySQL server
# reads deployer_drbd_mysql's file, which the lint reads as the site's galera.cnf).
WRITERS: dict[str, list[tuple[str, str]]] = {
    **{name: [("deployer_openstack", name)] for name in (
        "keystone.conf", "glance-api.conf", "placement.conf", "neutron.conf", "ml2_conf.ini",
        "cinder.conf")},
    "nova.conf": [("deployer_openstack", "nova.conf"), ("deployer_compute", "nova.conf")],
    "nova-compute.conf": [("deployer_compute", "nova-compute.conf")],
    "neutron_ovn_metadata_agent.ini": [("deployer_compute", "neutron_ovn_metadata_agent.ini")],
    "galera.cnf": [("deployer_drbd_mysql", "mysqld.cnf"), ("deployer_galera", "galera.cnf")],
    "haproxy.cfg": [("deployer_haproxy", "haproxy.cfg")],
    "keepalived.conf": [("deployer_keepalived", "keepalived.conf")],
}
SITE_FILES = ("haproxy.cfg", "keepalived.conf", "galera.cnf")    # one per site, read over VIPs
SECRET_PLACEHOLDER = "lint-placeholder"
SHOWN = 5                   # findings named in a check's detail; the rest are counted
WARNING_WIDTH = 240
RENDER_PARALLEL = 4


@dataclasses.dataclass
class NodeFiles:
    """What one node's converge would write, by the lint's file name (or why not)."""
    files: dict[str, str]
    error: str = ""             # a file the converge could not render either
    unavailable: str = ""       # this deployer cannot render (no Ruby)


def node_files(node: dict, cookbooks: set[str], roles: list[dict], environment: dict | None,
               cookbooks_dir: Path) -> NodeFiles:
    """``node``: the plan's node (resource, address, and its Chef node_name when the
    preview gives it); ``cookbooks``: those its expanded run-list reaches; ``roles``: its
    expanded roles in order."""
    name = node.get("node_name") or node["resource"].rsplit("/", 1)[-1]
    ohai = {"name": name, "hostname": name, "fqdn": name, "ipaddress": node.get("address") or ""}
    files = {}
    for lint_name, writers in WRITERS.items():
        writer = next(((cookbook, template) for cookbook, template in writers
                       if cookbook in cookbooks), None)
        if writer is None:
            continue
        try:
            files[lint_name] = render.render(
                writer[0], writer[1], node=ohai, cookbooks_dir=cookbooks_dir, role=roles,
                environment=environment, any_secret=SECRET_PLACEHOLDER)
        except render.RendererUnavailable as error:
            return NodeFiles({}, unavailable=str(error))
        except render.RenderError as error:
            return NodeFiles({}, f"{writer[0]} cannot render {writer[1]}: {error}")
    return NodeFiles(files)


def render_all(nodes: dict[str, tuple[dict, set[str], list[dict]]], environment: dict | None,
               cookbooks_dir: Path) -> dict[str, NodeFiles]:
    """node_files of every node (by resource), a few renders at a time."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=RENDER_PARALLEL) as pool:
        futures = {resource: pool.submit(node_files, node, cookbooks, roles, environment,
                                         cookbooks_dir)
                   for resource, (node, cookbooks, roles) in nodes.items()}
        return {resource: future.result() for resource, future in futures.items()}


def checks(rendered: dict[str, NodeFiles]) -> dict[str, Check]:
    """The "config" check of each node (by resource)."""
    site = {}
    for found in rendered.values():
        for name in SITE_FILES:
            if name in found.files:
                site.setdefault(name, found.files[name])
    return {resource: _check(found, site) for resource, found in rendered.items()}


def _check(found: NodeFiles, site: dict[str, str]) -> Check:
    if found.unavailable:
        return Check(NAME, SKIPPED, f"the files could not be rendered here: {found.unavailable}")
    if found.error:
        return Check(NAME, FAILED, found.error,
                     "correct the attribute the message names in the Chef environment or role")
    if not found.files:
        return Check(NAME, SKIPPED, "the node's run-list writes no file the lint reads")
    try:
        findings = lint.lint({**site, **found.files})
    except SchemaUnavailable as error:
        return Check(NAME, SKIPPED, f"the services' option schemas are not installed on the "
                                    f"deployer ({error})")
    errors = [f for f in findings if f.severity == lint.ERROR]
    warnings = [f for f in findings if f.severity == lint.WARNING]
    files = ", ".join(sorted(found.files))
    if errors:
        return Check(NAME, FAILED, _named(errors),
                     "remove or correct these settings in the Chef environment or role "
                     "(deployer.openstack.<service>.conf, the HA timeouts); a service "
                     "silently ignores an option it does not know")
    if warnings:
        return Check(NAME, WARNING, _named(warnings),
                     "use the replacements named before the next release removes them")
    return Check(NAME, PASSED, f"{files}: every option known to its service, timeouts consistent")


def _named(findings: list) -> str:
    """The first findings, each on one line; a warning's reason cut short (an option's
    deprecation text can run to a paragraph), an error's never."""
    shown = "; ".join(" ".join(str(f).split()) if f.severity == lint.ERROR
                      else textwrap.shorten(str(f), WARNING_WIDTH, placeholder=" ...")
                      for f in findings[:SHOWN])
    more = len(findings) - SHOWN
    return shown + (f"; and {more} more" if more > 0 else "")
