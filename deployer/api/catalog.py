"""/v1/templates and /v1/roles: what deployments can be made from.

Parameters (types, defaults, constraints, hidden) are Heat's own reading of
the template (``stacks.validate``), for HOT and CFN alike; nodes come from the
IBM::SCO::Node resources' metadata where it is static.
"""
from __future__ import annotations

from flask.views import MethodView

from deployer.api.deployment_schemas import RoleSchema, OvercloudTemplateSchema, OvercloudTemplateSummarySchema
from deployer.api.deployment_services import services
from deployer.api.smorest import ApiBlueprint
from deployer.deployments import views

blp = ApiBlueprint("catalog", __name__, url_prefix="/v1",
                   description="Over-cloud templates and Chef roles shipped with the deployer.")


@blp.route("/templates")
class TemplateList(MethodView):
    @blp.response(200, OvercloudTemplateSummarySchema(many=True))
    def get(self):
        """The over-cloud templates (hot_templates/)."""
        return [{"name": t.name, "format": t.format, "description": t.description}
                for t in services().catalog.templates()]


@blp.route("/templates/<name>")
class TemplateItem(MethodView):
    @blp.response(200, OvercloudTemplateSchema)
    def get(self, name):
        """A template's parameters, groups, outputs, nodes and usable Heat environments."""
        return views.template_detail(services(), name)


@blp.route("/roles")
class RoleList(MethodView):
    @blp.response(200, RoleSchema(many=True))
    def get(self):
        """The Chef roles (roles/)."""
        return services().catalog.roles()


@blp.route("/roles/<name>")
class RoleItem(MethodView):
    @blp.response(200, RoleSchema)
    def get(self, name):
        return services().catalog.role(name)
