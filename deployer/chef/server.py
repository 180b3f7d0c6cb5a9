"""Client for the Chef Infra Server API (Chef 11 shapes; goiardi and Chef Server 12+).

``ChefServer`` signs every request (see signing.py), decodes JSON and raises the
errors in errors.py.  Besides the generic get/post/put/delete it has helpers
for the objects the deployer manages: nodes, clients, roles, environments,
data bags, search, cookbooks and the depsolver.

Every request has two time limits, so a slow server is told from a dead one:
``connect_timeout`` (short: a server that does not even accept the connection
is down or unreachable) and ``timeout`` (the answer, which may take long when
the server is busy).  A request that gets no answer, or a 500/502/503/504, is
sent again up to ``retries`` times with exponential backoff; the final error
says which of the two it was and how many attempts were made.  Retrying is
safe for PUT, GET and DELETE; every POST here either reads (partial search,
the depsolver) or answers 409 when repeated, which the create helpers turn
into an update (``register_client``, ``register_node``).

Divergences of goiardi that shape this code (measured, see the project notes):
unknown routes answer 200 with an empty body (returned as None); search
``total`` is the page size, so search pages until a short page; the depsolver
wants an already expanded recipe list, so run lists are expanded here first.
"""
from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from deployer.chef import names
from deployer.chef.errors import (ChefConflict, ChefDependencyError, ChefNotFound, ChefServerError,
                                  ChefTimeout, ChefUnavailable, RunListError, error_for_status)
from deployer.chef.signing import ChefAuth

# Sent for servers that check it; goiardi ignores it.
CHEF_CLIENT_VERSION = "14.0.0"
RETRY_STATUSES = (500, 502, 503, 504)
MAX_BACKOFF = 8.0


class RunListExpansion(list):
    """The expanded recipe names, in run order; ``roles`` lists every role applied."""

    def __init__(self, recipes: list[str], roles: list[str]):
        super().__init__(recipes)
        self.roles = roles


def expand_run_list(run_list: list[str], environment: str,
                    fetch_role: Callable[[str], dict | None]) -> RunListExpansion:
    """Expand role[...] entries recursively into recipe names, as chef-client does.

    A role contributes ``env_run_lists[environment]`` when it has one, else its
    ``run_list``.  Each recipe and role is applied once, first occurrence wins.
    ``fetch_role(name)`` returns the role as a dict, or None when it does not exist.
    Recipes keep any version pin (``recipe[x@1.0.0]`` -> ``x@1.0.0``).
    """
    recipes: list[str] = []
    roles: list[str] = []

    def walk(items: list[str], parents: tuple[str, ...]) -> None:
        for item in items:
            try:
                kind, name = names.parse_run_list_item(item)
            except ValueError as exc:
                raise RunListError(str(exc)) from None
            if kind == "role":
                if name in roles:
                    continue
                roles.append(name)
                role = fetch_role(name)
                if role is None:
                    via = f" (reached through role {' -> '.join(parents)})" if parents else ""
                    raise RunListError(f"run list names role {name!r}{via}, which does not exist "
                                       f"on the Chef server")
                env_run_lists = role.get("env_run_lists") or {}
                walk(env_run_lists.get(environment, role.get("run_list") or []), parents + (name,))
            elif name not in recipes:
                recipes.append(name)

    walk(list(run_list or []), ())
    return RunListExpansion(recipes, roles)


def new_node(name: str, environment: str = "_default", run_list: list[str] | None = None,
             normal: dict | None = None) -> dict:
    """A node body in the shape every Chef server accepts."""
    return {"name": name, "json_class": "Chef::Node", "chef_type": "node",
            "chef_environment": environment, "run_list": list(run_list or []),
            "normal": dict(normal or {}), "default": {}, "override": {}, "automatic": {}}


def _require_name(body: dict, what: str, field: str = "name") -> str:
    if not isinstance(body, dict):
        raise ValueError(f"{what}: expected a JSON object, got {type(body).__name__}")
    name = body.get(field)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what}: field {field!r} is required and must be a non-empty string")
    return name


def _refused(exc: BaseException) -> bool:
    """True when somewhere in the chain requests/urllib3 wrap, the OS said "connection refused"."""
    pending, seen = [exc], set()
    while pending:
        error = pending.pop()
        if not isinstance(error, BaseException) or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, ConnectionRefusedError):
            return True
        pending += [getattr(error, "reason", None), error.__cause__, error.__context__, *error.args]
    return False


