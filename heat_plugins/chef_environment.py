"""IBM::SCO::ChefEnvironment: a stack's Chef environment with an explicit substitution map.

The HOT form of site parameters: the environment template
(environments/chef/<template>.json) has its placeholders filled from
``values`` and is uploaded to the Chef server before any node that refers to
it (``ChefEnvironment: {get_resource: <this>}``) is touched; an unfilled
placeholder fails validation of the stack, before anything is created.

The deployer provisions the environment's secrets with it (generated per environment);
``secret_parameters`` lets a hidden stack parameter give one instead, by reference: the
property holds the parameter's name, so the value never enters resource properties, events
or the resource data, and reaches the deployer only in the render request.
"""
from __future__ import annotations

from heat.common import exception
from heat.common.i18n import _
from heat.engine import attributes, constraints, properties, resource, support

from heat_plugins import common


class ChefEnvironment(resource.Resource):
    """A Chef environment rendered from a template and a map of values."""

    support_status = support.SupportStatus(version="2026.1")

    PROPERTIES = (TEMPLATE, NAME, VALUES, SECRET_PARAMETERS) = (
        "template", "name", "values", "secret_parameters")
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
        SECRET_PARAMETERS: properties.Schema(
            properties.Schema.MAP,
            _("Secret 'item.key' (cookbooks/deployer_common/README.md) -> name of a hidden stack "
              "parameter giving its value; an empty value leaves it generated."),
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

    def _secret_references(self) -> dict[tuple[str, str], str]:
        """(item, key) -> hidden parameter name; StackValidationFailed naming what is wrong."""
        references = {}
        for path, parameter in (self.properties[self.SECRET_PARAMETERS] or {}).items():
            item, dot, key = str(path).partition(".")
            where = f"{self.name}: {self.SECRET_PARAMETERS}.{path}"
            if not (item and dot and key):
                raise exception.StackValidationFailed(message=f"{where}: name a secret as 'item.key'")
            if parameter not in self.stack.parameters:
                raise exception.StackValidationFailed(message=f"{where}: no stack parameter {parameter!r}")
            if not self.stack.parameters.params[parameter].hidden():
                raise exception.StackValidationFailed(
                    message=f"{where}: parameter {parameter!r} must be hidden (HOT hidden: true, CFN NoEcho)")
            references[(item, key)] = parameter
        return references

    def _given_secrets(self) -> dict[str, dict[str, str]]:
        given: dict[str, dict[str, str]] = {}
        for (item, key), parameter in self._secret_references().items():
            value = self.stack.parameters[parameter]
            if value not in (None, ""):
                given.setdefault(item, {})[key] = str(value)
        return given

    def validate(self):
        super().validate()
        self._secret_references()
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
            self._env_name(), props[self.TEMPLATE], props[self.VALUES] or {}, self._given_secrets())

    def handle_create(self):
        # Identity first: a delete after a failed upload still removes what was provisioned.
        self.resource_id_set(self._env_name())
        self._upload(self.properties)

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
