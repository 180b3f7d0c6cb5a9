"""The embedded under-cloud Heat: engine and API in one process, no Keystone.

Layout under ``state_dir``::

    heat.conf              rendered from etc/heat/heat.conf.tmpl (+ extra_conf), mode 0600
    auth_encryption_key    per-installation key, mode 0600 (hidden parameters are encrypted with it)
    token_file.json        fake Keystone token whose catalog points at this Heat
    heat.sqlite            Heat's database (kept across restarts), unless database_url names another
    heat.log, heat.pid

The process is ``python -m deployer.undercloud.heat_all`` (see there why heat
25+ needs our own launcher).  The API runs the ``noauth`` paste flavor, so it
must listen on loopback or another trusted address only.
"""
from __future__ import annotations

import configparser
import dataclasses
import datetime
import importlib.metadata
import importlib.util
import io
import json
import os
import secrets
import sqlite3
import string
import subprocess
import sys
import urllib.request
from pathlib import Path

from deployer.config import REPO_ROOT
from deployer.undercloud.process import ManagedProcess, ProcessError

CONFIG_TEMPLATE = REPO_ROOT / "etc" / "heat" / "heat.conf.tmpl"
DEFAULT_PLUGIN_DIR = REPO_ROOT / "heat_plugins"
HEAT_DISTRIBUTION = "openstack-heat"
# heat-manage of the same interpreter (heat.cmd.manage has no __main__ guard).
HEAT_MANAGE = "import warnings; warnings.simplefilter('ignore'); from heat.cmd.manage import main; main()"
# The fake token never expires in practice: nothing here can renew it.
TOKEN_LIFETIME = datetime.timedelta(days=3650)


@dataclasses.dataclass(frozen=True)
class HeatStatus:
    running: bool
    pid: int | None
    endpoint: str
    rss_bytes: int


