"""Render deployer cookbook templates without chef-client (see render.py)."""
from tests.chef_render.render import RenderError, call_helper, node_attributes, render

__all__ = ["RenderError", "call_helper", "node_attributes", "render"]
