"""/v1/chef/nodes: remove a node's Chef identity (node object and API client).

Used by the Heat node resource's delete; a node or client that is already
gone counts as removed, so deleting twice (or after a failed create) works.
Only identities the deployer's own runs registered may go: the deployer's
client, the validator, webui and any Chef object no run created are refused
(403), and a node another deployment holds is a 409.
"""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from sqlalchemy import select

from deployer.api.auth import caller_is_admin
from deployer.api.chef_calls import chef_call
from deployer.api.context import db_session, run_policy, state
from deployer.api.smorest import ApiBlueprint
from deployer.chef import names
from deployer.db.models import Run
from deployer.deployments import ownership
from deployer.errors import Conflict, DeployerError
from deployer.runs import credentials
from deployer.runs.policy import Forbidden

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
        if check_removable(node_name):
            chef_call(lambda chef: chef.remove_node(node_name))


def check_removable(node_name: str) -> bool:
    """True when the deployer may remove ``node_name`` from Chef; False when a
    deployment's node resource asks for a name no run ever registered (nothing of
    the deployer's to remove); refused (403/409) otherwise."""
    run_policy().check_node_name(node_name)
    session = db_session()
    owner = ownership.holder(session, node_name)
    credential = request.headers.get(credentials.HEADER)
    if credential:
        deployment_id = credentials.verify(state().secret_box, credential)
        if owner is not None and owner.id != deployment_id:
            raise Conflict(f"node {node_name} belongs to deployment {owner.name} ({owner.id})",
                           field="node_name")
    elif not caller_is_admin():
        raise Forbidden(f"Chef nodes are removed by their deployment's node resources (with "
                        f"its {credentials.HEADER}) or by an admin", field=credentials.HEADER)
    registered = session.scalar(select(Run.id).where(Run.node_name == node_name).limit(1))
    if owner is None and registered is None:
        if credential:
            return False
        raise Forbidden(f"{node_name} was not registered by a deployer run; the deployer "
                        f"removes only the Chef identities it created", field="node_name")
    return True
