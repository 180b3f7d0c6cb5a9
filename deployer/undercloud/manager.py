"""The embedded under-cloud as one unit: start, stop and report its servers.

Start order follows the data flow: the Chef server first (the API needs its
keys), then the deployer database migrations, then the deployer API and its
worker side by side.  Heat needs none of them to start (its node resources
call the API only when a stack runs), so it starts at once, beside the rest;
``up`` returns when every part is ready.  Stop runs in reverse.  In remote
mode a part is not started here; ``status`` says where it is reached instead.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import threading
import sys
import time
from pathlib import Path

from deployer.config import REPO_ROOT, Config
from deployer.undercloud.process import ManagedProcess, ProcessError, http_ready


@dataclasses.dataclass
class ComponentStatus:
    name: str
    running: bool
    pid: int | None
    endpoint: str
    rss_bytes: int = 0
    note: str = ""


# The worker serves no port: it is up once it has outlived its imports and DB set-up.
WORKER_STARTUP_SECONDS = 1.5


def _survives(seconds: float):
    started = time.monotonic()

    def probe() -> bool:
        return time.monotonic() - started >= seconds
    return probe


class Undercloud:
    """The servers of the embedded under-cloud described by one Config."""

    def __init__(self, cfg: Config):
        self.cfg = cfg

    # -- the parts ------------------------------------------------------------

    def chef_server(self):
        from urllib.parse import urlsplit
        from deployer.undercloud.goiardi import EmbeddedChefServer
        # goiardi puts this host in the cookbook file URLs a real chef-client downloads.
        advertised = (urlsplit(self.cfg.chef.node_url).hostname if self.cfg.chef.node_url
                      else urlsplit(self.cfg.chef_server_url).hostname)
        return EmbeddedChefServer(self.cfg.chef_dir, host=self.cfg.chef.bind_host,
                                  port=self.cfg.chef.port, advertised_host=advertised)

    def heat(self):
        from deployer.undercloud.heat import EmbeddedHeat
        return EmbeddedHeat(self.cfg.heat_dir, host=self.cfg.heat.bind_host, port=self.cfg.heat.port,
                            plugin_dirs=[REPO_ROOT / "heat_plugins"],
                            database_url=self.cfg.heat.database_connection or None,
                            extra_conf={
                                "DEFAULT": {"convergence_engine":
                                            str(self.cfg.heat.convergence_engine).lower()},
                                "deployer": {"api_url": self.cfg.api.url}})

    def _service_env(self) -> dict:
        env = dict(os.environ)
        env["DEPLOYER_STATE_DIR"] = str(self.cfg.state_dir)
        if self.cfg.source:
            env["DEPLOYER_CONFIG"] = self.cfg.source
        return env

    def _cli(self, *command: str) -> list[str]:
        return [sys.executable, "-m", "deployer.cli.main", *command]

    def api(self) -> ManagedProcess:
        api = self.cfg.api
        # `deployer api serve` execs gunicorn with etc/deployer/gunicorn.conf.py.
        return ManagedProcess(
            name="deployer API (gunicorn)", argv=self._cli("api", "serve"),
            pid_file=self.cfg.api_dir / "api.pid", log_file=self.cfg.log_dir / "api.log",
            ready=http_ready(f"{api.url}/healthcheck"), host=api.bind_host, port=api.port,
            env=self._service_env())

    def worker(self, executor: str | None = None) -> ManagedProcess:
        """``executor``: a ``module:factory`` other than the SSH bootstrap (tests)."""
        argv = self._cli("worker", *(("--executor", executor) if executor else ()))
        return ManagedProcess(
            name="deployer worker", argv=argv,
            pid_file=self.cfg.api_dir / "worker.pid", log_file=self.cfg.log_dir / "worker.log",
            ready=_survives(WORKER_STARTUP_SECONDS), env=self._service_env())

    # -- lifecycle --------------------------------------------------------------

    def up(self, sync_content: bool = True, report=print) -> dict[str, float]:
        """Start every embedded part; returns seconds spent per part (parts overlap).

        Independent parts start in parallel; when one fails, ``up`` still waits
        for the others to settle before raising the first failure, so nothing
        is left half-started behind the error.
        """
        _make_private_dir(self.cfg.state_dir)
        timings: dict[str, float] = {}
        lock = threading.Lock()

        def step(label, action):
            started = time.monotonic()
            action()
            with lock:
                timings[label] = time.monotonic() - started
                report(f"{label}: ready in {timings[label]:.2f} s")

        def chef_then_deployer():
            if self.cfg.chef.mode == "embedded":
                chef = self.chef_server()
                step("chef server", lambda: (chef.configure(), chef.start()))
            step("database", self._migrate)
            _run_parallel([lambda: step("deployer API", self.api().start),
                           lambda: step("deployer worker", self.worker().start)])

        branches = [chef_then_deployer]
        if self.cfg.heat.mode == "embedded":
            heat = self.heat()
            branches.append(lambda: step("heat", lambda: (heat.configure(), heat.start())))
        _run_parallel(branches)
        if sync_content:
            step("chef content", self.sync_chef_content)
        return timings

    def down(self, report=print) -> None:
        parts = []
        if self.cfg.heat.mode == "embedded":
            parts.append(("heat", self.heat()))
        parts += [("deployer worker", self.worker()), ("deployer API", self.api())]
        if self.cfg.chef.mode == "embedded":
            parts.append(("chef server", self.chef_server()))
        for label, part in parts:
            report(f"{label}: {'stopped' if part.stop() else 'was not running'}")

    def _migrate(self) -> None:
        from sqlalchemy.engine import make_url
        from deployer.db.migrate import upgrade
        upgrade(self.cfg)
        url = make_url(self.cfg.database_url)
        if url.get_backend_name() == "sqlite" and url.database:
            os.chmod(url.database, 0o600)   # created by this process, under its own umask

    def sync_chef_content(self) -> None:
        """Upload the shipped cookbooks and roles to the Chef server (unchanged ones are kept)."""
        import json
        from deployer.chef.cookbooks import upload_all
        from deployer.chef.server import ChefServer
        server = ChefServer.from_config(self.cfg)
        cookbooks = Path(self.cfg.content.cookbooks_dir)
        if cookbooks.is_dir() and any(cookbooks.iterdir()):
            upload_all(server, cookbooks)
        for role_file in sorted(Path(self.cfg.content.roles_dir).glob("*.json")):
            server.upsert_role(json.loads(role_file.read_text()))

    def status(self) -> list[ComponentStatus]:
        rows = []
        if self.cfg.chef.mode == "embedded":
            chef = self.chef_server().process
            rows.append(ComponentStatus("chef server (goiardi)", chef.running(), chef.pid(),
                                        self.cfg.chef_server_url, chef.rss_bytes()))
        else:
            rows.append(ComponentStatus("chef server", True, None, self.cfg.chef_server_url,
                                        note="remote"))
        for proc, endpoint in ((self.api(), self.cfg.api.url), (self.worker(), "-")):
            rows.append(ComponentStatus(proc.name, proc.running(), proc.pid(), endpoint,
                                        proc.rss_bytes()))
        if self.cfg.heat.mode == "embedded":
            heat = self.heat()
            rows.append(ComponentStatus("heat (engine + API)", heat.running(), heat.pid(),
                                        heat.endpoint, heat.rss_bytes()))
        else:
            rows.append(ComponentStatus("heat", True, None,
                                        self.cfg.heat.endpoint or f"cloud {self.cfg.heat.cloud or 'OS_*'}",
                                        note="remote"))
        return rows


def _make_private_dir(path: Path) -> None:
    """The state dir holds keys, databases and logs: nobody but its owner may enter it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def _run_parallel(actions) -> None:
    """Run ``actions`` in threads; after all have finished, raise the first failure."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(actions)) as pool:
        futures = [pool.submit(action) for action in actions]
    for future in futures:
        future.result()


__all__ = ["Undercloud", "ComponentStatus", "ProcessError"]
