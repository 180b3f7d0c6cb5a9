"""The packages an expanded run-list installs, read from the cookbooks themselves.

There is no second list to keep: the one declaration is each cookbook's own
``package`` resource.  From the run-list's recipes this follows every
``include_recipe`` and every custom resource a recipe (or resource) uses, and
reads each ``package`` statement it reaches.  The forms the cookbooks use are
understood:

- ``package 'name'`` and ``package %w(a b)``;
- ``package node['deployer'][...]['packages']`` or a local bound to ``node[...]``
  (``settings = node['deployer']['keepalived']`` ... ``package settings['packages']``);
- ``package new_resource.packages``: the property's default, a literal or
  ``lazy { node[...]['packages'].to_a }``.

Attribute paths are looked up as a converge would see them: the cookbooks'
attribute files, below the environment's and the roles' attributes (override beats
default).  A path segment that is a variable (``node['deployer']['openstack'][service]``)
stands for every key at that level.  Any other form is returned in ``unresolved``
(file and line), so a new form is reported, never silently skipped.
"""
from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path
from typing import Any

_WORDS = re.compile(r"^%w[(\[](?P<words>[^)\]]*)[)\]]$")
_QUOTED = re.compile(r"""^(?:'(?P<single>[^']+)'|"(?P<double>[^"]+)")$""")
_STRING_ARRAY = re.compile(r"""^\[\s*((?:'[^']*'|"[^"]*")(?:\s*,\s*(?:'[^']*'|"[^"]*"))*)?\s*\]$""")
_ITEM = re.compile(r"'([^']*)'|\"([^\"]*)\"")
_PACKAGE = re.compile(r"^\s*package\s+(?P<expr>.+?)\s*(?:\b(?:do|unless|if)\b.*)?$")
_INCLUDE = re.compile(r"""^\s*include_recipe\s+['"](?P<recipe>[^'"]+)['"]""")
_PROVIDES = re.compile(r"^\s*provides\s+:(?P<name>\w+)", re.M)
_USE = re.compile(r"^\s*(?P<name>[a-z][a-z0-9_]*)\b")
_ATTRIBUTE = re.compile(r"^\s*default(?P<path>(?:\[['\"][^'\"]+['\"]\])+)\s*=\s*(?P<value>.+?)\s*$")
_NODE_PATH = re.compile(r"^node(?P<path>(?:\[[^\]]+\])+)(?:\.to_a)?$")
_LOCAL_PATH = re.compile(r"^(?P<local>[a-z_]\w*)(?P<path>(?:\[[^\]]+\])+)(?:\.to_a)?$")
_SEGMENT = re.compile(r"\[([^\]]+)\]")
_NEW_RESOURCE = re.compile(r"^new_resource\.(?P<property>\w+)(?:\.to_a)?$")
WILDCARD = "*"


@dataclasses.dataclass
class Derived:
    packages: list[str]
    cookbooks: set[str]             # every cookbook whose recipes or resources were reached
    unresolved: list[str]           # "cookbook/recipes/x.rb:12: package <expr>"
    unknown_recipes: list[str]      # recipes not in the cookbooks directory


def _code(line: str) -> str:
    return line.split("#", 1)[0].rstrip() if "#" in line and "'#" not in line \
        and '"#' not in line else line.rstrip()


def _path(text: str) -> list[str]:
    """['deployer', 'openstack', '*', 'packages'] of "['deployer']['openstack'][service]['packages']"."""
    parts = []
    for segment in _SEGMENT.findall(text):
        quoted = _QUOTED.match(segment.strip())
        parts.append((quoted.group("single") or quoted.group("double")) if quoted else WILDCARD)
    return parts


def _literal(text: str) -> list[str] | None:
    text = text.strip()
    if (match := _WORDS.match(text)) is not None:
        return match.group("words").split()
    if (match := _QUOTED.match(text)) is not None:
        return [match.group("single") or match.group("double")]
    if (match := _STRING_ARRAY.match(text)) is not None:
        return [a or b for a, b in _ITEM.findall(match.group(1) or "")]
    return None


