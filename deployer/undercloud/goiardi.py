"""The embedded Chef server: goiardi on loopback, authentication on, state in one directory.

Layout under ``state_dir``::

    conf/goiardi.conf            rendered from etc/goiardi/goiardi.conf.tmpl
    conf/admin.pem               admin user key      (written by goiardi on first start)
    conf/chef-validator.pem      validator client key
    data/goiardi-data.bin        objects   } saved every freeze interval and on SIGTERM
    data/goiardi-index.bin       search index
    lfs/<md5>                    cookbook files
    goiardi.log, goiardi.pid

goiardi creates the admin and validator keys only when it finds no data file,
so keys and data always belong together; a data file without its admin key
would lock the deployer out, and start() refuses that case rather than
running a server nobody can administer.
"""
from __future__ import annotations

import json
import shutil
import string
from pathlib import Path

from deployer.config import REPO_ROOT, Config
from deployer.undercloud.process import ManagedProcess, ProcessError, tcp_ready

GOIARDI_BINARY = "/usr/bin/goiardi"
CONFIG_TEMPLATE = REPO_ROOT / "etc" / "goiardi" / "goiardi.conf.tmpl"
FREEZE_INTERVAL_SECONDS = 10


class EmbeddedChefServer:
    def __init__(self, state_dir: Path, host: str = "127.0.0.1", port: int = 14545, *,
                 advertised_host: str | None = None):
        """``advertised_host``: the name goiardi puts in the URLs it returns (cookbook file
        URLs a real chef-client downloads); defaults to ``host``."""
        self.state_dir = Path(state_dir)
        self.host = host
        self.advertised_host = advertised_host or host
        self.port = int(port)
        self.process = ManagedProcess(
            name="goiardi (Chef server)", argv=[GOIARDI_BINARY, "-c", str(self.config_file)],
            pid_file=self.state_dir / "goiardi.pid", log_file=self.log_file,
            ready=self._ready, host=host, port=self.port, cwd=self.state_dir, start_timeout=30.0)

    @classmethod
    def from_config(cls, cfg: Config) -> "EmbeddedChefServer":
        return cls(cfg.chef_dir, cfg.chef.bind_host, cfg.chef.port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def conf_dir(self) -> Path:
        return self.state_dir / "conf"

    @property
    def config_file(self) -> Path:
        return self.conf_dir / "goiardi.conf"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    @property
    def data_file(self) -> Path:
        return self.data_dir / "goiardi-data.bin"

    @property
    def index_file(self) -> Path:
        return self.data_dir / "goiardi-index.bin"

    @property
    def filestore_dir(self) -> Path:
        return self.state_dir / "lfs"

    @property
    def admin_key_path(self) -> Path:
        return self.conf_dir / "admin.pem"

    @property
    def validator_key_path(self) -> Path:
        return self.conf_dir / "chef-validator.pem"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "goiardi.log"

    def configure(self) -> Path:
        """Create the directories (conf-root must exist before goiardi starts) and write the config."""
        for directory in (self.state_dir, self.data_dir, self.filestore_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self.conf_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.conf_dir.chmod(0o700)  # the client keys live here
        quoted = {  # TOML basic strings accept JSON string escapes
            "host": json.dumps(self.host), "hostname": json.dumps(self.advertised_host),
            "port": str(self.port),
            "data_file": json.dumps(str(self.data_file)), "index_file": json.dumps(str(self.index_file)),
            "freeze_interval": str(FREEZE_INTERVAL_SECONDS), "conf_root": json.dumps(str(self.conf_dir)),
            "filestore_dir": json.dumps(str(self.filestore_dir)),
        }
        text = string.Template(CONFIG_TEMPLATE.read_text()).substitute(quoted)
        self.config_file.write_text(text)
        return self.config_file

    def start(self) -> int:
        """Start (or find running) goiardi; returns its PID once it accepts connections."""
        if not Path(GOIARDI_BINARY).is_file() and not shutil.which("goiardi"):
            raise ProcessError(f"goiardi (Chef server): {GOIARDI_BINARY} is not installed "
                               f"(apt-get install goiardi, or run scripts/install.sh)")
        if self.process.running():
            return self.process.pid()
        if self.data_file.exists() and not self.admin_key_path.exists():
            raise ProcessError(
                f"goiardi (Chef server): data file {self.data_file} exists but the admin key "
                f"{self.admin_key_path} is missing; goiardi only creates keys for a new data store. "
                f"Restore the key, or move {self.data_dir} away to start with an empty server")
        self.configure()
        return self.process.start()

    def _ready(self) -> bool:
        # Keys are written before the listener opens, but check both so callers can read them.
        return self.admin_key_path.exists() and tcp_ready(self.host, self.port)()

    def stop(self) -> bool:
        """SIGTERM makes goiardi save its data and index files before it exits."""
        return self.process.stop()

    def status(self) -> dict:
        pid = self.process.pid()
        return {"running": pid is not None, "pid": pid, "url": self.url,
                "rss": self.process.rss_bytes() if pid else 0}