def _segment(name: str) -> str:
    return quote(str(name), safe="")


class ChefServer:
    def __init__(self, url: str, client_name: str, key: str | bytes | os.PathLike, *,
                 auth_version: str = "1.3", verify: bool | str = True, timeout: float = 30.0,
                 server_api_version: str = "0", connect_timeout: float = 5.0, retries: int = 3,
                 backoff: float = 0.5, retry_budget: float = 60.0):
        if not url or not urlsplit(url).scheme or not urlsplit(url).netloc:
            raise ValueError(f"chef server url: expected http(s)://host:port[/organizations/org], "
                             f"got {url!r}")
        if retries < 0 or timeout <= 0 or connect_timeout <= 0 or backoff < 0:
            raise ValueError("timeouts must be positive, retries and backoff not negative")
        self.url = url.rstrip("/")
        self.client_name = client_name
        self.timeout = timeout                  # for the answer, once connected
        self.connect_timeout = connect_timeout  # for the connection itself
        self.retries = retries
        self.backoff = backoff
        self.retry_budget = retry_budget        # no new attempt after this long
        self._session = requests.Session()
        self._session.auth = ChefAuth(client_name, key, version=auth_version,
                                      server_api_version=server_api_version)
        self._session.verify = verify
        self._session.headers.update({"Accept": "application/json",
                                      "X-Chef-Version": CHEF_CLIENT_VERSION})

    @classmethod
    def from_config(cls, cfg) -> "ChefServer":
        """The deployer's admin identity from a deployer.config.Config.

        A key file that does not exist yet means the (embedded) server was never set
        up, which callers treat like an unreachable server.
        """
        key_path = Path(cfg.chef_client_key)
        if not key_path.is_file():
            raise ChefUnavailable(None, f"the Chef client key {key_path} does not exist; start or "
                                        f"configure the Chef server first", "-", cfg.chef_server_url)
        return cls(cfg.chef_server_url, cfg.chef.client_name, cfg.chef_client_key,
                   auth_version=cfg.chef.auth_version, verify=cfg.chef.verify_tls,
                   timeout=cfg.chef.timeout, connect_timeout=cfg.chef.connect_timeout,
                   retries=cfg.chef.retries, retry_budget=cfg.chef.retry_budget)

    def __repr__(self) -> str:
        return f"ChefServer({self.url!r}, client_name={self.client_name!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "ChefServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transport -----------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, params: dict | None = None) -> Any:
        """A JSON request to ``path`` below the server URL; the decoded reply, or None when empty."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"} if data is not None else {}
        response = self._send(method, self.url + "/" + path.lstrip("/"), data=data,
                              params=params, headers=headers, shown_path=path)
        return self._decode(response, method, path)

    def request_url(self, method: str, url: str, data: bytes | None = None,
                    headers: dict | None = None) -> requests.Response:
        """A request to a URL the server handed out (file store, sandbox upload).

        Only its path and query are used, on this client's own scheme and host:
        goiardi builds those URLs from a host name that may not resolve here.
        """
        parts = urlsplit(url)
        own = urlsplit(self.url)
        target = urlunsplit((own.scheme, own.netloc, parts.path, parts.query, ""))
        response = self._send(method, target, data=data, headers=headers or {}, shown_path=parts.path)
        if response.status_code >= 400:
            raise self._error(response, method, parts.path)
        return response

    def _send(self, method: str, url: str, *, data: bytes | None, headers: dict,
              params: dict | None = None, shown_path: str) -> requests.Response:
        """One request, sent again on no answer or a 5xx; the last reply or a ChefUnavailable.

        No new attempt starts once ``retry_budget`` seconds have passed since the
        first, so a stalled server holds a caller (an API request) for about two
        answer timeouts, not ``retries`` of them.
        """
        started = time.monotonic()
        attempts = 0
        response: requests.Response | None = None
        failure: ChefUnavailable | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                delay = min(self.backoff * 2 ** (attempt - 1), MAX_BACKOFF)
                delay *= random.uniform(0.5, 1.0)            # jitter: retries do not stampede
                if time.monotonic() - started + delay >= self.retry_budget:
                    break
                time.sleep(delay)
            attempts += 1
            try:
                response = self._session.request(method, url, data=data, params=params,
                                                 headers=headers,
                                                 timeout=(self.connect_timeout, self.timeout))
            except requests.RequestException as exc:
                response, failure = None, self._unavailable(exc, method, shown_path)
                continue
            if response.status_code not in RETRY_STATUSES:
                return response
        if response is not None:
            return response         # the last 5xx; the caller turns it into its error
        failure.message += (f" ({attempts} attempt{'s' if attempts > 1 else ''} in "
                            f"{time.monotonic() - started:.0f}s)")
        raise failure

    def _unavailable(self, exc: requests.RequestException, method: str,
                     path: str) -> ChefUnavailable:
        """Name what happened: a slow server (no answer) is not a dead one (no connection)."""
        if isinstance(exc, requests.ConnectTimeout):
            return ChefUnavailable(None, f"the Chef server at {self.url} did not accept a connection "
                                         f"within {self.connect_timeout:g}s (down or unreachable)",
                                   method, path)
        if isinstance(exc, requests.ReadTimeout):
            return ChefTimeout(None, f"the Chef server at {self.url} accepted the request but sent no "
                                     f"answer within {self.timeout:g}s (alive but slow or overloaded)",
                               method, path)
        if isinstance(exc, requests.ConnectionError) and _refused(exc):
            return ChefUnavailable(None, f"the Chef server at {self.url} refused the connection "
                                         "(not running)", method, path)
        return ChefUnavailable(None, f"cannot reach the Chef server at {self.url}: "
                                     f"{type(exc).__name__}: {exc}", method, path)

    def _decode(self, response: requests.Response, method: str, path: str) -> Any:
        if response.status_code >= 400:
            raise self._error(response, method, path)
        if not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError:
            raise ChefServerError(response.status_code, "reply is not JSON: "
                                  + response.text[:200], method, path) from None

    @staticmethod
    def _error(response: requests.Response, method: str, path: str) -> ChefServerError:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        errors = payload.get("error") if isinstance(payload, dict) else None
        if errors is None and isinstance(payload, dict):
            errors = payload.get("message")
        if errors is None:
            errors = response.text.strip()[:500] or response.reason or ""
        items = errors if isinstance(errors, list) else [errors]
        messages, missing, no_versions = [], [], []
        for item in items:
            if isinstance(item, str) and item.startswith("{"):
                try:  # some servers send the depsolver detail as a JSON string
                    item = json.loads(item)
                except ValueError:
                    pass
            if isinstance(item, dict):
                messages.append(str(item.get("message", "")))
                missing += item.get("non_existent_cookbooks") or []
                no_versions += item.get("cookbooks_with_no_versions") or []
            else:
                messages.append(str(item))
        message = "; ".join(m for m in messages if m) or f"HTTP {response.status_code}"
        if response.status_code == 412:
            return ChefDependencyError(412, message, method, path, non_existent_cookbooks=missing,
                                       cookbooks_with_no_versions=no_versions)
        return error_for_status(response.status_code, message, method, path)

    def get(self, path: str, body: Any = None, params: dict | None = None) -> Any:
        return self.request("GET", path, body, params)

    def post(self, path: str, body: Any = None, params: dict | None = None) -> Any:
        return self.request("POST", path, body, params)

    def put(self, path: str, body: Any = None, params: dict | None = None) -> Any:
        return self.request("PUT", path, body, params)

    def delete(self, path: str, body: Any = None, params: dict | None = None) -> Any:
        return self.request("DELETE", path, body, params)

    def _exists(self, path: str) -> bool:
        try:
            return self.get(path) is not None
        except ChefNotFound:
            return False

    def _names(self, path: str) -> list[str]:
        return sorted(self.get(path) or {})

    def _upsert(self, collection: str, body: dict) -> bool:
        """POST, then PUT when it already exists; True when it was created."""
        name = body["name"]
        try:
            self.post(collection, body)
            return True
        except ChefConflict:
            self.put(f"{collection}/{_segment(name)}", body)
            return False

    # -- nodes ---------------------------------------------------------------------

    def list_nodes(self) -> list[str]:
        return self._names("/nodes")

    def get_node(self, name: str) -> dict:
        return self.get(f"/nodes/{_segment(name)}")

    def create_node(self, node: dict) -> dict:
        name = _require_name(node, "node")
        body = {**new_node(name), **node}
        self.post("/nodes", body)
        return body

    def update_node(self, node: dict) -> dict:
        name = _require_name(node, "node")
        return self.put(f"/nodes/{_segment(name)}", node)

    def delete_node(self, name: str) -> None:
        self.delete(f"/nodes/{_segment(name)}")

    def node_exists(self, name: str) -> bool:
        return self._exists(f"/nodes/{_segment(name)}")

    def remove_node(self, name: str) -> dict[str, bool]:
        """The one way a node leaves Chef: its node object and its API client go.

        Returns {"node": existed, "client": existed}; already gone counts as removed.
        """
        existed = {}
        for kind, delete in (("node", self.delete_node), ("client", self.delete_client)):
            try:
                delete(name)
                existed[kind] = True
            except ChefNotFound:
                existed[kind] = False
        return existed

    # -- clients -------------------------------------------------------------------

    def create_client(self, name: str, admin: bool = False, public_key: str | None = None) -> dict:
        """Create an API client; ``private_key`` is the new PEM (None when public_key was given)."""
        body: dict[str, Any] = {"name": name, "admin": bool(admin)}
        if public_key:
            body["public_key"] = public_key
        reply = self.post("/clients", body) or {}
        chef_key = reply.get("chef_key") or {}  # Chef Server 12 API v1 shape
        return {"name": name, "uri": reply.get("uri"),
                "private_key": reply.get("private_key") or chef_key.get("private_key"),
                "public_key": reply.get("public_key") or chef_key.get("public_key") or public_key}

    def get_client(self, name: str) -> dict:
        return self.get(f"/clients/{_segment(name)}")

    def delete_client(self, name: str) -> None:
        self.delete(f"/clients/{_segment(name)}")

    def client_exists(self, name: str) -> bool:
        return self._exists(f"/clients/{_segment(name)}")

    def set_client_key(self, name: str, public_key: str) -> None:
        """Give an existing client a new public key (API v0 PUT); its old key stops working."""
        self.put(f"/clients/{_segment(name)}", {"name": name, "public_key": public_key})

    def register_client(self, name: str, public_key: str) -> bool:
        """The client ``name`` exists with ``public_key`` afterwards; True when it was created.

        Idempotent: run again, or retried after a POST whose answer was lost, it
        finds the client (409) and sets the key, never a second client.
        """
        try:
            self.post("/clients", {"name": name, "admin": False, "public_key": public_key})
            return True
        except ChefConflict:
            self.set_client_key(name, public_key)
            return False

    def register_node(self, name: str, environment: str, run_list: list[str]) -> bool:
        """The node ``name`` exists in ``environment`` with ``run_list``; True when it was created.

        An existing node keeps its other attributes (normal, automatic...).
        Idempotent like register_client.
        """
        try:
            self.post("/nodes", new_node(name, environment, run_list))
            return True
        except ChefConflict:
            node = self.get_node(name)
            node["run_list"] = list(run_list)
            node["chef_environment"] = environment
            self.update_node(node)
            return False

    def rekey_client(self, name: str) -> str:
        """Replace a client's key pair; returns the new private key PEM (the old key stops working)."""
        path = f"/clients/{_segment(name)}"
        reply = self.put(path, {"name": name, "private_key": True}) or {}
        if not reply.get("private_key"):
            raise ChefServerError(None, "the server did not return a new private key "
                                        "(it does not support rekeying through API v0)", "PUT", path)
        return reply["private_key"]

    # -- roles and environments ----------------------------------------------------

    def list_roles(self) -> list[str]:
        return self._names("/roles")

    def get_role(self, name: str) -> dict:
        return self.get(f"/roles/{_segment(name)}")

    def upsert_role(self, role: dict) -> bool:
        _require_name(role, "role")
        body = {"json_class": "Chef::Role", "chef_type": "role", "description": "",
                "run_list": [], "env_run_lists": {}, "default_attributes": {},
                "override_attributes": {}, **role}
        return self._upsert("/roles", body)

    def delete_role(self, name: str) -> None:
        self.delete(f"/roles/{_segment(name)}")

    def list_environments(self) -> list[str]:
        return self._names("/environments")

    def get_environment(self, name: str) -> dict:
        return self.get(f"/environments/{_segment(name)}")

    def upsert_environment(self, environment: dict) -> bool:
        _require_name(environment, "environment")
        body = {"json_class": "Chef::Environment", "chef_type": "environment", "description": "",
                "cookbook_versions": {}, "default_attributes": {}, "override_attributes": {},
                **environment}
        return self._upsert("/environments", body)

    def delete_environment(self, name: str) -> None:
        self.delete(f"/environments/{_segment(name)}")

    # -- data bags -----------------------------------------------------------------

    def list_data_bags(self) -> list[str]:
        return self._names("/data")

    def create_data_bag(self, name: str) -> bool:
        """Create the bag; False when it already existed."""
        try:
            self.post("/data", {"name": name})
            return True
        except ChefConflict:
            return False

    def list_data_bag(self, bag: str) -> list[str]:
        return self._names(f"/data/{_segment(bag)}")

    def get_item(self, bag: str, item_id: str) -> dict:
        return self.get(f"/data/{_segment(bag)}/{_segment(item_id)}")

    def upsert_item(self, bag: str, item: dict) -> bool:
        item_id = _require_name(item, f"data bag {bag} item", field="id")
        try:
            self.post(f"/data/{_segment(bag)}", item)
            return True
        except ChefConflict:
            self.put(f"/data/{_segment(bag)}/{_segment(item_id)}", item)
            return False

    def delete_item(self, bag: str, item_id: str) -> None:
        self.delete(f"/data/{_segment(bag)}/{_segment(item_id)}")

    def delete_data_bag(self, bag: str) -> None:
        self.delete(f"/data/{_segment(bag)}")

    # -- search --------------------------------------------------------------------

    def search(self, index: str, query: str = "*:*", rows: int = 1000) -> Iterator[dict]:
        """Every matching object, fetched ``rows`` at a time until a short page.

        goiardi reports ``total`` as the page size, so it is not used.
        """
        yield from self._pages("GET", index, query, rows, None)

    def partial_search(self, index: str, query: str, keys: dict[str, list[str]],
                       rows: int = 1000) -> Iterator[dict]:
        """Only the named attribute paths of each match, e.g. {"ip": ["automatic", "ipaddress"]}."""
        for row in self._pages("POST", index, query, rows, keys):
            yield row.get("data", row)

    def _pages(self, method: str, index: str, query: str, rows: int, body: dict | None) -> Iterator[dict]:
        if rows < 1:
            raise ValueError(f"rows: expected a positive page size, got {rows}")
        start = 0
        while True:
            page = self.request(method, f"/search/{_segment(index)}", body,
                                params={"q": query, "start": start, "rows": rows}) or {}
            found = page.get("rows") or []
            yield from found
            if len(found) < rows:
                return
            start += len(found)

    # -- cookbooks -----------------------------------------------------------------

    def list_cookbooks(self) -> dict[str, list[str]]:
        """{cookbook: [every version on the server, newest first]}."""
        listing = self.get("/cookbooks", params={"num_versions": "all"}) or {}
        return {name: [v["version"] for v in entry.get("versions", [])]
                for name, entry in sorted(listing.items())}

    def get_cookbook(self, name: str, version: str = "_latest") -> dict:
        return self.get(f"/cookbooks/{_segment(name)}/{_segment(version)}")

    def delete_cookbook(self, name: str, version: str, purge: bool = True) -> None:
        self.delete(f"/cookbooks/{_segment(name)}/{_segment(version)}",
                    params={"purge": "true"} if purge else None)

    def fetch_file(self, url: str) -> bytes:
        """The bytes of a cookbook file from the URL in its manifest entry."""
        return self.request_url("GET", url).content

    # -- run lists and the depsolver ----------------------------------------------

    def _role_or_none(self, name: str) -> dict | None:
        try:
            return self.get_role(name)
        except ChefNotFound:
            return None

    def expand_run_list(self, environment: str, run_list: list[str]) -> RunListExpansion:
        return expand_run_list(run_list, environment, self._role_or_none)

    def solve(self, environment: str, run_list: list[str]) -> dict[str, str]:
        """{cookbook: version} the server picks for this run list in this environment.

        Raises ChefDependencyError (412) naming missing cookbooks or unsatisfiable
        constraints, and RunListError for a malformed run list or a missing role.
        """
        return {name: cookbook["version"]
                for name, cookbook in self.solve_manifests(environment, run_list).items()}

    def solve_manifests(self, environment: str, run_list: list[str]) -> dict[str, dict]:
        """Like solve(), with each cookbook's full manifest (file URLs included)."""
        recipes = self.expand_run_list(environment, run_list)
        return self.post(f"/environments/{_segment(environment)}/cookbook_versions",
                         {"run_list": list(recipes)}) or {}
