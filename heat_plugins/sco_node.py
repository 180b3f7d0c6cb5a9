"""IBM::SCO::Node: a bare server bootstrapped into Chef and converged, in order.

The resource of the origin document (Properties Address, User, Password,
KeyFile; Metadata ``chef-runlist`` and ``order``) plus what real sites need
(SSH port, sudo, host key pinning, Chef environment and server overrides).

Ordering: a node depends on every IBM::SCO::Node of its stack with a lower
``order``, through Heat's own dependency graph, so order 1 converges before
order 2, equal orders run in parallel, and delete runs in reverse.

Nothing blocks heat-engine: ``handle_create`` asks the deployer API to start a
node run (SSH bootstrap + chef-client, executed by the deployer's worker) and
``check_create_complete`` polls it.  Failures name the node, the phase and the
tail of the output.  Update re-converges only a node whose run-list or
properties changed (DeployIdentifier among them: a fresh one converges again); delete
removes the Chef node and client.
"""
from __future__ import annotations

import time

from heat.common import exception
from heat.common.i18n import _
from heat.engine import attributes, constraints, properties, resource, support

from heat_plugins import common

OUTPUT_TAIL_CHARS = 4096


def check_metadata(metadata) -> tuple[int, list[str]]:
    """(order, run-list) of a node's metadata, by the deployer's rules; ValueError otherwise."""
    return common.names.order_of(metadata), common.names.run_list_of(metadata)


def _active(run) -> bool:
    return run["status"] not in common.contract.FINAL_STATES


