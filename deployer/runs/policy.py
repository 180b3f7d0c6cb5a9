"""The trust boundary of node runs: what a run may do comes from the deployer's
configuration, never from the caller.

- Install sources: a run installs chef-client only from the configured
  ``[bootstrap] chef_client_install``/``chef_client_location`` (or not at all:
  ``present``).  A caller may name that source again but no other; a path of
  the caller's choosing would make the worker (root) copy any host file to a
  node and print it back in the run log.
- SSH key files: only files inside one key directory, ``[bootstrap] key_dir``
  (default ``<state_dir>/ssh-keys``).  A relative name is a file in it; an
  absolute path must resolve (symlinks followed) to a file in it.
- Chef identities the deployer itself depends on (its own client, the
  validator, webui, pivotal) are never a node's: no run may rekey them and no
  request may delete them.

``key_dir`` is read here (not in deployer.config) from the same file and
environment (``DEPLOYER_BOOTSTRAP_KEY_DIR``) as every other setting.
"""
from __future__ import annotations

import configparser
import dataclasses
import os
from pathlib import Path

from deployer.bootstrap.contract import ChefInstallSource, RunSpec
from deployer.config import Config
from deployer.errors import DeployerError

KEY_DIR_NAME = "ssh-keys"
# Names Chef servers reserve for themselves (Chef Infra Server, goiardi).
RESERVED_CHEF_NAMES = frozenset({"admin", "chef-validator", "chef-webui", "pivotal"})


class Forbidden(DeployerError):
    status, title = 403, "Forbidden"


@dataclasses.dataclass(frozen=True)
class RunPolicy:
    install_sources: tuple[ChefInstallSource, ...]
    key_dir: Path
    protected_names: frozenset[str]

    @classmethod
    def from_config(cls, cfg: Config, env: dict | None = None) -> "RunPolicy":
        env = os.environ if env is None else env
        key_dir = env.get("DEPLOYER_BOOTSTRAP_KEY_DIR", "")
        if not key_dir and cfg.source:
            parser = configparser.ConfigParser(interpolation=None)
            parser.read(cfg.source)
            key_dir = parser.get("bootstrap", "key_dir", fallback="")
        configured = ChefInstallSource(kind=cfg.bootstrap.chef_client_install,
                                       location=cfg.bootstrap.chef_client_location)
        sources = tuple({(s.kind, s.location): s for s in (
            ChefInstallSource("present", ""), configured)}.values())
        return cls(install_sources=sources,
                   key_dir=Path(key_dir or cfg.state_dir / KEY_DIR_NAME).resolve(),
                   protected_names=RESERVED_CHEF_NAMES | {cfg.chef.client_name,
                                                          cfg.chef.validator_name})

    @property
    def default_install(self) -> ChefInstallSource:
        return self.install_sources[-1]

    # -- checks ------------------------------------------------------------------------

    def check_node_name(self, name: str, field: str = "node_name") -> None:
        if name.lower() in {n.lower() for n in self.protected_names}:
            raise Forbidden(f"{name} is a Chef identity of the deployer or the Chef server; "
                            f"no node may use, replace or remove it", field=field)

    def install_source(self, asked: ChefInstallSource | None) -> ChefInstallSource:
        """The configured source (None asks for it); anything else is refused."""
        if asked is None:
            return self.default_install
        for allowed in self.install_sources:
            if (asked.kind, asked.location or "") == (allowed.kind, allowed.location or ""):
                return allowed
        allowed_text = ", ".join(f"{s.kind}" + (f" {s.location}" if s.location else "")
                                 for s in self.install_sources)
        raise Forbidden(f"a run installs chef-client only from the deployer's configured "
                        f"source ([bootstrap] chef_client_install/location: {allowed_text}); "
                        f"omit install to use it",
                        errors={"install.location": ["not an allowed install source"]})

    def key_file(self, asked: str | None) -> str | None:
        """The absolute path of ``asked`` inside the key directory; refused otherwise."""
        if not asked:
            return None
        if "\0" in asked:
            raise Forbidden("target.key_file holds a NUL character", field="target.key_file")
        candidate = Path(asked) if os.path.isabs(asked) else self.key_dir / asked
        resolved = Path(os.path.realpath(candidate))
        if self.key_dir not in resolved.parents:
            raise Forbidden(f"target.key_file must be a key in the deployer's key directory "
                            f"{self.key_dir} ([bootstrap] key_dir), not {asked}",
                            field="target.key_file")
        return str(resolved)

    def apply(self, spec: RunSpec) -> RunSpec:
        """``spec`` with its install source and key file checked and made explicit."""
        self.check_node_name(spec.node_name)
        target = dataclasses.replace(spec.target, key_file=self.key_file(spec.target.key_file))
        return dataclasses.replace(spec, target=target, install=self.install_source(spec.install))
