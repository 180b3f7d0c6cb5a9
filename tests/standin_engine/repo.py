"""A throw-away chef-repo and the stand-in run against it.

Engine tests write small cookbooks, roles, environments and data bags into a
temporary chef-repo and converge them with tests/standin/chef-client in local
mode (-z: the chef-repo layout chef-zero would serve, read from disk), so each
Chef rule is checked against real files and real commands on this machine.
"""
from __future__ import annotations

import dataclasses
import json
import subprocess
import textwrap
from pathlib import Path

STANDIN_DIR = Path(__file__).resolve().parent.parent / "standin"
CHEF_CLIENT = STANDIN_DIR / "chef-client"


@dataclasses.dataclass
class Run:
    returncode: int
    output: str
    node: dict | None

    @property
    def last_line(self) -> str:
        return self.output.rstrip().splitlines()[-1]

    def updated(self) -> tuple[int, int]:
        """(updated, total) from "Chef Infra Client finished, X/Y resources updated"."""
        for line in self.output.splitlines():
            if line.startswith("Chef Infra Client finished, "):
                counts = line.split(", ", 1)[1].split(" ", 1)[0]
                done, total = counts.split("/")
                return int(done), int(total)
        raise AssertionError(f"no finished line in:\n{self.output}")


class ChefRepo:
    def __init__(self, root: Path, node_name: str = "engine-node"):
        self.root = root
        self.node_name = node_name
        for sub in ("cookbooks", "roles", "environments", "data_bags", "nodes", "cache", "backup"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self.client_rb = root / "client.rb"
        self.client_rb.write_text(
            f"node_name '{node_name}'\n"
            f"cookbook_path ['{root / 'cookbooks'}']\n"
            f"role_path '{root / 'roles'}'\n"
            f"environment_path '{root / 'environments'}'\n"
            f"data_bag_path '{root / 'data_bags'}'\n"
            f"node_path '{root / 'nodes'}'\n"
            f"file_cache_path '{root / 'cache'}'\n"
            f"file_backup_path '{root / 'backup'}'\n")

    def cookbook(self, name: str, *, recipes: dict[str, str] | None = None,
                 resources: dict[str, str] | None = None, attributes: dict[str, str] | None = None,
                 libraries: dict[str, str] | None = None, templates: dict[str, str] | None = None,
                 depends: tuple[str, ...] = ()) -> Path:
        base = self.root / "cookbooks" / name
        meta = [f"name '{name}'", "version '1.0.0'"] + [f"depends '{d}'" for d in depends]
        self._write(base / "metadata.rb", "\n".join(meta) + "\n")
        for segment, files, suffix in (("recipes", recipes, ".rb"), ("resources", resources, ".rb"),
                                       ("attributes", attributes, ".rb"), ("libraries", libraries, ".rb"),
                                       ("templates/default", templates, "")):
            for file_name, text in (files or {}).items():
                self._write(base / segment / f"{file_name}{suffix}", textwrap.dedent(text))
        return base

    def role(self, name: str, run_list=(), default=None, override=None, env_run_lists=None) -> None:
        self._write(self.root / "roles" / f"{name}.json", json.dumps({
            "name": name, "run_list": list(run_list), "default_attributes": default or {},
            "override_attributes": override or {}, "env_run_lists": env_run_lists or {}}))

    def environment(self, name: str, default=None, override=None) -> None:
        self._write(self.root / "environments" / f"{name}.json", json.dumps({
            "name": name, "default_attributes": default or {}, "override_attributes": override or {}}))

    def data_bag_item(self, bag: str, item: dict) -> None:
        self._write(self.root / "data_bags" / bag / f"{item['id']}.json", json.dumps(item))

    def run(self, *run_list: str, args=(), json_attribs: dict | None = None, timeout=120) -> Run:
        first_boot = {"run_list": list(run_list), **(json_attribs or {})}
        attribs = self.root / "first-boot.json"
        attribs.write_text(json.dumps(first_boot))
        result = subprocess.run([str(CHEF_CLIENT), "-z", "-c", str(self.client_rb), "-j", str(attribs),
                                 "-l", "info", *args],
                                capture_output=True, text=True, timeout=timeout)
        node_file = self.root / "nodes" / f"{self.node_name}.json"
        node = json.loads(node_file.read_text()) if node_file.exists() else None
        return Run(result.returncode, result.stdout + result.stderr, node)

    @staticmethod
    def _write(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
