"""/v1/deployments: over-clouds as Heat stacks, with plan, progress, events, node logs
and failover certifications.

Create validates everything first (template, Heat environments, parameter
values through Heat's preview, the Chef environment) and then makes the row
and the stack as one unit, so a refusal leaves neither behind.  Heat owns the
stack's status; reading one deployment refreshes the cached copy, listing
refreshes every in-progress one with a single Heat call.  A certification is
only recorded here (admin only, confirmed, of a complete deployment); the
worker runs it (deployer.certify).
"""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask.views import MethodView

from deployer.api.auth import caller_is_admin
from deployer.api.context import db_session, state
from deployer.api.deployment_schemas import (
    CertificationCreateSchema, CertificationListSchema, CertificationSchema,
    DeploymentCreateSchema, DeploymentListArgsSchema, DeploymentPageSchema, DeploymentSchema,
    DeploymentUpdateSchema, EventArgsSchema, EventListSchema, NodeLogArgsSchema, NodeLogSchema,
    PlanSchema)
from deployer.api.deployment_services import heat_slot, services
from deployer.api import watching
from deployer.api.smorest import ApiBlueprint
from deployer.certify import service as certifications
from deployer.certify.table import format_table
from deployer.db.models import Certification
from deployer.deployments import service, views
from deployer.runs.policy import Forbidden

blp = ApiBlueprint("deployments", __name__, url_prefix="/v1/deployments",
                   description="Deployments: over-cloud stacks made from a template and parameters.")


@blp.before_app_request
def _refreshers():
    """This process's share of the stack refreshers (deployer.deployments.stack_cache)."""
    watching.ensure_refreshers(current_app._get_current_object())


class DeploymentGetArgsSchema(ma.Schema):
    wait = ma.fields.Float(load_default=0, validate=ma.validate.Range(min=0, max=watching.MAX_WAIT),
                           metadata={"description": "with If-None-Match: hold the answer up to "
                                                    "this many seconds until the deployment "
                                                    "changes (304 if it did not)"})


def _request(body: dict) -> service.Request:
    return service.Request(name=body["name"], template=body["template"],
                           parameter_set=body.get("parameter_set"),
                           parameters=body.get("parameters") or {},
                           heat_environments=body.get("heat_environments") or [],
                           skip_preflight=bool(body.get("skip_preflight")))


@blp.route("")
class Deployments(MethodView):
    @blp.arguments(DeploymentListArgsSchema, location="query")
    @blp.response(200, DeploymentPageSchema)
    def get(self, args):
        """Deployments, newest first (filter by status, template, name; page with marker)."""
        found = services()

        def page() -> dict:
            rows = service.list_deployments(found, state=args.get("status"),
                                            template=args.get("template"), name=args.get("name"),
                                            limit=args["limit"], marker=args.get("marker"))
            return {"deployments": [views.summary(row) for row in rows],
                    "next_marker": rows[-1].id if len(rows) == args["limit"] else None}

        # Lean JSON with an ETag, kept while no deployment changed (watching.py);
        # the schema documents it.
        return watching.send(watching.cached_list(found, args, page))

    @blp.arguments(DeploymentCreateSchema)
    @blp.response(202, DeploymentSchema)
    def post(self, body):
        """Validate, then create the stack; poll GET /v1/deployments/<id> for progress."""
        found = services()
        with heat_slot():
            row = service.create(found, _request(body))
            service.commit_created(found, row)
        return views.accepted(row)


@blp.route("/plan")
class DeploymentPlan(MethodView):
    @blp.arguments(DeploymentCreateSchema)
    @blp.response(200, PlanSchema)
    def post(self, body):
        """What a deployment would do: Heat's preview, the Chef environment, the nodes by step.
        Nothing is created anywhere."""
        with heat_slot():
            return service.plan_deployment(services(), _request(body))


