"""Site parameters: Chef environment templates and the environments rendered from them.

/v1/chef/environment-templates lists the shipped templates
(environments/chef/*.json) with their placeholders; /v1/chef/environments
shows, renders (template + values), edits (attributes directly) and deletes
the environments on the Chef server.  The Heat resources use the same
endpoints: a stack's environment is rendered here before any node is touched,
and removed when its last node is gone (``if_unused``).  The logic is
deployer.chef.environments'; these views only bind it to HTTP.
"""
from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields

from deployer.api.chef_calls import chef_call
from deployer.api.context import db_session, state
from deployer.api.schemas import ENVIRONMENT_NAME, FullMatch
from deployer.api.smorest import ApiBlueprint
from deployer.chef import environments, names
from deployer.errors import DeployerError
from deployer.chef.environment_template import EnvironmentTemplates

blp = ApiBlueprint("chef_environments", __name__, url_prefix="/v1/chef",
                   description="Chef environments (site parameters) and their templates.")


class TemplateSchema(ma.Schema):
    name = fields.String()
    placeholders = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                               metadata={"description": "placeholder -> JSON paths where it appears"})
    document = fields.Dict(metadata={"description": "the template as shipped"})


class EnvironmentSchema(ma.Schema):
    name = fields.String()
    description = fields.String()
    default_attributes = fields.Dict()
    override_attributes = fields.Dict()
    cookbook_versions = fields.Dict(keys=fields.String(), values=fields.String())


class EnvironmentNamesSchema(ma.Schema):
    environments = fields.List(fields.String(), metadata={"description": "names on the Chef server"})


COOKBOOK_NAME = FullMatch(r"^[A-Za-z0-9_.-]{1,255}$",
                          error="cookbook names contain only letters, digits, '_', '.' or '-'")
VERSION_CONSTRAINT = FullMatch(r"^(?:(?:=|>=|<=|>|<|~>) )?\d+(?:\.\d+){0,2}$",
                               error="a version constraint: [OP ]X[.Y[.Z]] with OP one of "
                                     "= >= <= > < ~>")


class EnvironmentPutSchema(ma.Schema):
    """Either a template with values (rendered) or attributes edited directly."""
    template = fields.String(validate=ENVIRONMENT_NAME,
                             metadata={"description": "template to render (environments/chef)"})
    values = fields.Dict(keys=fields.String(), load_default=dict,
                         metadata={"description": "placeholder -> value"})
    description = fields.String()
    default_attributes = fields.Dict()
    override_attributes = fields.Dict()
    cookbook_versions = fields.Dict(keys=fields.String(validate=COOKBOOK_NAME),
                                    values=fields.String(validate=VERSION_CONSTRAINT))
    secrets = fields.Dict(
        keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.String()),
        load_only=True, metadata={"description": "item -> key -> value of secrets to set instead of "
                                                 "generating them (write-only; never shown)"})

    @ma.validates_schema
    def _one_form(self, data, **_kwargs):
        direct = {"default_attributes", "override_attributes", "cookbook_versions"} & set(data)
        if data.get("template") and direct:
            raise ma.ValidationError("give a template with values, or attributes, not both",
                                     field_name="template")
        if not data.get("template") and not direct:
            raise ma.ValidationError("a template (with values) or attributes are required",
                                     field_name="template")


class DeleteArgsSchema(ma.Schema):
    if_unused = fields.Boolean(load_default=False, metadata={
        "description": "keep the environment (409) while nodes still use it"})


def _checked(name: str, field: str = "name") -> str:
    """A path's environment (or template) name: Chef's rule, so '..' never reaches the
    server root and nothing needs %-encoding."""
    if not names.is_environment_name(name) or len(name) > 255:
        raise DeployerError(f"{field} {name!r} is invalid",
                            errors={field: [names.ENVIRONMENT_NAME_RULE]})
    return name


def _templates() -> EnvironmentTemplates:
    return EnvironmentTemplates(state().cfg.content.chef_environments_dir)


@blp.route("/environment-templates")
class TemplateList(MethodView):
    @blp.response(200, TemplateSchema(many=True, exclude=("document",)))
    def get(self):
        """The shipped Chef environment templates and their placeholders."""
        return environments.template_summaries(_templates())


@blp.route("/environment-templates/<name>")
class TemplateItem(MethodView):
    @blp.response(200, TemplateSchema)
    def get(self, name):
        """One template: its document and where each placeholder appears."""
        return environments.template_detail(_templates(), _checked(name))


@blp.route("/environments")
class EnvironmentList(MethodView):
    @blp.response(200, EnvironmentNamesSchema)
    def get(self):
        """Names of the environments on the Chef server."""
        return {"environments": chef_call(lambda chef: sorted(chef.list_environments()))}


@blp.route("/environments/<name>")
class EnvironmentItem(MethodView):
    @blp.response(200, EnvironmentSchema)
    def get(self, name):
        """An environment as stored on the Chef server."""
        _checked(name)
        return chef_call(lambda chef: chef.get_environment(name))

    @blp.arguments(EnvironmentPutSchema)
    @blp.response(200, EnvironmentSchema)
    def put(self, body, name):
        """Render a template with values into environment ``name`` (with its secrets), or edit
        its attributes."""
        _checked(name)
        return chef_call(lambda chef: environments.upload(
            _templates(), chef, db_session(), state().secret_box, name, body))

    @blp.arguments(DeleteArgsSchema, location="query")
    @blp.response(204)
    def delete(self, args, name):
        """Delete the environment and its secrets; gone already counts as deleted."""
        _checked(name)
        chef_call(lambda chef: environments.delete(chef, db_session(), name, if_unused=args["if_unused"]))
