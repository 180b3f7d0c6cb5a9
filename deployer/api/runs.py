"""/v1/runs: start, watch, list and cancel node runs; read their logs.

The API only records intent; the worker process executes runs.  Reading a
run also fails it if its worker stopped heartbeating, so a caller polling a
run always sees it end.
"""
from __future__ import annotations

from flask import request
from flask.views import MethodView

from deployer.api.auth import caller_is_admin
from deployer.api.context import db_session, run_policy, state
from deployer.api.schemas import (RunArgsSchema, RunListArgsSchema, RunLogArgsSchema,
                                  RunLogSchema, RunPageSchema, RunSchema, RunSpecSchema)
from deployer.api.smorest import ApiBlueprint
from deployer.bootstrap.contract import RunSpec
from deployer.db.models import Deployment, Run
from deployer.runs import credentials, service
from deployer.runs.policy import Forbidden

blp = ApiBlueprint("runs", __name__, url_prefix="/v1/runs",
                   description="Node runs: bootstrap a server into Chef and converge it.")


@blp.route("")
class Runs(MethodView):
    @blp.arguments(RunListArgsSchema, location="query")
    @blp.response(200, RunPageSchema)
    def get(self, args):
        """List runs, newest first (filter by stack or status; page with marker)."""
        session = db_session()
        service.reap_dead_runs(session, state().cfg.runs.dead_after,
                               timeout_grace=state().cfg.runs.timeout_grace)
        session.commit()
        runs = service.list_runs(session, stack_id=args.get("stack_id"),
                                 status=args.get("status"), limit=args["limit"],
                                 marker=args.get("marker"))
        next_marker = runs[-1].id if len(runs) == args["limit"] else None
        return {"runs": [run_view(run, tail=0) for run in runs], "next_marker": next_marker}

    @blp.arguments(RunSpecSchema)
    @blp.response(202, RunSchema)
    def post(self, body):
        """Queue a run; poll it until its status is final."""
        session = db_session()
        run = service.create_run(session, RunSpec.from_dict(body), state().secret_box,
                                 run_policy(), deployment_id=run_caller(session))
        session.commit()
        return run_view(run, tail=0)


@blp.route("/<run_id>")
class RunItem(MethodView):
    @blp.arguments(RunArgsSchema, location="query")
    @blp.response(200, RunSchema)
    def get(self, args, run_id):
        """A run with its phases and the tails of its output."""
        session = db_session()
        if service.reap_dead_runs(session, state().cfg.runs.dead_after, run_id=run_id,
                                  timeout_grace=state().cfg.runs.timeout_grace):
            session.commit()
        return run_view(service.get_run(session, run_id), tail=args["tail"])


@blp.route("/<run_id>/cancel")
class RunCancel(MethodView):
    @blp.response(202, RunSchema)
    def post(self, run_id):
        """Ask a run to stop at its next safe point (no-op on a finished run)."""
        session = db_session()
        run = service.cancel_run(session, run_id)
        session.commit()
        return run_view(run, tail=0)


@blp.route("/<run_id>/log")
class RunLog(MethodView):
    @blp.arguments(RunLogArgsSchema, location="query")
    @blp.response(200, RunLogSchema)
    def get(self, args, run_id):
        """Output chunks after ``offset``, oldest first."""
        session = db_session()
        chunks = service.read_output(session, run_id, stream=args.get("stream"),
                                     offset=args["offset"], limit=args["limit"])
        run = service.get_run(session, run_id)
        return {"run_id": run_id, "status": run.status, "chunks": chunks,
                "next_offset": chunks[-1].seq if chunks else args["offset"]}


def run_caller(session) -> str | None:
    """The deployment a request works for (its run credential), None for an admin;
    anyone else is refused (403)."""
    credential = request.headers.get(credentials.HEADER)
    if credential:
        deployment_id = credentials.verify(state().secret_box, credential)
        deployment = session.get(Deployment, deployment_id)
        if deployment is not None and deployment.state == "deleted":
            raise Forbidden(f"deployment {deployment.name} ({deployment_id}) is deleted; "
                            f"its credential no longer starts runs",
                            field=credentials.HEADER)
        return deployment_id
    if not caller_is_admin():
        raise Forbidden(f"node runs are started by a deployment's node resources (with its "
                        f"{credentials.HEADER}) or by an admin", field=credentials.HEADER)
    return None


def run_view(run: Run, *, tail: int) -> dict:
    session = db_session()
    return {
        **{column: getattr(run, column) for column in (
            "id", "node_name", "action", "status", "phase", "exit_code", "reason",
            "created_at", "started_at", "finished_at", "heartbeat_at", "worker_id",
            "cancel_requested", "stack_id", "stack_name", "resource_name", "deployment_id")},
        "phases": run.phases,
        "spec": run.spec_json,
        "stdout_tail": service.output_tail(session, run.id, "stdout", tail),
        "stderr_tail": service.output_tail(session, run.id, "stderr", tail),
    }
