"""Every Ruby file of the cookbooks (and Ruby roles) passes `ruby -wc` with no warning, and
every ERB template compiles (ERB trim mode '-', as the rendering harness and Chef use)."""
from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUBY_FILES = sorted([*REPO.glob("cookbooks/**/*.rb"), *REPO.glob("roles/**/*.rb"),
                     REPO / "deployer" / "chef" / "render.rb"])
TEMPLATES = sorted(REPO.glob("cookbooks/*/templates/**/*.erb"))

pytestmark = pytest.mark.skipif(not shutil.which("ruby"), reason="ruby not installed")


def relative(path: Path) -> str:
    return str(path.relative_to(REPO))


@pytest.mark.parametrize("path", RUBY_FILES, ids=relative)
def test_ruby_file_compiles_without_warnings(path):
    result = subprocess.run(["ruby", "-wc", str(path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", f"warnings count as failures:\n{result.stderr}"


@pytest.mark.parametrize("path", TEMPLATES, ids=relative)
def test_erb_template_compiles(path):
    compile_erb = ("require 'erb'; src = ERB.new(File.read(ARGV[0]), trim_mode: '-').src; "
                   "RubyVM::InstructionSequence.compile(src, ARGV[0])")
    result = subprocess.run(["ruby", "-e", compile_erb, str(path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


# The service cookbooks hold resources (and their libraries, attributes, templates) and no
# recipes: deployer_roles' recipes compose them (the Sous-Chefs way).  deployer_common's one
# recipe checks the cluster facts and writes /etc/hosts before any role recipe.
RECIPE_COOKBOOKS = ("deployer_common", "deployer_roles")


def metadata_field(metadata: str, field: str) -> list[str]:
    return re.findall(rf"^{field}\s+'([^']*)'", metadata, re.M)


@functools.cache
def used_partials() -> frozenset[Path]:
    """Every partial a resource `use`s, resolved as Chef does: from the using file's
    directory, the leading underscore and .rb optional."""
    found = set()
    for user in (REPO / "cookbooks").glob("*/resources/*.rb"):
        for partial in re.findall(r"^use '([^']+)'", user.read_text(), re.M):
            name = Path(partial).name.removesuffix(".rb").removeprefix("_")
            found.add((user.parent / Path(partial).parent / f"_{name}.rb").resolve())
    return frozenset(found)


@pytest.mark.parametrize("cookbook", sorted(p.name for p in (REPO / "cookbooks").iterdir() if p.is_dir()))
def test_cookbook_follows_the_shared_conventions(cookbook):
    root = REPO / "cookbooks" / cookbook
    metadata = (root / "metadata.rb").read_text()
    assert metadata_field(metadata, "name") == [cookbook]
    assert metadata_field(metadata, "maintainer") == ["Under-cloud deployer team"]
    assert metadata_field(metadata, "license") == ["Apache-2.0"]
    assert metadata_field(metadata, "chef_version") == [">= 16"]
    assert set(metadata_field(metadata, "supports")) == {"debian", "ubuntu"}
    for dependency in metadata_field(metadata, "depends"):
        assert (REPO / "cookbooks" / dependency / "metadata.rb").exists(), f"{cookbook} depends on missing {dependency}"
    for resource in (root / "resources").rglob("*.rb"):
        if resource.name.startswith("_"):     # a partial: a resource's fragment, not a resource
            assert "unified_mode" not in resource.read_text(), relative(resource)
            assert resource in used_partials(), f"nothing uses {relative(resource)}"
        else:
            assert "unified_mode true" in resource.read_text(), relative(resource)
    if cookbook not in RECIPE_COOKBOOKS:
        assert not (root / "recipes").exists(), f"{cookbook} is a service cookbook: resources, no recipes"
        assert (root / "resources").is_dir()
