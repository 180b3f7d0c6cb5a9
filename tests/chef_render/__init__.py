"""Render deployer cookbook templates without chef-client (see render.py)."""
from tests.chef_render.render import RenderError, node_attributes, render

__all__ = ["RenderError", "node_attributes", "render"]
