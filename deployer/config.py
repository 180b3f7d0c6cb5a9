"""Deployer configuration: one INI file plus DEPLOYER_* environment overrides.

The embedded default needs no file at all: everything lives under one state
directory and every server listens on loopback.  Pointing the deployer at a
remote Heat (Keystone credentials from clouds.yaml or OS_* variables) and a
remote Chef server is a matter of setting ``[heat] mode = remote`` and
``[chef] mode = remote`` with their URLs and keys; no code changes.

Lookup order for the file: ``$DEPLOYER_CONFIG``, ``<state_dir>/deployer.conf``,
``/etc/deployer/deployer.conf``.  Any key can be overridden from the
environment as ``DEPLOYER_<SECTION>_<KEY>`` (e.g. ``DEPLOYER_HEAT_PORT``).
"""
from __future__ import annotations

import configparser
import dataclasses
import os
from pathlib import Path

DEFAULT_STATE_DIR = "/var/lib/deployer"
REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message names it."""


@dataclasses.dataclass(frozen=True)
class HeatSettings:
    mode: str = "embedded"          # embedded | remote
    bind_host: str = "127.0.0.1"
    port: int = 8006
    # remote mode: a clouds.yaml cloud name, or empty to use OS_* variables
    cloud: str = ""
    endpoint: str = ""              # optional override of the catalog endpoint
    # Heat's convergence engine starts independent resources 1 s apart (one
    # leaf per second), so N equal-order nodes begin over N seconds; the legacy
    # engine starts them together.  bench/node_ordering.py measures both.
    convergence_engine: bool = False
    # Heat's database: empty for heat.sqlite in the state directory, or an SQLAlchemy URL
    # (mysql+pymysql://heat:PASSWORD@host/heat?charset=utf8) for a MariaDB that takes
    # concurrent writers.  Holds a password: it goes only into the 0600 heat.conf.
    database_connection: str = ""

    @property
    def embedded_endpoint(self) -> str:
        return f"http://{self.bind_host}:{self.port}/v1/admin"


@dataclasses.dataclass(frozen=True)
class ChefSettings:
    mode: str = "embedded"          # embedded | remote
    bind_host: str = "127.0.0.1"
    port: int = 14545
    # remote mode (or explicit override): server URL, the admin identity and key
    server_url: str = ""
    client_name: str = "admin"
    client_key: str = ""            # path to the PEM key of client_name
    validator_name: str = "chef-validator"
    validator_key: str = ""
    auth_version: str = "1.3"       # 1.3, or 1.0 for old servers
    verify_tls: bool = True
    # Time limits of each request (seconds): connect_timeout for the connection
    # (a server that does not accept it is down), timeout for the answer (a busy
    # server may be slow); no answer or a 5xx is retried `retries` times with
    # backoff, but no attempt starts after retry_budget (an API request waiting
    # on a stalled server is held about two timeouts, not four).
    connect_timeout: float = 5.0
    timeout: float = 30.0
    retries: int = 3
    retry_budget: float = 60.0
    # The URL nodes use to reach the server (client.rb).  Empty: the configured
    # URL, with a loopback or wildcard host replaced by this host's address on the
    # SSH route to each node.  The embedded server must then listen where nodes
    # reach it (bind_host = 0.0.0.0 or that address).
    node_url: str = ""


@dataclasses.dataclass(frozen=True)
class ApiSettings:
    bind_host: str = "127.0.0.1"
    port: int = 8100
    workers: int = 2
    database_url: str = ""          # default: sqlite file in the state dir
    auth_strategy: str = "noauth"   # noauth (loopback only) | keystone
    run_workers: int = 0            # concurrent node runs; 0 = [runs] max_runs (older name)

    @property
    def url(self) -> str:
        return f"http://{self.bind_host}:{self.port}"


@dataclasses.dataclass(frozen=True)
class ContentSettings:
    """Where the shipped templates, Chef environments, roles and cookbooks are."""
    hot_templates_dir: str = str(REPO_ROOT / "hot_templates")
    chef_environments_dir: str = str(REPO_ROOT / "environments" / "chef")
    heat_environments_dir: str = str(REPO_ROOT / "environments" / "heat")
    roles_dir: str = str(REPO_ROOT / "roles")
    cookbooks_dir: str = str(REPO_ROOT / "cookbooks")


@dataclasses.dataclass(frozen=True)
class BootstrapSettings:
    """How node runs get chef-client onto a bare server (see contract.ChefInstallSource)."""
    chef_client_install: str = "present"   # present | copy | url | command
    chef_client_location: str = ""


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """How often workers heartbeat and when a silent run counts as abandoned (seconds).

    The API and the worker read the same section, so both agree on the threshold.
    """
    heartbeat_interval: float = 5.0   # worker -> DB, per active run
    dead_after: float = 60.0          # no heartbeat for this long = worker gone
    reap_interval: float = 15.0       # how often a worker looks for abandoned runs
    poll_interval: float = 0.5        # how often an idle worker looks for queued runs
    timeout_grace: float = 30.0       # past the run's timeout, stop waiting for the runner
    # Liveness of the node itself: an SSH keepalive this often, and a node that
    # sends nothing back (not even a keepalive answer) this long fails the phase
    # it is in, naming node and phase (link down, host hung, power lost).
    keepalive_interval: float = 10.0
    idle_timeout: float = 60.0
    # Concurrency of one worker process, sized for a 100-node order group on a
    # 2-core under-cloud: every run of a group starts at once (a run mostly
    # waits on its node).  SSH handshakes cost this host about 3 ms of CPU each,
    # so they are not queued for a group of 100 (bench/ssh_connect.py: 16 slots
    # made 80 handshakes 1.2x slower); lower it for a jump host's sshd
    # MaxStartups.  The register phase (an RSA key pair made here, then the
    # Chef server calls) queues for 32 slots (bench/chef_registration.py --burst:
    # 0.90x of unlimited; 8 slots were 1.20x), which also bounds the load on a
    # remote Chef server.
    max_runs: int = 100
    ssh_connect_concurrency: int = 100
    register_concurrency: int = 32


@dataclasses.dataclass(frozen=True)
class Config:
    state_dir: Path
    heat: HeatSettings
    chef: ChefSettings
    api: ApiSettings
    content: ContentSettings = ContentSettings()
    bootstrap: BootstrapSettings = BootstrapSettings()
    runs: RunSettings = RunSettings()
    source: str = ""                # the file that was read, if any

    # Derived locations inside the state directory, one place to change them.
    @property
    def heat_dir(self) -> Path:
        return self.state_dir / "heat"

    @property
    def chef_dir(self) -> Path:
        return self.state_dir / "chef"

    @property
    def api_dir(self) -> Path:
        return self.state_dir / "api"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "log"

    @property
    def chef_server_url(self) -> str:
        if self.chef.server_url:
            return self.chef.server_url.rstrip("/")
        host = "127.0.0.1" if self.chef.bind_host in ("0.0.0.0", "") else self.chef.bind_host
        return f"http://{host}:{self.chef.port}"

    @property
    def chef_client_key(self) -> Path:
        if self.chef.client_key:
            return Path(self.chef.client_key)
        return self.chef_dir / "conf" / "admin.pem"

    @property
    def chef_validator_key(self) -> Path:
        if self.chef.validator_key:
            return Path(self.chef.validator_key)
        return self.chef_dir / "conf" / "chef-validator.pem"

    @property
    def run_slots(self) -> int:
        """How many node runs a worker executes at once."""
        return self.api.run_workers or self.runs.max_runs

    @property
    def database_url(self) -> str:
        return self.api.database_url or f"sqlite:///{self.api_dir / 'deployer.sqlite'}"


def _coerce(field: dataclasses.Field, raw: str, where: str):
    kind = field.type if isinstance(field.type, str) else field.type.__name__
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
    except ValueError:
        raise ConfigError(f"{where}: expected {kind}, got {raw!r}") from None
    return raw


def _section(cls, parser: configparser.ConfigParser, name: str, env: dict):
    values = {}
    for field in dataclasses.fields(cls):
        env_key = f"DEPLOYER_{name.upper()}_{field.name.upper()}"
        if env_key in env:
            values[field.name] = _coerce(field, env[env_key], env_key)
        elif parser.has_option(name, field.name):
            values[field.name] = _coerce(field, parser.get(name, field.name),
                                         f"[{name}] {field.name}")
    settings = cls(**values)
    mode = getattr(settings, "mode", None)
    if mode is not None and mode not in ("embedded", "remote"):
        raise ConfigError(f"[{name}] mode: expected 'embedded' or 'remote', got {mode!r}")
    return settings


def load(path: str | os.PathLike | None = None, env: dict | None = None) -> Config:
    """Read the configuration; a missing file means the embedded defaults."""
    env = dict(os.environ if env is None else env)
    state_dir = Path(env.get("DEPLOYER_STATE_DIR", DEFAULT_STATE_DIR))
    candidates = [path, env.get("DEPLOYER_CONFIG"), state_dir / "deployer.conf",
                  "/etc/deployer/deployer.conf"]
    parser = configparser.ConfigParser(interpolation=None)
    source = ""
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            parser.read(candidate)
            source = str(candidate)
            break
        if candidate and candidate in (path, env.get("DEPLOYER_CONFIG")):
            raise ConfigError(f"configuration file {candidate} does not exist")
    if "DEPLOYER_STATE_DIR" not in env and parser.has_option("DEFAULT", "state_dir"):
        state_dir = Path(parser.get("DEFAULT", "state_dir"))
    api = _section(ApiSettings, parser, "api", env)
    if api.auth_strategy not in ("noauth", "keystone"):
        raise ConfigError(f"[api] auth_strategy: expected noauth or keystone, got {api.auth_strategy!r}")
    runs = _section(RunSettings, parser, "runs", env)
    if runs.dead_after <= 2 * runs.heartbeat_interval:
        raise ConfigError("[runs] dead_after must exceed twice heartbeat_interval")
    for key in ("max_runs", "ssh_connect_concurrency", "register_concurrency"):
        if getattr(runs, key) < 1:
            raise ConfigError(f"[runs] {key} must be at least 1")
    if runs.idle_timeout and not 0 < runs.keepalive_interval < runs.idle_timeout:
        raise ConfigError("[runs] idle_timeout must exceed keepalive_interval (and keepalives "
                          "must be on), or a busy but quiet node looks dead")
    return Config(state_dir=state_dir.resolve(),
                  heat=_section(HeatSettings, parser, "heat", env),
                  chef=_section(ChefSettings, parser, "chef", env),
                  api=api,
                  content=_section(ContentSettings, parser, "content", env),
                  bootstrap=_section(BootstrapSettings, parser, "bootstrap", env),
                  runs=runs, source=source)


def write_file(path: str | os.PathLike, sections: dict[str, dict[str, object]]) -> Path:
    """Write a deployer.conf from {section: {key: value}} (used by set-up tools and tests)."""
    parser = configparser.ConfigParser(interpolation=None)
    for section, values in sections.items():
        if section != "DEFAULT" and not parser.has_section(section):
            parser.add_section(section)
        for key, value in values.items():
            parser.set(section, key, str(value))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        parser.write(handle)
    return path