class Cookbooks:
    """The cookbooks directory, read once: recipes, custom resources, attribute files."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.resources: dict[str, Path] = {}
        self.attributes: dict[str, Any] = {}
        for cookbook in sorted(p for p in self.root.iterdir() if p.is_dir()) \
                if self.root.is_dir() else []:
            for path in sorted((cookbook / "resources").glob("*.rb")):
                provided = _PROVIDES.findall(path.read_text())
                for name in provided or [f"{cookbook.name}_{path.stem}"]:
                    self.resources[name] = path
            for path in sorted((cookbook / "attributes").glob("*.rb")):
                self._read_attributes(path)

    def _read_attributes(self, path: Path) -> None:
        for line in path.read_text().splitlines():
            match = _ATTRIBUTE.match(_code(line))
            if match is None:
                continue
            value = _literal(match.group("value"))
            if value is None:
                continue
            *parents, leaf = _path(match.group("path"))
            node = self.attributes
            for key in parents:
                node = node.setdefault(key, {})
                if not isinstance(node, dict):
                    break
            else:
                node[leaf] = value

    def recipe_path(self, recipe: str) -> Path:
        cookbook, _, name = recipe.partition("::")
        return self.root / cookbook / "recipes" / f"{name or 'default'}.rb"


@functools.lru_cache(maxsize=8)
def cookbooks_at(root: str, _stamp: float) -> Cookbooks:
    return Cookbooks(Path(root))


def load(root: Path) -> Cookbooks:
    """The cookbooks directory, re-read when anything in it changed."""
    root = Path(root)
    stamp = max((p.stat().st_mtime for p in root.rglob("*.rb")), default=0.0) \
        if root.is_dir() else 0.0
    return cookbooks_at(str(root), stamp)


def lookup(layers: list[dict], path: list[str]) -> list[str] | None:
    """The value at ``path`` of the highest layer that has it (layers lowest first);
    a WILDCARD segment unions every key at that level."""
    for layer in reversed(layers):
        found = _get(layer, path)
        if found is not None:
            return found
    return None


def _get(node: Any, path: list[str]) -> list[str] | None:
    if not path:
        if isinstance(node, list) and all(isinstance(v, str) for v in node):
            return list(node)
        return None
    if not isinstance(node, dict):
        return None
    head, rest = path[0], path[1:]
    if head != WILDCARD:
        return _get(node.get(head), rest) if head in node else None
    found = [_get(child, rest) for child in node.values()]
    merged = [name for part in found if part for name in part]
    return merged if any(part is not None for part in found) else None


def derive(recipes: list[str], cookbooks: Cookbooks, attribute_layers: list[dict]) -> Derived:
    """The packages ``recipes`` install; ``attribute_layers``: the environment's and roles'
    attributes, lowest precedence first (the cookbooks' attribute files go below them)."""
    layers = [cookbooks.attributes, *attribute_layers]
    derived = Derived([], set(), [], [])
    seen: set[Path] = set()
    queue: list[Path] = []
    for recipe in recipes:
        path = cookbooks.recipe_path(recipe)
        if path.is_file():
            queue.append(path)
        else:
            derived.unknown_recipes.append(recipe)
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        derived.cookbooks.add(path.relative_to(cookbooks.root).parts[0])
        text = path.read_text()
        where = path.relative_to(cookbooks.root)
        for number, raw in enumerate(text.splitlines(), 1):
            line = _code(raw)
            if (match := _INCLUDE.match(line)) is not None:
                included = cookbooks.recipe_path(match.group("recipe"))
                if included.is_file():
                    queue.append(included)
                else:
                    derived.unknown_recipes.append(match.group("recipe"))
                continue
            if (match := _PACKAGE.match(line)) is not None:
                names = _resolve(match.group("expr"), text, layers)
                if names is None:
                    derived.unresolved.append(f"{where}:{number}: {line.strip()}")
                else:
                    derived.packages += [n for n in names if n not in derived.packages]
                continue
            if (match := _USE.match(line)) is not None and match.group("name") in cookbooks.resources:
                queue.append(cookbooks.resources[match.group("name")])
    derived.packages.sort()
    return derived


def _resolve(expr: str, text: str, layers: list[dict]) -> list[str] | None:
    expr = expr.strip()
    literal = _literal(expr)
    if literal is not None:
        return literal
    if (match := _NEW_RESOURCE.match(expr)) is not None:
        default = re.search(rf"^\s*property\s+:{match.group('property')}\b.*?\bdefault:\s*"
                            rf"(?P<value>%w[(\[][^)\]]*[)\]]|lazy\s*\{{[^}}]*\}})", text, re.M)
        if default is None:
            return None
        value = default.group("value")
        if value.startswith("lazy"):
            value = value[value.index("{") + 1:value.rindex("}")].strip()
        return _resolve(value, text, layers)
    if (match := _NODE_PATH.match(expr)) is not None:
        return lookup(layers, _path(match.group("path")))
    if (match := _LOCAL_PATH.match(expr)) is not None:
        bound = re.search(rf"^\s*{match.group('local')}\s*=\s*node(?P<path>(?:\[[^\]]+\])+)\s*$",
                          text, re.M)
        if bound is not None:
            return lookup(layers, _path(bound.group("path")) + _path(match.group("path")))
    return None