def heat_data_dir() -> Path:
    """``etc/heat`` as installed with the openstack-heat package (api-paste.ini, templates).

    pip installs it under the environment's prefix (``<venv>/etc/heat``), not
    ``/etc/heat``; the package's file list says where exactly.
    """
    try:
        dist = importlib.metadata.distribution(HEAT_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise ProcessError(f"Heat: the {HEAT_DISTRIBUTION} package is not installed in "
                           f"{sys.prefix} (pip install -e . or run scripts/install.sh)") from None
    for entry in dist.files or ():
        if entry.as_posix().endswith("etc/heat/api-paste.ini"):
            return Path(dist.locate_file(entry)).resolve().parent
    for candidate in (Path(sys.prefix) / "etc" / "heat", Path("/etc/heat")):
        if (candidate / "api-paste.ini").is_file():
            return candidate
    raise ProcessError(f"Heat: {HEAT_DISTRIBUTION} is installed but its etc/heat/api-paste.ini "
                       f"was not found (looked in the package file list, {sys.prefix}/etc/heat "
                       f"and /etc/heat)")


def _check_extra_conf(extra_conf: dict[str, dict[str, object]]) -> None:
    for section, values in extra_conf.items():
        if not isinstance(section, str) or not section or any(c in section for c in "[]\r\n"):
            raise ValueError(f"extra_conf: bad section name {section!r}")
        if not isinstance(values, dict):
            raise ValueError(f"extra_conf[{section!r}]: expected a dict of option: value")
        for key, value in values.items():
            if not isinstance(key, str) or not key or any(c in key for c in "=:[]\r\n"):
                raise ValueError(f"extra_conf[{section!r}]: bad option name {key!r}")
            if any(c in str(value) for c in "\r\n"):
                raise ValueError(f"extra_conf[{section!r}][{key!r}]: value must be one line")


class EmbeddedHeat(ManagedProcess):
    """Heat engine + API on ``host:port``, all state in ``state_dir``."""

    def __init__(self, state_dir: Path, host: str = "127.0.0.1", port: int = 8006,
                 plugin_dirs: list[Path] | None = None,
                 extra_conf: dict[str, dict[str, str]] | None = None,
                 database_url: str | None = None):
        self.state_dir = Path(state_dir)
        # None: heat.sqlite here.  Another URL may hold a password: it is written to the
        # 0600 heat.conf only (oslo.db's option is secret, so Heat never logs it).
        self.database_url = database_url
        self.plugin_dirs = [Path(p) for p in (plugin_dirs or [DEFAULT_PLUGIN_DIR])]
        _check_extra_conf(extra_conf or {})
        self.extra_conf = {section: {key: str(value) for key, value in options.items()}
                           for section, options in (extra_conf or {}).items()}
        super().__init__(
            name="Heat (engine + API)",
            argv=[sys.executable, "-m", "deployer.undercloud.heat_all",
                  "--config-file", str(self.conf_file)],
            pid_file=self.state_dir / "heat.pid", log_file=self.state_dir / "heat.log",
            ready=self._api_ready, host=host, port=int(port), cwd=self.state_dir,
            env=self._process_env(), start_timeout=90.0, stop_timeout=20.0)

    # -- locations --------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"{self.api_root}v1/admin"

    @property
    def api_root(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def conf_file(self) -> Path:
        return self.state_dir / "heat.conf"

    @property
    def db_file(self) -> Path:
        return self.state_dir / "heat.sqlite"

    @property
    def token_file(self) -> Path:
        return self.state_dir / "token_file.json"

    @property
    def key_file(self) -> Path:
        return self.state_dir / "auth_encryption_key"

    # -- set-up -----------------------------------------------------------------

    def configure(self) -> Path:
        """Write heat.conf and the token file; keeps the database and the encryption key."""
        data_dir = heat_data_dir()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for plugin_dir in self.plugin_dirs:
            if not plugin_dir.is_dir():
                raise ProcessError(f"Heat: plugin directory {plugin_dir} does not exist")
        values = {
            "log_file": str(self.log_file),
            "auth_encryption_key": self._encryption_key(),
            "plugin_dirs": ",".join(str(p.resolve()) for p in self.plugin_dirs),
            "environment_dir": str(data_dir / "environment.d"),
            "template_dir": str(data_dir / "templates"),
            "api_root": self.api_root,
            "bind_host": self.host,
            "bind_port": str(self.port),
            "token_file": str(self.token_file),
            "api_paste_config": str(data_dir / "api-paste.ini"),
            # oslo.config reads $name as a reference to another option: $$ is a literal $.
            "database_url": (self.database_url or f"sqlite:///{self.db_file}").replace("$", "$$"),
        }
        text = string.Template(CONFIG_TEMPLATE.read_text()).substitute(values)
        if self.extra_conf:
            text = self._merge_extra_conf(text)
        _write_private(self.conf_file, text)
        _write_private(self.token_file, json.dumps(self._token(), indent=1) + "\n")
        return self.conf_file

    def _merge_extra_conf(self, text: str) -> str:
        parser = configparser.ConfigParser(interpolation=None, default_section="\x00none")
        parser.optionxform = str  # oslo.config option names are case-sensitive
        parser.read_string(text)
        for section, values in self.extra_conf.items():
            if not parser.has_section(section):
                parser.add_section(section)
            for key, value in values.items():
                parser.set(section, key, value)
        out = io.StringIO()
        out.write(f"# Rendered from {CONFIG_TEMPLATE.name} with extra_conf applied.\n")
        parser.write(out)
        return out.getvalue()

    def _encryption_key(self) -> str:
        if self.key_file.is_file():
            key = self.key_file.read_text().strip()
            if len(key) == 32:
                return key
            raise ProcessError(f"Heat: {self.key_file} must hold a 32-character key; "
                               f"restore it (stored hidden parameters need it)")
        key = secrets.token_hex(16)
        _write_private(self.key_file, key + "\n")
        return key

    def _token(self) -> dict:
        """A Keystone v3 token body whose catalog names this Heat (noauth hands it to the engine)."""
        now = datetime.datetime.now(datetime.timezone.utc)
        stamp = "%Y-%m-%dT%H:%M:%S.000000Z"
        domain = {"id": "default", "name": "Default"}

        def service(kind: str, name: str, url: str) -> dict:
            return {"type": kind, "name": name, "id": name,
                    "endpoints": [{"url": url, "interface": interface, "region": "regionOne",
                                   "region_id": "regionOne", "id": f"{name}-{interface}"}
                                  for interface in ("public", "internal", "admin")]}
        return {"token": {
            "is_domain": False, "methods": ["password"],
            "roles": [{"id": "admin", "name": "admin"}],
            "expires_at": (now + TOKEN_LIFETIME).strftime(stamp),
            "issued_at": now.strftime(stamp),
            "project": {"domain": domain, "id": "admin", "name": "admin"},
            "user": {"domain": domain, "id": "admin", "name": "admin"},
            "audit_ids": [secrets.token_urlsafe(16)],
            "catalog": [service("orchestration", "heat", self.endpoint),
                        service("identity", "keystone", f"http://{self.host}/v3")],
        }}

    def db_sync(self) -> bool:
        """Create or upgrade Heat's schema when it is not at the installed head; True if it ran."""
        if self._schema_current():
            return False
        if not self.conf_file.is_file():
            self.configure()
        result = subprocess.run(
            [sys.executable, "-c", HEAT_MANAGE, "--config-file", str(self.conf_file), "db_sync"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, env=self.env,
            cwd=self.state_dir)
        if result.returncode != 0:
            detail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
            raise ProcessError(f"Heat: heat-manage db_sync failed (exit {result.returncode}):\n"
                               f"{detail}\nfull log: {self.log_file}")
        return True

    def purge_deleted(self, age: int = 0, granularity: str = "days") -> int:
        """Remove stacks deleted at least ``age`` ``granularity`` ago, with all their rows.

        Works while Heat runs.  Returns how many stacks were purged.
        """
        result = subprocess.run(
            [sys.executable, "-m", "deployer.undercloud.heat_purge", "--config-file",
             str(self.conf_file), "--age", str(age), "--granularity", granularity],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, env=self.env,
            cwd=self.state_dir)
        if result.returncode != 0:
            detail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
            raise ProcessError(f"Heat: purging deleted stacks failed (exit {result.returncode}):\n{detail}")
        return int(result.stdout.split()[1])

    def _schema_current(self) -> bool:
        if self.database_url or self.extra_conf.get("database", {}).get("connection"):
            return False  # another database: let heat-manage decide, it is idempotent
        if not self.db_file.is_file():
            return False
        try:
            with sqlite3.connect(f"file:{self.db_file}?mode=ro", uri=True) as db:
                current = {row[0] for row in db.execute("SELECT version_num FROM alembic_version")}
        except sqlite3.Error:
            return False
        return current == _schema_heads()

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> int:
        """Write the current configuration, start, wait for the API.

        The launcher migrates the schema itself before its engine starts
        (heat_all._migrate_schema), so a cold start imports Heat once.
        """
        if importlib.util.find_spec("heat") is None:
            raise ProcessError(f"Heat: the {HEAT_DISTRIBUTION} package is not installed for "
                               f"{sys.executable} (pip install -e . or run scripts/install.sh)")
        if self.running():
            return self.pid()
        # Always re-rendered: a file left by an earlier run may name another port or plugin dir.
        self.configure()
        return super().start()

    def status(self) -> HeatStatus:
        return HeatStatus(running=self.running(), pid=self.pid(), endpoint=self.endpoint,
                          rss_bytes=self.rss_bytes())

    def _api_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/stacks", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def _process_env(self) -> dict[str, str]:
        env = dict(os.environ)
        # The launcher and the plugins import the deployer package even from a plain checkout.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        return env


def _schema_heads() -> set[str]:
    from alembic.script import ScriptDirectory
    spec = importlib.util.find_spec("heat")
    migrations = Path(spec.origin).parent / "db" / "migrations"
    return set(ScriptDirectory(str(migrations)).get_heads())


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(0o600)
