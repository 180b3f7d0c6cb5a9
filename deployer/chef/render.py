"""Render a cookbook template the way a Chef converge would, without chef-client: what
the plan's config lint reads (deployer.preflight.config) and what the cookbook tests check
(tests/chef_render binds them to this repository's cookbooks).

CONTRACT
    render(cookbook, template, *, node, cookbooks_dir, role=None, environment=None,
           secrets=None, any_secret=None) -> str

    cookbook     cookbook directory name under cookbooks_dir, e.g. "deployer_haproxy"
    template     a key of that cookbook's <CamelCase>::Helpers::TEMPLATES registry,
                 e.g. "haproxy.cfg" (the registry names the .erb and the helper that
                 computes its variables; render.rb documents the cookbook side)
    node         {"name": "ctl1", "ipaddress": "10.0.0.11", ..., "normal": {...}}:
                 every key except "name" and "normal" is an automatic (ohai)
                 attribute; "normal" holds per-node attributes (addresses, ports,
                 datadir, memory sizes) that beat role/environment defaults
    role         a Chef role as a dict, a path to its JSON file, or a list of them;
                 nested role[...] run-list entries are not expanded, so list every role
                 of the node's expanded run-list in expansion order (later ones win)
    environment  a Chef environment as a dict or a path to its JSON file
    secrets      {"<data bag>": {"<item>": {"<key>": "<value>"}}}: the data bag
                 items deployer_secret() would read.  Passed on stdin, never argv.
    any_secret   instead of secrets: every lookup answers this value (a lint reads the
                 files' options, not the passwords, which a plan does not have yet)

    node_attributes(cookbook, *, node, cookbooks_dir, role=None, environment=None) -> dict gives the
    merged attributes (Chef precedence, see render.rb) the helpers receive.

    call_helper(cookbook, function, *args, cookbooks_dir) runs one library function (e.g.
    "DeployerCommon::Vrrp.check_unique_vrids!") of the cookbook's dependency closure
    on JSON arguments and returns its JSON result.

    Errors raise RenderError with render.rb's one-line reason (the offending
    attribute or template line); secret values never appear in it.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

RENDER_RB = Path(__file__).resolve().with_name("render.rb")

ChefDoc = dict[str, Any] | str | Path


class RenderError(Exception):
    """The template could not be rendered; the message says which input is wrong."""


class RendererUnavailable(RenderError):
    """Nothing was rendered: this host cannot run render.rb (no Ruby)."""


def _load(doc: ChefDoc | None) -> dict[str, Any] | None:
    if doc is None or isinstance(doc, dict):
        return doc
    return json.loads(Path(doc).read_text())


def _roles(role: ChefDoc | list[ChefDoc] | None) -> list[dict[str, Any]]:
    if role is None:
        return []
    items = role if isinstance(role, list) else [role]
    return [_load(item) for item in items]


def _run(request: dict[str, Any]) -> str:
    try:
        proc = subprocess.run(["ruby", str(RENDER_RB)], input=json.dumps(request),
                              capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        raise RendererUnavailable("ruby is not installed on this host (render.rb needs it; "
                                  "scripts/install.sh installs it)") from None
    except subprocess.TimeoutExpired:
        raise RenderError("render.rb did not finish within 60 s") from None
    if proc.returncode != 0:
        raise RenderError(proc.stderr.strip() or f"render.rb exited {proc.returncode}")
    return proc.stdout


def _request(action: str, cookbook: str, template: str | None, node: dict[str, Any],
             role: ChefDoc | list[ChefDoc] | None, environment: ChefDoc | None,
             secrets: dict[str, Any] | None, cookbooks_dir: Path,
             any_secret: str | None = None) -> dict[str, Any]:
    if not isinstance(node, dict) or not node.get("name"):
        raise RenderError("node must be a dict with a 'name'")
    request = {
        "action": action,
        "cookbooks_dir": str(cookbooks_dir),
        "cookbook": cookbook,
        "template": template,
        "roles": _roles(role),
        "environment": _load(environment),
        "node": node,
        "secrets": secrets or {},
    }
    if any_secret is not None:
        request["any_secret"] = any_secret
    return request


def render(cookbook: str, template: str, *, node: dict[str, Any], cookbooks_dir: Path,
           role: ChefDoc | list[ChefDoc] | None = None, environment: ChefDoc | None = None,
           secrets: dict[str, Any] | None = None, any_secret: str | None = None) -> str:
    """The rendered text of `template` from `cookbook` for this node."""
    return _run(_request("render", cookbook, template, node, role, environment, secrets,
                         cookbooks_dir, any_secret))


def node_attributes(cookbook: str, *, node: dict[str, Any], cookbooks_dir: Path,
                    role: ChefDoc | list[ChefDoc] | None = None,
                    environment: ChefDoc | None = None) -> dict[str, Any]:
    """The merged node attributes a converge of `cookbook` would see."""
    return json.loads(_run(_request("attributes", cookbook, None, node, role, environment, None,
                                    cookbooks_dir)))


def call_helper(cookbook: str, function: str, *args: Any, cookbooks_dir: Path) -> Any:
    """Result of a cookbook library function, e.g. call_helper("deployer_common",
    "DeployerCommon::Vrrp.check_unique_vrids!", vips)."""
    request = _request("call", cookbook, None, {"name": "harness"}, None, None, None, cookbooks_dir)
    request.update(function=function, args=list(args))
    return json.loads(_run(request))
