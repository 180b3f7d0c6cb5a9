"""IBM::SCO::ChefEnvironment: a stack's Chef environment with an explicit substitution map.

The HOT form of site parameters: the environment template
(environments/chef/<template>.json) has its placeholders filled from
``values`` and is uploaded to the Chef server before any node that refers to
it (``ChefEnvironment: {get_resource: <this>}``) is touched; an unfilled
placeholder fails validation of the stack, before anything is created.
"""
from __future__ import annotations

from heat.common import exception
from heat.common.i18n import _
from heat.engine import attributes, constraints, properties, resource, support

from heat_plugins import common


class ChefEnvironment(resource.Resource):
    """A Chef environment rendered from a template and a map of values."""

    support_status = support.SupportStatus(version="2026.1")

    PROPERTIES = (TEMPLATE, NAME, VALUES) = ("template", "name", "values")
    ATTRIBUTES = (NAME_ATTR, PLACEHOLDERS_ATTR) = ("name", "placeholders")

    properties_schema = {
        TEMPLATE: properties.Schema(
            properties.Schema.STRING,
            _("Name of the Chef environment template (environments/chef/<name>.json)."),
            required=True, update_allowed=True,
            constraints=[constraints.CustomConstraint("sco.chef_environment_name")]),
        NAME: properties.Schema(
            properties.Schema.STRING,
            _("Chef environment name; defaults to the stack name (made Chef-safe)."),
            constraints=[constraints.CustomConstraint("sco.chef_environment_name")]),
        VALUES: properties.Schema(
            properties.Schema.MAP,
            _("Placeholder name -> value for every placeholder of the template."),
            default={}, update_allowed=True),
    }

    attributes_schema = {
        NAME_ATTR: attributes.Schema(_("The Chef environment name."),
                                     type=attributes.Schema.STRING),
        PLACEHOLDERS_ATTR: attributes.Schema(_("Placeholders of the template."),
                                             type=attributes.Schema.LIST),
    }

    def _env_name(self) -> str:
        return self.properties[self.NAME] or common.names.environment_name_from(self.stack.name)

    def validate(self):
        super().validate()
        if common.checked_by_deployer(self.stack):
            return  # the deployer rendered it already; no call back into its API
        try:
            template = common.api_client(self.context).environment_template(
                self.properties[self.TEMPLATE])
        except common.deployer_client.DeployerUnavailable:
            return  # checked again, with the same message, when the resource is created
        except Exception as exc:  # e.g. an unknown template name
            raise exception.StackValidationFailed(message=f"{self.name}: {exc}")
        values = self.properties[self.VALUES] or {}
        missing = sorted(set(template["placeholders"]) - set(values))
        if missing:
            raise exception.StackValidationFailed(
                message=f"{self.name}: values: "
                        f"{common.names.unfilled_placeholders_message(self.properties[self.TEMPLATE], missing)}")

    def _upload(self, props) -> None:
        common.api_client(self.context).render_environment(
            self._env_name(), props[self.TEMPLATE], props[self.VALUES] or {})

    def handle_create(self):
        self._upload(self.properties)
        self.resource_id_set(self._env_name())

    def handle_update(self, json_snippet, tmpl_diff, prop_diff):
        if prop_diff:
            self.properties = json_snippet.properties(self.properties_schema, self.context)
            self._upload(self.properties)

    def handle_delete(self):
        if self.resource_id:
            common.api_client(self.context).delete_environment(self.resource_id, if_unused=False)

    def _resolve_attribute(self, name):
        if name == self.NAME_ATTR:
            return self.resource_id or self._env_name()
        if name == self.PLACEHOLDERS_ATTR:
            template = common.api_client(self.context).environment_template(
                self.properties[self.TEMPLATE])
            return sorted(template["placeholders"])
        return None


def available_resource_mapping():
    if not common.deployer_available("IBM::SCO::ChefEnvironment"):
        return {}
    return {"IBM::SCO::ChefEnvironment": ChefEnvironment}
