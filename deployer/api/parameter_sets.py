"""/v1/parameter-sets: named parameter values for a template, checked by Heat
before they are stored; hidden parameters are encrypted and shown as ******."""
from __future__ import annotations

from flask.views import MethodView

from deployer.api.deployment_schemas import (ParameterSetCreateSchema, ParameterSetListArgsSchema,
                                             ParameterSetSchema, ParameterSetUpdateSchema)
from deployer.api.deployment_services import heat_slot, services
from deployer.api.smorest import ApiBlueprint
from deployer.deployments import parameter_sets

blp = ApiBlueprint("parameter_sets", __name__, url_prefix="/v1/parameter-sets",
                   description="Parameter sets: reusable values for a template's parameters.")


@blp.route("")
class ParameterSets(MethodView):
    @blp.arguments(ParameterSetListArgsSchema, location="query")
    @blp.response(200, ParameterSetSchema(many=True))
    def get(self, args):
        """All parameter sets, or those of one template."""
        found = services()
        return [parameter_sets.view(row)
                for row in parameter_sets.list_sets(found.session, args.get("template"))]

    @blp.arguments(ParameterSetCreateSchema)
    @blp.response(201, ParameterSetSchema)
    def post(self, body):
        """Store a set once Heat accepts its values for the template."""
        found = services()
        with heat_slot():
            row = parameter_sets.create(found, body["name"], body["template"],
                                        body["parameters"], body["description"])
            found.session.commit()
        return parameter_sets.view(row)


@blp.route("/<name>")
class ParameterSetItem(MethodView):
    @blp.response(200, ParameterSetSchema)
    def get(self, name):
        return parameter_sets.view(parameter_sets.get(services().session, name))

    @blp.arguments(ParameterSetUpdateSchema)
    @blp.response(200, ParameterSetSchema)
    def put(self, body, name):
        """Replace the values (checked by Heat first); ****** keeps a stored hidden value."""
        found = services()
        with heat_slot():
            row = parameter_sets.replace(found, name, body["template"], body["parameters"],
                                         body["description"])
            found.session.commit()
        return parameter_sets.view(row)

    @blp.response(204)
    def delete(self, name):
        found = services()
        parameter_sets.delete(found.session, name)
        found.session.commit()