@blp.route("/<deployment_id>")
class DeploymentItem(MethodView):
    @blp.arguments(DeploymentGetArgsSchema, location="query")
    @blp.response(200, DeploymentSchema)
    @blp.alt_response(304, description="Not modified (If-None-Match matched the ETag)")
    def get(self, args, deployment_id):
        """Heat's status, outputs once complete, and every node with its latest run,
        all from the deployer's database (no Heat call).  Answers carry an ETag; with
        If-None-Match, ``wait`` makes this a long poll."""
        found = services()
        return watching.long_poll(lambda: watching.cached_detail(found, deployment_id),
                                  found.session.rollback, watching.wait_seconds(args.get("wait")))

    @blp.arguments(DeploymentUpdateSchema)
    @blp.response(202, DeploymentSchema)
    def put(self, body, deployment_id):
        """Update the stack with merged parameters (validated first, like create)."""
        found = services()
        with heat_slot():
            row = service.update(found, service.get(found, deployment_id),
                                 parameter_set=body.get("parameter_set"),
                                 parameters=body.get("parameters") or {},
                                 heat_environments=body.get("heat_environments"))
            found.session.commit()
        return views.accepted(row)

    @blp.response(202, DeploymentSchema)
    def delete(self, deployment_id):
        """Delete the stack; the state becomes deleted once Heat has removed it.
        Deleting again is accepted and changes nothing."""
        found = services()
        row = service.delete(found, service.get(found, deployment_id))
        found.session.commit()
        return views.summary(row)


@blp.route("/<deployment_id>/events")
class DeploymentEvents(MethodView):
    @blp.arguments(EventArgsSchema, location="query")
    @blp.response(200, EventListSchema)
    def get(self, args, deployment_id):
        """Heat's events of the stack and its nested stacks, oldest first."""
        found = services()
        return {"events": views.events(found, service.get(found, deployment_id),
                                         args.get("since"))}


@blp.route("/<deployment_id>/nodes/<path:resource>/log")
class NodeLog(MethodView):
    @blp.arguments(NodeLogArgsSchema, location="query")
    @blp.response(200, NodeLogSchema)
    def get(self, args, deployment_id, resource):
        """A node's latest run log (or run ``run_id``'s)."""
        found = services()
        return views.node_log(found, service.get(found, deployment_id), resource,
                                args.get("run_id"))


@blp.route("/<deployment_id>/certifications")
class DeploymentCertifications(MethodView):
    @blp.response(200, CertificationListSchema)
    def get(self, deployment_id):
        """The deployment's failover certifications, newest first."""
        session = _reaped_session()
        return {"certifications": [certification_view(row) for row in
                                   certifications.list_for(session, deployment_id)]}

    @blp.arguments(CertificationCreateSchema)
    @blp.response(202, CertificationSchema)
    def post(self, body, deployment_id):
        """Queue a failover certification (admin only): faults on the controllers one at a
        time, each measured and restored.  The deployment must be complete, with no other
        certification queued or running, and ``confirm`` true: its services stall during
        each fault.  Poll GET .../certifications/<id> for the rows."""
        if not caller_is_admin():
            raise Forbidden("a certification injects faults into the deployment's "
                            "controllers; only an admin may start one")
        session = db_session()
        row = certifications.request(session, deployment_id, confirm=body["confirm"],
                                     test_nodes=body.get("test_nodes"))
        session.commit()
        return certification_view(row)


@blp.route("/<deployment_id>/certifications/<certification_id>")
class DeploymentCertification(MethodView):
    @blp.response(200, CertificationSchema)
    def get(self, deployment_id, certification_id):
        """One certification: its status, a row per fault so far, and the table."""
        session = _reaped_session()
        return certification_view(certifications.get(session, deployment_id, certification_id))


def _reaped_session():
    """The request's session, after ending certifications whose worker is dead, so a
    caller polling one always sees it end (as reading a run does)."""
    session = db_session()
    if certifications.reap_dead(session, state().cfg.runs.dead_after):
        session.commit()
    return session


def certification_view(row: Certification) -> dict:
    return {**{column: getattr(row, column) for column in (
        "id", "deployment_id", "status", "options", "rows", "reason", "requested_at",
        "started_at", "finished_at")},
        "table": format_table(row.rows or [])}
