"""GET /healthcheck: for load balancers (HAProxy) and start-up probes.

Healthy means the process serves requests and its database answers.
"""
from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from deployer.api.context import db_session
from deployer.api.errors import problem
from deployer.api.smorest import ApiBlueprint

blp = ApiBlueprint("health", __name__, description="Liveness of the API and its database.")


@blp.route("/healthcheck")
class Health(MethodView):
    @blp.response(200)
    def get(self):
        try:
            db_session().execute(text("SELECT 1"))
        except SQLAlchemyError:
            return problem(503, "Service Unavailable", "the deployer database does not answer")
        return {"status": "ok"}
