"""deployer.chef.render bound to this repository's cookbooks (a test may pass its own)."""
from functools import partial
from pathlib import Path

from deployer.chef import render as _render
from deployer.chef.render import RenderError

COOKBOOKS_DIR = Path(__file__).resolve().parents[2] / "cookbooks"

render = partial(_render.render, cookbooks_dir=COOKBOOKS_DIR)
node_attributes = partial(_render.node_attributes, cookbooks_dir=COOKBOOKS_DIR)
call_helper = partial(_render.call_helper, cookbooks_dir=COOKBOOKS_DIR)

__all__ = ["COOKBOOKS_DIR", "RenderError", "call_helper", "node_attributes", "render"]
