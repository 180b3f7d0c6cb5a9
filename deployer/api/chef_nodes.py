"""/v1/chef/nodes: remove a node's Chef identity (node object and API client).

Used by the Heat node resource's delete; a node or client that is already
gone counts as removed, so deleting twice (or after a failed create) works.
"""
from __future__ import annotations

from flask.views import MethodView

from deployer.api.chef_calls import chef_call
from deployer.api.smorest import ApiBlueprint
from deployer.chef import names
from deployer.errors import DeployerError

blp = ApiBlueprint("chef_nodes", __name__, url_prefix="/v1/chef/nodes",
                   description="Chef nodes and clients registered by node runs.")


@blp.route("/<node_name>")
class ChefNode(MethodView):
    @blp.response(204)
    def delete(self, node_name):
        """Delete the Chef node and the client of the same name (gone = success)."""
        if not names.is_node_name(node_name):
            raise DeployerError(f"node name {node_name!r} is invalid",
                                errors={"node_name": [names.NODE_NAME_RULE]})
        chef_call(lambda chef: chef.remove_node(node_name))