class SCONode(resource.Resource):
    """A bare server that joins Chef and converges its run-list."""

    support_status = support.SupportStatus(version="2026.1")

    PROPERTIES = (
        ADDRESS, USER, PASSWORD, KEY_FILE, PORT, SUDO, HOST_KEY_FINGERPRINT,
        NODE_NAME, CHEF_ENVIRONMENT, ENVIRONMENT_TEMPLATE, CHEF_SERVER_URL, DEPLOY_IDENTIFIER,
        PASSWORD_PARAMETER,
    ) = (
        "Address", "User", "Password", "KeyFile", "Port", "Sudo", "HostKeyFingerprint",
        "NodeName", "ChefEnvironment", "EnvironmentTemplate", "ChefServerUrl", "DeployIdentifier",
        "PasswordParameter",
    )

    ATTRIBUTES = (
        NODE_NAME_ATTR, ADDRESS_ATTR, RUN_LIST_ATTR, ENVIRONMENT_ATTR,
        STATUS_CODE, STDOUT, STDERR,
    ) = (
        "node_name", "address", "run_list", "environment",
        "deploy_status_code", "deploy_stdout", "deploy_stderr",
    )

    properties_schema = {
        ADDRESS: properties.Schema(
            properties.Schema.STRING, _("IP address or host name the server is reached at over SSH."),
            required=True, update_allowed=True,
            constraints=[constraints.Length(min=1, max=255)]),
        USER: properties.Schema(
            properties.Schema.STRING, _("SSH user; a non-root user needs Sudo."),
            default="root", update_allowed=True,
            constraints=[constraints.AllowedPattern(r"^[a-z_][a-z0-9_.-]*$")]),
        PASSWORD: properties.Schema(
            properties.Schema.STRING,
            _("SSH password. Pass it from a hidden (NoEcho) parameter; it is never stored "
              "in resource data, events or attributes."),
            update_allowed=True),
        PASSWORD_PARAMETER: properties.Schema(
            properties.Schema.STRING,
            _("Name of a hidden parameter of the top-level stack holding the SSH password, "
              "for nodes of nested templates: they get the name, never the value, so no "
              "group's properties, nested parameters or events hold it."),
            update_allowed=True),
        KEY_FILE: properties.Schema(
            properties.Schema.STRING,
            _("Path, on the deployer host, of the SSH private key to log in with."),
            update_allowed=True),
        PORT: properties.Schema(
            properties.Schema.INTEGER, _("SSH port."), default=22, update_allowed=True,
            constraints=[constraints.Range(min=1, max=65535)]),
        SUDO: properties.Schema(
            properties.Schema.BOOLEAN, _("Run the bootstrap with sudo (for a non-root User)."),
            default=False, update_allowed=True),
        HOST_KEY_FINGERPRINT: properties.Schema(
            properties.Schema.STRING,
            _("SHA256 fingerprint of the server's SSH host key to pin (as ssh-keygen -l "
              "prints it); a different key fails the run."),
            update_allowed=True,
            constraints=[constraints.CustomConstraint("sco.ssh_host_key_fingerprint")]),
        NODE_NAME: properties.Schema(
            properties.Schema.STRING,
            _("Chef node and client name; defaults to <stack name>-<resource name>."),
            constraints=[constraints.CustomConstraint("sco.chef_node_name")]),
        CHEF_ENVIRONMENT: properties.Schema(
            properties.Schema.STRING,
            _("An existing Chef environment to converge in, e.g. "
              "{get_resource: <an IBM::SCO::ChefEnvironment>}."),
            update_allowed=True,
            constraints=[constraints.CustomConstraint("sco.chef_environment_name")]),
        ENVIRONMENT_TEMPLATE: properties.Schema(
            properties.Schema.STRING,
            _("Chef environment template (environments/chef/<name>.json) rendered for this "
              "stack from the stack outputs whose names are its placeholders. Defaults to "
              "the stack parameter ChefEnvironmentTemplate, then to the deployer default."),
            update_allowed=True,
            constraints=[constraints.CustomConstraint("sco.chef_environment_name")]),
        CHEF_SERVER_URL: properties.Schema(
            properties.Schema.STRING,
            _("Chef server URL the node uses, when not the deployer's own server."),
            update_allowed=True),
        DEPLOY_IDENTIFIER: properties.Schema(
            properties.Schema.STRING,
            _("Any value; an update that changes it converges the node again even when "
              "nothing else changed (TripleO's DeployIdentifier; `deployer update` sets a "
              "fresh one)."),
            default="", update_allowed=True),
    }

    attributes_schema = {
        NODE_NAME_ATTR: attributes.Schema(_("Chef node name."), type=attributes.Schema.STRING),
        ADDRESS_ATTR: attributes.Schema(_("Address the node was reached at."),
                                        type=attributes.Schema.STRING),
        RUN_LIST_ATTR: attributes.Schema(_("The node's Chef run-list."),
                                         type=attributes.Schema.LIST),
        ENVIRONMENT_ATTR: attributes.Schema(_("The Chef environment the node converges in."),
                                            type=attributes.Schema.STRING),
        STATUS_CODE: attributes.Schema(_("Exit status of the last chef-client run."),
                                       type=attributes.Schema.INTEGER),
        STDOUT: attributes.Schema(_("Tail of the last node run's standard output."),
                                  type=attributes.Schema.STRING),
        STDERR: attributes.Schema(_("Tail of the last node run's error output."),
                                  type=attributes.Schema.STRING),
    }

    # -- ordering -----------------------------------------------------------

    def _template_order(self) -> int:
        try:
            return common.names.order_of(self.t.metadata())
        except ValueError:
            return 0  # validate() reports it

    def add_dependencies(self, deps):
        """Depend on every node of this stack with a lower ``order``.

        Implicit on purpose: ``order`` is the origin document's way to sequence
        nodes.  Reading the template definition (self.t) needs no DB access.
        """
        super().add_dependencies(deps)
        mine = self._template_order()
        for other in self.stack.resources.values():
            if other is not self and isinstance(other, SCONode) and other._template_order() < mine:
                deps += (self, other)

    # -- validation ---------------------------------------------------------

    def validate(self):
        super().validate()
        try:
            check_metadata(self.t.metadata())
        except ValueError as exc:
            raise exception.StackValidationFailed(message=f"{self.name}: Metadata {exc}")
        if not (self.properties[self.PASSWORD] or self.properties[self.PASSWORD_PARAMETER]
                or self.properties[self.KEY_FILE]):
            raise exception.StackValidationFailed(
                message=f"{self.name}: Properties: one of Password, PasswordParameter or KeyFile "
                        f"is required")
        if self.properties[self.PASSWORD_PARAMETER]:
            self._referenced_password(self.properties)
        if self.properties[self.CHEF_ENVIRONMENT] and self.properties[self.ENVIRONMENT_TEMPLATE]:
            raise exception.StackValidationFailed(
                message=f"{self.name}: Properties: ChefEnvironment and EnvironmentTemplate "
                        f"are mutually exclusive")
        self._validate_placeholder_outputs()

    def _validate_placeholder_outputs(self) -> None:
        """Every placeholder of the stack's environment template needs a same-named output.

        Checked at validation, so a missing one fails the stack before any node
        is touched.  An unreachable deployer defers the check to create time.
        """
        template = self._environment_template(self.properties)
        if template is None or common.checked_by_deployer(self.stack):
            return
        try:
            placeholders = self._client().environment_template(template)["placeholders"]
        except common.deployer_client.DeployerUnavailable:
            return
        except common.deployer_client.DeployerAPIError as exc:
            raise exception.StackValidationFailed(
                message=f"{self.name}: environment template {template!r}: {exc.detail}")
        missing = sorted(set(placeholders) - set(self.stack.outputs))
        if missing:
            raise exception.StackValidationFailed(
                message=f"{self.name}: {common.names.unfilled_placeholders_message(template, missing)} "
                        f"(no stack output of that name)")

    # -- helpers ------------------------------------------------------------

    def _top_stack(self):
        """The top-level stack; None for a nested stack not stored yet (a preview's)."""
        if self.stack.parent_resource is None:
            return self.stack
        if not self.stack.owner_id:
            return None
        from heat.engine import stack as parser
        return parser.Stack.load(self.context, stack_id=self.stack.root_stack_id())

    def _referenced_password(self, props) -> str | None:
        """The value of the top-level stack's hidden parameter PasswordParameter names
        (None while that stack cannot be reached: checked again when the run starts)."""
        name = props[self.PASSWORD_PARAMETER]
        top = self._top_stack()
        if top is None:
            return None
        where = f"{self.name}: Properties: PasswordParameter"
        if name not in top.parameters:
            raise exception.StackValidationFailed(message=f"{where}: the top-level stack has no "
                                                          f"parameter {name!r}")
        if not top.parameters.params[name].hidden():
            raise exception.StackValidationFailed(
                message=f"{where}: parameter {name!r} must be hidden (HOT hidden: true, CFN NoEcho)")
        return top.parameters[name]

    def _password(self, props) -> str | None:
        if props[self.PASSWORD]:
            return props[self.PASSWORD]
        if props[self.PASSWORD_PARAMETER]:
            password = self._referenced_password(props)
            if password is None:
                raise exception.Error(f"{self.name}: PasswordParameter "
                                      f"{props[self.PASSWORD_PARAMETER]!r}: the top-level stack "
                                      f"cannot be read")
            return password or None
        return None

    def _client(self):
        return common.api_client(self.context, self.stack)

    def _node_name(self, props) -> str:
        return props[self.NODE_NAME] or common.names.node_name_from(self.stack.name, self.name)

    def _environment_template(self, props) -> str | None:
        """The template to render for this stack, or None when an environment is given."""
        if props[self.CHEF_ENVIRONMENT]:
            return None
        if props[self.ENVIRONMENT_TEMPLATE]:
            return props[self.ENVIRONMENT_TEMPLATE]
        if "ChefEnvironmentTemplate" in self.stack.parameters:
            return self.stack.parameters["ChefEnvironmentTemplate"]
        return common.options().default_environment_template

    def _placeholder_values(self, placeholders) -> dict:
        """Values for the template's placeholders from same-named stack outputs.

        Only outputs named like a placeholder are read (the origin's style);
        a missing one is reported by the deployer as an unfilled placeholder.
        """
        values = {}
        for name in placeholders:
            output = self.stack.outputs.get(name)
            if output is not None:
                values[name] = output.get_value()
        return values

    def _ensure_environment(self, props) -> str:
        """Render and upload this stack's Chef environment when the node needs one."""
        template = self._environment_template(props)
        if template is None:
            return props[self.CHEF_ENVIRONMENT]
        name = common.names.environment_name_from(self.stack.name)
        client = self._client()
        placeholders = client.environment_template(template)["placeholders"]
        client.render_environment(name, template, self._placeholder_values(placeholders))
        self.data_set("rendered_environment", name)
        return name

    def _run_spec(self, props, metadata, environment: str):
        """The deployer's RunSpec for this node (install: the deployer's configured source)."""
        contract = common.contract
        target = contract.NodeTarget(
            address=props[self.ADDRESS], port=props[self.PORT], user=props[self.USER],
            password=self._password(props), key_file=props[self.KEY_FILE] or None,
            sudo=props[self.SUDO], host_key_fingerprint=props[self.HOST_KEY_FINGERPRINT] or None)
        return contract.RunSpec(
            node_name=self._node_name(props), target=target,
            run_list=common.names.run_list_of(metadata), environment=environment,
            chef_server_url=props[self.CHEF_SERVER_URL] or None,
            stack_id=self.stack.id, stack_name=self.stack.name, resource_name=self.name)

    def _start_run(self, props, metadata) -> dict:
        environment = self._ensure_environment(props)
        spec = self._run_spec(props, metadata, environment)
        run = self._client().start_run(spec.to_dict(redact=False))
        self.data_set("run_id", run["id"])
        self.data_set("environment", environment)
        return {"run_id": run["id"], "unreachable_since": None}

    def _poll(self, token) -> bool:
        """True when the run succeeded; raises on failure; PollDelay while it runs."""
        options = common.options()
        try:
            run = self._client().get_run(token["run_id"])
        except common.deployer_client.DeployerUnavailable as exc:
            since = token["unreachable_since"] = token["unreachable_since"] or time.monotonic()
            if time.monotonic() - since > options.api_unreachable_grace:
                raise exception.Error(
                    f"SCO node {self.name}: deployer API unreachable for more than "
                    f"{options.api_unreachable_grace} s ({exc})")
            raise resource.PollDelay(options.poll_interval)
        token["unreachable_since"] = None
        if _active(run):
            raise resource.PollDelay(options.poll_interval)
        self._store_outcome(run)
        if run["status"] == common.contract.SUCCEEDED:
            return True
        raise exception.Error(run.get("reason") or
                              f"SCO node {self.name}: node run {run['id']} {run['status']}")

    def _store_outcome(self, run) -> None:
        if run.get("exit_code") is not None:
            self.data_set("status_code", str(run["exit_code"]))
        self.data_set("stdout", (run.get("stdout_tail") or "")[-OUTPUT_TAIL_CHARS:])
        self.data_set("stderr", (run.get("stderr_tail") or "")[-OUTPUT_TAIL_CHARS:])

    def _cancel_active_run(self) -> None:
        """Ask the node's last run to stop; a run the deployer no longer knows is no matter."""
        run_id = self.data().get("run_id")
        if not run_id:
            return
        client = self._client()
        try:
            if _active(client.get_run(run_id)):
                client.cancel_run(run_id)
        except common.deployer_client.DeployerAPIError as exc:
            if exc.status != 404:
                raise

    # -- lifecycle ----------------------------------------------------------

    def handle_create(self):
        node_name = self._node_name(self.properties)
        try:
            return self._start_run(self.properties, self.metadata_get())
        finally:
            # Identity first, so a delete after a failed create still cleans Chef.
            self.resource_id_set(node_name)

    def check_create_complete(self, token):
        return self._poll(token)

    def handle_update(self, json_snippet, tmpl_diff, prop_diff):
        old_run_list = common.names.run_list_of(self.metadata_get())
        new_metadata = json_snippet.metadata()
        if tmpl_diff.metadata_changed():
            self.metadata_set(new_metadata)  # Heat does not persist it by itself
        if not prop_diff and common.names.run_list_of(new_metadata) == old_run_list:
            return None  # e.g. only `order` changed: nothing to converge
        self.properties = json_snippet.properties(self.properties_schema, self.context)
        return self._start_run(self.properties, new_metadata)

    def check_update_complete(self, token):
        return token is None or self._poll(token)

    def handle_create_cancel(self, token):
        self._cancel_active_run()

    def handle_update_cancel(self, token):
        self._cancel_active_run()

    def handle_delete(self):
        if self.resource_id is None:
            return None
        self._cancel_active_run()
        client = self._client()
        # The one way a node leaves Chef: DELETE /v1/chef/nodes (ChefServer.remove_node).
        client.delete_chef_node(self.resource_id)  # already gone is fine
        rendered = self.data().get("rendered_environment")
        if rendered:
            # The last node of the stack to go removes the stack's environment;
            # each node checks after removing itself, so the last check sees none left.
            try:
                client.delete_environment(rendered, if_unused=True)
            except common.deployer_client.DeployerAPIError as exc:
                if exc.status != 409:  # 409: other nodes of the stack still use it
                    raise
        return None

    # -- attributes and events ----------------------------------------------

    def _resolve_attribute(self, name):
        if name == self.NODE_NAME_ATTR:
            return self.resource_id or self._node_name(self.properties)
        if name == self.ADDRESS_ATTR:
            return self.properties[self.ADDRESS]
        if name == self.RUN_LIST_ATTR:
            return common.names.run_list_of(self.metadata_get())
        if name == self.ENVIRONMENT_ATTR:
            return self.data().get("environment")
        if name == self.STATUS_CODE:
            code = self.data().get("status_code")
            return int(code) if code not in (None, "None") else None
        if name == self.STDOUT:
            return self.data().get("stdout")
        if name == self.STDERR:
            return self.data().get("stderr")
        return None

    def _show_resource(self):
        return None  # never echo properties (Password) through the `show` attribute

    def _add_event(self, action, status, reason):
        """Record events without a reference to the stored properties.

        Heat's event-show returns the resource's stored property data, which
        would include the SSH Password; our events carry only the state change.
        """
        from heat.engine import event
        ev = event.Event(self.context, self.stack, action, status, reason,
                         self.resource_id or self.physical_resource_name(), None, None,
                         self.name, self.type())
        ev.store()
        self.stack.dispatch_event(ev)


def available_resource_mapping():
    return {"IBM::SCO::Node": SCONode} if common.deployer_available("IBM::SCO::Node") else {}
