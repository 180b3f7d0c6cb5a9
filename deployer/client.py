"""A small client of the deployer API, for the Heat plugin, the CLI and tests.

Errors come back as exceptions: ``DeployerAPIError`` carries the server's
problem+json (status, title, detail, errors); ``DeployerUnavailable`` (a
subclass) means the API could not be reached or answered 502/503/504, which a
poller may retry.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

RETRYABLE_STATUSES = (502, 503, 504)


class DeployerAPIError(Exception):
    def __init__(self, status: int | None, problem: dict, method: str, path: str):
        self.status = status
        self.problem = problem
        self.method = method
        self.path = path
        super().__init__(str(self))

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or self.problem.get("title") or "")

    @property
    def errors(self) -> dict:
        return self.problem.get("errors") or {}

    def __str__(self) -> str:
        status = f"HTTP {self.status}" if self.status is not None else "no response"
        return f"deployer API {self.method} {self.path}: {status}: {self.detail}"


class DeployerUnavailable(DeployerAPIError):
    """Not reachable, or a gateway/unavailable status: worth retrying later."""


class DeployerClient:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30.0,
                 run_credential: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers["Accept"] = "application/json, application/problem+json"
        if token:
            self._session.headers["X-Auth-Token"] = token
        if run_credential:
            # A deployment's credential (deployer.runs.credentials): its node resources' runs.
            self._session.headers["X-Deployer-Run-Credential"] = run_credential

    def __repr__(self) -> str:
        return f"DeployerClient({self.base_url!r})"

    def close(self) -> None:
        self._session.close()

    # -- runs ------------------------------------------------------------------

    def start_run(self, spec: dict) -> dict:
        """POST a RunSpec dict (password included); returns the queued run, redacted."""
        return self._request("POST", "/v1/runs", json=spec)

    def get_run(self, run_id: str, tail: int | None = None) -> dict:
        params = {"tail": tail} if tail is not None else None
        return self._request("GET", f"/v1/runs/{quote(run_id, safe='')}", params=params)

    def list_runs(self, *, stack_id: str | None = None, status: str | None = None,
                  limit: int | None = None, marker: str | None = None) -> dict:
        params = {key: value for key, value in (("stack_id", stack_id), ("status", status),
                                                ("limit", limit), ("marker", marker))
                  if value is not None}
        return self._request("GET", "/v1/runs", params=params)

    def cancel_run(self, run_id: str) -> dict:
        return self._request("POST", f"/v1/runs/{quote(run_id, safe='')}/cancel")

    def run_log(self, run_id: str, *, stream: str | None = None, offset: int = 0,
                limit: int | None = None) -> dict:
        params: dict[str, Any] = {"offset": offset}
        if stream:
            params["stream"] = stream
        if limit:
            params["limit"] = limit
        return self._request("GET", f"/v1/runs/{quote(run_id, safe='')}/log", params=params)

    # -- chef ------------------------------------------------------------------

    def delete_chef_node(self, name: str) -> None:
        """Remove the Chef node and client ``name``; already gone is success."""
        self._request("DELETE", f"/v1/chef/nodes/{quote(name, safe='')}")

    def environment_templates(self) -> list[dict]:
        """The shipped Chef environment templates with their placeholders."""
        return self._request("GET", "/v1/chef/environment-templates")

    def environment_template(self, name: str) -> dict:
        """One template: ``document`` and ``placeholders`` (name -> JSON paths)."""
        return self._request("GET", f"/v1/chef/environment-templates/{quote(name, safe='')}")

    def get_environment(self, name: str) -> dict:
        return self._request("GET", f"/v1/chef/environments/{quote(name, safe='')}")

    def render_environment(self, name: str, template: str, values: dict,
                           secrets: dict[str, dict[str, str]] | None = None) -> dict:
        """Render ``template`` with ``values`` into Chef environment ``name`` (upsert), with
        its secrets; ``secrets`` (item -> key -> value) replace generated ones."""
        body = {"template": template, "values": values}
        if secrets:
            body["secrets"] = secrets
        return self._request("PUT", f"/v1/chef/environments/{quote(name, safe='')}", json=body)

    def delete_environment(self, name: str, *, if_unused: bool = False) -> None:
        """Delete a Chef environment (gone = success); with ``if_unused`` a 409
        DeployerAPIError while nodes still use it."""
        self._request("DELETE", f"/v1/chef/environments/{quote(name, safe='')}",
                      params={"if_unused": "true" if if_unused else "false"})

    # -- catalog ---------------------------------------------------------------

    def list_templates(self) -> list[dict]:
        """The over-cloud templates: name, format (hot|cfn), description."""
        return self._request("GET", "/v1/templates")

    def get_template(self, name: str) -> dict:
        """Parameters (with constraints), groups, outputs, nodes, usable Heat environments."""
        return self._request("GET", f"/v1/templates/{quote(name, safe='')}")

    def list_roles(self) -> list[dict]:
        return self._request("GET", "/v1/roles")

    def get_role(self, name: str) -> dict:
        return self._request("GET", f"/v1/roles/{quote(name, safe='')}")

    # -- parameter sets ----------------------------------------------------------

    def list_parameter_sets(self, template: str | None = None) -> list[dict]:
        params = {"template": template} if template else None
        return self._request("GET", "/v1/parameter-sets", params=params)

    def create_parameter_set(self, name: str, template: str, parameters: dict,
                             description: str = "") -> dict:
        return self._request("POST", "/v1/parameter-sets",
                             json={"name": name, "template": template,
                                   "parameters": parameters, "description": description})

    def get_parameter_set(self, name: str) -> dict:
        return self._request("GET", f"/v1/parameter-sets/{quote(name, safe='')}")

    def update_parameter_set(self, name: str, parameters: dict, *, template: str | None = None,
                             description: str | None = None) -> dict:
        """Replace the values; ``******`` keeps a stored hidden value."""
        body: dict[str, Any] = {"parameters": parameters}
        if template is not None:
            body["template"] = template
        if description is not None:
            body["description"] = description
        return self._request("PUT", f"/v1/parameter-sets/{quote(name, safe='')}", json=body)

    def delete_parameter_set(self, name: str) -> None:
        self._request("DELETE", f"/v1/parameter-sets/{quote(name, safe='')}")

    # -- deployments -------------------------------------------------------------

    def create_deployment(self, body: dict) -> dict:
        """POST {name, template, parameter_set?, parameters?, heat_environments?}; 202."""
        return self._request("POST", "/v1/deployments", json=body)

    def plan_deployment(self, body: dict) -> dict:
        """The same body as create: stack preview, Chef environment, nodes by step."""
        return self._request("POST", "/v1/deployments/plan", json=body)

    def list_deployments(self, *, status: str | None = None, template: str | None = None,
                         name: str | None = None, limit: int | None = None,
                         marker: str | None = None) -> dict:
        """One page: {"deployments": [...], "next_marker": id or None}."""
        params = {key: value for key, value in (("status", status), ("template", template),
                                                ("name", name), ("limit", limit),
                                                ("marker", marker)) if value is not None}
        return self._request("GET", "/v1/deployments", params=params)

    def get_deployment(self, deployment_id: str) -> dict:
        return self._request("GET", f"/v1/deployments/{quote(deployment_id, safe='')}")

    def watch_deployment(self, deployment_id: str, etag: str | None = None,
                         wait: float = 25.0) -> tuple[dict | None, str | None]:
        """A long poll: (deployment, its ETag) once it differs from ``etag``, or
        (None, etag) when ``wait`` seconds passed without a change (HTTP 304)."""
        headers = {"If-None-Match": etag} if etag else {}
        params = {"wait": wait} if etag and wait else None
        response = self._send("GET", f"/v1/deployments/{quote(deployment_id, safe='')}",
                              headers=headers, params=params,
                              timeout=self.timeout + (wait if etag else 0))
        tag = response.headers.get("ETag") or etag
        if response.status_code == 304:
            return None, tag
        return response.json(), tag

    def deployment_events(self, deployment_id: str, since: str | None = None) -> dict:
        """{"events": [...]} oldest first; ``since``: an event id or an ISO time."""
        params = {"since": since} if since else None
        return self._request("GET", f"/v1/deployments/{quote(deployment_id, safe='')}/events",
                             params=params)

    def node_log(self, deployment_id: str, resource: str, run_id: str | None = None) -> dict:
        """{"resource", "run_id", "run_status", "text"} of the node's latest (or given) run."""
        params = {"run_id": run_id} if run_id else None
        return self._request("GET", f"/v1/deployments/{quote(deployment_id, safe='')}/nodes/"
                                    f"{quote(resource, safe='/')}/log", params=params)

    def update_deployment(self, deployment_id: str, *, parameters: dict | None = None,
                          parameter_set: str | None = None,
                          heat_environments: list[str] | None = None) -> dict:
        return self._request("PUT", f"/v1/deployments/{quote(deployment_id, safe='')}",
                             json=_update_body(parameters, parameter_set, heat_environments))

    def plan_update(self, deployment_id: str, *, parameters: dict | None = None,
                    parameter_set: str | None = None,
                    heat_environments: list[str] | None = None) -> dict:
        """Start a why-run plan of an update (the update's body; 202): poll get_update_plan."""
        return self._request("POST", f"/v1/deployments/{quote(deployment_id, safe='')}/plan",
                             json=_update_body(parameters, parameter_set, heat_environments))

    def get_update_plan(self, deployment_id: str, plan_id: str) -> dict:
        """The plan: running, or complete/failed with each node's changes."""
        return self._request("GET", f"/v1/deployments/{quote(deployment_id, safe='')}/plan/"
                                    f"{quote(plan_id, safe='')}")

    def delete_deployment(self, deployment_id: str) -> dict:
        return self._request("DELETE", f"/v1/deployments/{quote(deployment_id, safe='')}")

    # -- failover certifications ----------------------------------------------

    def certify_deployment(self, deployment_id: str, *, confirm: bool,
                           test_nodes: str | None = None) -> dict:
        """Queue a certification of a complete deployment (202); ``confirm`` must be true."""
        body: dict[str, Any] = {"confirm": confirm}
        if test_nodes is not None:
            body["test_nodes"] = test_nodes
        return self._request("POST", f"/v1/deployments/{quote(deployment_id, safe='')}"
                                     f"/certifications", json=body)

    def list_certifications(self, deployment_id: str) -> dict:
        """{"certifications": [...]} newest first."""
        return self._request("GET", f"/v1/deployments/{quote(deployment_id, safe='')}"
                                    f"/certifications")

    def get_certification(self, deployment_id: str, certification_id: str) -> dict:
        return self._request("GET", f"/v1/deployments/{quote(deployment_id, safe='')}"
                                    f"/certifications/{quote(certification_id, safe='')}")

    # -- service ---------------------------------------------------------------

    def health(self) -> dict:
        return self._request("GET", "/healthcheck")

    def openapi(self) -> dict:
        return self._request("GET", "/v1/openapi.json")

    def _request(self, method: str, path: str, **kwargs) -> Any:
        response = self._send(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _send(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = self._session.request(method, self.base_url + path, **kwargs)
        except requests.Timeout as exc:
            raise DeployerUnavailable(None, {"detail": f"no answer from {self.base_url} within "
                                                       f"{kwargs['timeout']} s: {exc}",
                                             "timed_out": True}, method, path) from None
        except requests.RequestException as exc:
            raise DeployerUnavailable(None, {"detail": f"cannot reach {self.base_url}: "
                                                       f"{type(exc).__name__}: {exc}"},
                                      method, path) from None
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"detail": response.text.strip()[:300] or response.reason}
            if not isinstance(problem, dict):
                problem = {"detail": str(problem)[:300]}
            error = (DeployerUnavailable if response.status_code in RETRYABLE_STATUSES
                     else DeployerAPIError)
            raise error(response.status_code, problem, method, path)
        return response

    def list_environments(self) -> list[str]:
        """Names of the Chef environments on the Chef server."""
        return self._request("GET", "/v1/chef/environments")["environments"]


def _update_body(parameters: dict | None, parameter_set: str | None,
                 heat_environments: list[str] | None) -> dict[str, Any]:
    """An update's body, which its why-run plan takes too."""
    body: dict[str, Any] = {"parameters": parameters or {}}
    if parameter_set is not None:
        body["parameter_set"] = parameter_set
    if heat_environments is not None:
        body["heat_environments"] = heat_environments
    return body
