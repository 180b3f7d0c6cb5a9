"""/v1/deployments/<id>/plan: a why-run plan of an update (deployer.whyrun).

POST takes an update's body (PUT /v1/deployments/<id>), checks it as the update would and
answers 202 with the plan: a why-run node run per node against a temporary Chef
environment holding the update's parameters.  Poll GET .../plan/<plan_id> until its
status is complete or failed; each node then lists the files (with their diff), services
and other resources its converge would change.  Nothing is updated: not the deployment,
its stack, its Chef environment nor its nodes.
"""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from deployer.api.chef_calls import chef_call
from deployer.api.context import run_policy, state
from deployer.api.deployment_schemas import DeploymentUpdateSchema
from deployer.api.deployment_services import heat_slot, services
from deployer.api.smorest import ApiBlueprint
from deployer.deployments import service as deployments
from deployer.whyrun import service as whyrun

blp = ApiBlueprint("update_plans", __name__, url_prefix="/v1/deployments",
                   description="Why-run plans: what an update would change on each node.")


class FileChangeSchema(Schema):
    path = fields.String()
    resource = fields.String(metadata={"description": "e.g. template[/etc/nova/nova.conf]"})
    actions = fields.List(fields.String())
    changes = fields.List(fields.String(), metadata={"description": "chef-client's lines, "
                                                                    "without 'Would'"})
    diff = fields.List(fields.String(), metadata={"description": "unified diff (none when "
                                                                 "sensitive)"})
    sensitive = fields.Boolean()


class ServiceChangeSchema(Schema):
    name = fields.String()
    resource = fields.String()
    actions = fields.List(fields.String(), metadata={"description": "e.g. restart"})


class OtherChangeSchema(Schema):
    resource = fields.String()
    action = fields.String()
    changes = fields.List(fields.String())


class PlanNodeChangesSchema(Schema):
    node_name = fields.String()
    resource = fields.String(allow_none=True)
    run_id = fields.String(metadata={"description": "the why-run node run (GET /v1/runs/<id>)"})
    status = fields.String(metadata={"description": "its run's status"})
    reason = fields.String()
    files = fields.List(fields.Nested(FileChangeSchema))
    services = fields.List(fields.Nested(ServiceChangeSchema))
    other = fields.List(fields.Nested(OtherChangeSchema))
    would_update = fields.Integer(allow_none=True, metadata={
        "description": "resources chef-client says would be updated"})
    resources = fields.Integer(allow_none=True)


class UpdatePlanSchema(Schema):
    id = fields.String()
    deployment_id = fields.String()
    status = fields.String(metadata={"description": ", ".join(whyrun.STATUSES)})
    environment = fields.String(metadata={"description": "the temporary Chef environment"})
    environment_removed = fields.Boolean()
    parameters = fields.Dict(metadata={"description": "the update's values; hidden ones "
                                                      "show as ******"})
    reason = fields.String()
    nodes = fields.List(fields.Nested(PlanNodeChangesSchema))
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


def _reaping() -> whyrun.Reaping:
    runs = state().cfg.runs
    return whyrun.Reaping(runs.dead_after, runs.timeout_grace)


@blp.route("/<deployment_id>/plan")
class UpdatePlans(MethodView):
    @blp.arguments(DeploymentUpdateSchema)
    @blp.response(202, UpdatePlanSchema)
    def post(self, body, deployment_id):
        """Plan an update (the update's body): a why-run of every node against a temporary
        Chef environment with the update's parameters.  The deployment must be complete,
        not being updated or certified, with no other plan running.  Changes nothing."""
        found = services()
        row = deployments.get(found, deployment_id)
        whyrun.refuse_unplannable(found.session, row)
        with heat_slot():
            created = chef_call(lambda chef: whyrun.request(
                found, chef, run_policy(), _reaping(), row,
                parameter_set=body.get("parameter_set"), parameters=body.get("parameters") or {},
                heat_environments=body.get("heat_environments")))
        return whyrun.view(found.session, created)


@blp.route("/<deployment_id>/plan/<plan_id>")
class UpdatePlanItem(MethodView):
    @blp.response(200, UpdatePlanSchema)
    def get(self, deployment_id, plan_id):
        """The plan: each node's run while it runs; once ended, what each converge would
        change (files with their diff, services, other resources)."""
        found = services()
        deployments.get(found, deployment_id)
        plan = whyrun.find(found.session, deployment_id, plan_id)
        chef_call(lambda chef: whyrun.get(found.session, chef, found.box, _reaping(), plan))
        return whyrun.view(found.session, plan)
