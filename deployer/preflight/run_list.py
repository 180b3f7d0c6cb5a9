"""A node's expanded run-list: its roles replaced by their run-lists, as the Chef server
expands them (a role's ``env_run_lists[<environment>]`` replaces its run_list in that
environment; the first occurrence of a recipe wins), read from the deployer's roles
directory (the roles ``deployer undercloud up --sync-content`` uploads)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from deployer.chef import names


@dataclasses.dataclass
class Expanded:
    recipes: list[str]          # "cookbook::recipe", in run order
    roles: list[dict]           # the role documents, in expansion order
    unknown_roles: list[str]    # roles not in the roles directory (not expanded)


def recipe_name(item: str) -> str:
    """'cookbook[::recipe][@version]' -> 'cookbook::recipe' (default recipe made explicit)."""
    name = item.split("@", 1)[0]
    return name if "::" in name else f"{name}::default"


def expand(run_list: list[str], roles_dir: Path, environment: str | None = None) -> Expanded:
    found = Expanded([], [], [])
    seen_roles: set[str] = set()

    def walk(items: list[str]) -> None:
        for item in items:
            kind, name = names.parse_run_list_item(item)
            if kind == "recipe":
                recipe = recipe_name(name)
                if recipe not in found.recipes:
                    found.recipes.append(recipe)
                continue
            if name in seen_roles:
                continue
            seen_roles.add(name)
            path = roles_dir / f"{name}.json"
            if not path.is_file():
                found.unknown_roles.append(name)
                continue
            role = json.loads(path.read_text())
            found.roles.append(role)
            env_lists = role.get("env_run_lists") or {}
            walk(env_lists[environment] if environment in env_lists
                 else role.get("run_list") or [])

    walk(run_list)
    return found
