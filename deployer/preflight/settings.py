"""What the preflight needs of the deployer's configuration, read once per request."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from deployer.config import Config, ContentSettings
from deployer.runs.policy import RunPolicy

# A preflight waits this long for a node's SSH answer (a run waits NodeTarget's 15 s).
CONNECT_TIMEOUT = 10.0


@dataclasses.dataclass(frozen=True)
class Settings:
    chef_server_url: str            # the deployer's own URL of the Chef server
    node_url: str                   # [chef] node_url ("" = derived per node, as runs do)
    chef_mode: str                  # embedded | remote
    chef_bind_host: str             # where the embedded server listens
    verify_tls: bool
    policy: RunPolicy | None        # SSH key files only from [bootstrap] key_dir, as runs
    roles_dir: Path
    cookbooks_dir: Path
    connect_timeout: float = CONNECT_TIMEOUT

    @classmethod
    def from_config(cls, cfg: Config, policy: RunPolicy) -> "Settings":
        return cls(chef_server_url=cfg.chef_server_url, node_url=cfg.chef.node_url,
                   chef_mode=cfg.chef.mode, chef_bind_host=cfg.chef.bind_host,
                   verify_tls=cfg.chef.verify_tls, policy=policy,
                   roles_dir=Path(cfg.content.roles_dir),
                   cookbooks_dir=Path(cfg.content.cookbooks_dir))


def content_dirs(settings: Settings | None) -> tuple[Path, Path]:
    """(roles dir, cookbooks dir): the configured ones, or the shipped ones."""
    if settings is not None:
        return settings.roles_dir, settings.cookbooks_dir
    shipped = ContentSettings()
    return Path(shipped.roles_dir), Path(shipped.cookbooks_dir)
