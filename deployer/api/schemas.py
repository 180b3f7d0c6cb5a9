"""Request and response schemas (marshmallow); flask-smorest builds the
OpenAPI document from these same classes, so documentation cannot drift
from validation."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from deployer.bootstrap.contract import ACTIONS, FINAL_STATES, PHASES, QUEUED, RUNNING
from deployer.chef import names

class FullMatch(validate.Regexp):
    """validate.Regexp over the whole value: its ``$`` would let a trailing newline in."""

    def __call__(self, value):
        if not isinstance(value, str) or self.regex.fullmatch(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


# Every Chef rule is deployer.chef.names', so the API accepts what the runner takes.
CHEF_NAME = FullMatch(names.NODE_NAME_PATTERN, error=names.NODE_NAME_RULE)
ENVIRONMENT_NAME = FullMatch(names.ENVIRONMENT_NAME_PATTERN,
                                   error=names.ENVIRONMENT_NAME_RULE)
FINGERPRINT = FullMatch(names.FINGERPRINT_PATTERN, error=names.FINGERPRINT_RULE)


def _run_list_item(item: str) -> None:
    try:
        names.parse_run_list_item(item)
    except ValueError as exc:
        raise ma.ValidationError(str(exc)) from None


MAX_SEQ = 2**31 - 1          # output chunk numbers are 32-bit integers in every database
def _host_address(value: str) -> None:
    if not names.is_host_address(value):
        raise ma.ValidationError(names.HOST_ADDRESS_RULE)


RUN_STATES = (QUEUED, RUNNING, *FINAL_STATES)
STREAMS = ("stdout", "stderr")


class NodeTargetSchema(ma.Schema):
    address = fields.String(required=True, validate=_host_address)
    port = fields.Integer(load_default=22, validate=validate.Range(min=1, max=65535))
    user = fields.String(load_default="root", validate=FullMatch(
        names.SSH_USER_PATTERN, error=names.SSH_USER_RULE))
    password = fields.String(load_default=None, allow_none=True, load_only=True,
                             metadata={"description": "SSH password; stored encrypted, "
                                                      "never returned"})
    key_file = fields.String(load_default=None, allow_none=True,
                             metadata={"description": "private key path on the deployer host"})
    sudo = fields.Boolean(load_default=False)
    host_key_fingerprint = fields.String(
        load_default=None, allow_none=True,
        validate=FINGERPRINT)
    connect_timeout = fields.Float(load_default=15.0, validate=validate.Range(min=1, max=600))

    @ma.validates_schema
    def _credentials(self, data, **_kwargs):
        if not data.get("password") and not data.get("key_file"):
            raise ma.ValidationError("password or key_file is required", field_name="password")


class ChefInstallSourceSchema(ma.Schema):
    kind = fields.String(load_default="present",
                         validate=validate.OneOf(names.INSTALL_KINDS))
    location = fields.String(load_default="")

    @ma.validates_schema
    def _location(self, data, **_kwargs):
        if data.get("kind", "present") != "present" and not data.get("location"):
            raise ma.ValidationError(f"required when kind is {data['kind']}",
                                     field_name="location")


class RunSpecSchema(ma.Schema):
    """Body of POST /v1/runs: a deployer.bootstrap.contract.RunSpec."""
    node_name = fields.String(required=True,
                              validate=[validate.Length(min=1, max=255), CHEF_NAME])
    target = fields.Nested(NodeTargetSchema, required=True)
    run_list = fields.List(fields.String(validate=_run_list_item, metadata={
        "description": "recipe[COOKBOOK[::RECIPE][@VERSION]], role[ROLE] or a bare recipe "
                       "name (read as recipe[...]), as chef-client takes them"}), required=True)
    environment = fields.String(required=True,
                                validate=[validate.Length(min=1, max=255), ENVIRONMENT_NAME])
    action = fields.String(load_default="converge", validate=validate.OneOf(ACTIONS))
    chef_server_url = fields.Url(load_default=None, allow_none=True, require_tld=False)
    install = fields.Nested(ChefInstallSourceSchema, load_default=None,
                            metadata={"description": "default: the deployer's [bootstrap] "
                                                     "chef_client_install/location"})
    stack_id = fields.String(load_default=None, allow_none=True,
                             validate=validate.Length(max=64))
    stack_name = fields.String(load_default=None, allow_none=True,
                               validate=validate.Length(max=255))
    resource_name = fields.String(load_default=None, allow_none=True,
                                  validate=validate.Length(max=255))
    timeout = fields.Float(load_default=3600.0, validate=validate.Range(min=1, max=86400))


class RunPhaseSchema(ma.Schema):
    name = fields.String(metadata={"description": f"one of {', '.join(PHASES)}"})
    status = fields.String()
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class RunSchema(ma.Schema):
    id = fields.String()
    node_name = fields.String()
    action = fields.String()
    status = fields.String(metadata={"description": f"one of {', '.join(RUN_STATES)}"})
    phase = fields.String(allow_none=True)
    phases = fields.List(fields.Nested(RunPhaseSchema))
    exit_code = fields.Integer(allow_none=True)
    reason = fields.String()
    stdout_tail = fields.String()
    stderr_tail = fields.String()
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    heartbeat_at = fields.DateTime(allow_none=True)
    worker_id = fields.String(allow_none=True)
    cancel_requested = fields.Boolean()
    stack_id = fields.String(allow_none=True)
    stack_name = fields.String(allow_none=True)
    resource_name = fields.String(allow_none=True)
    deployment_id = fields.String(allow_none=True, metadata={
        "description": "the deployment whose node resource started the run (its run "
                       "credential); null for a run an admin started"})
    spec = fields.Dict(metadata={"description": "the run spec, password redacted"})


class RunArgsSchema(ma.Schema):
    tail = fields.Integer(load_default=50, validate=validate.Range(min=0, max=1000),
                          metadata={"description": "lines of stdout/stderr tail to return"})


class RunListArgsSchema(ma.Schema):
    stack_id = fields.String()
    status = fields.String(validate=validate.OneOf(RUN_STATES))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    marker = fields.String(metadata={"description": "id of the last run of the previous page"})


class RunPageSchema(ma.Schema):
    runs = fields.List(fields.Nested(RunSchema))
    next_marker = fields.String(allow_none=True,
                                metadata={"description": "pass as marker for the next page; "
                                                         "null on the last page"})


class RunLogArgsSchema(ma.Schema):
    stream = fields.String(validate=validate.OneOf(STREAMS))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_SEQ),
                            metadata={"description": "the last seq already read"})
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=5000))


class RunOutputChunkSchema(ma.Schema):
    seq = fields.Integer()
    stream = fields.String()
    text = fields.String()
    created_at = fields.DateTime()


class RunLogSchema(ma.Schema):
    run_id = fields.String()
    status = fields.String()
    chunks = fields.List(fields.Nested(RunOutputChunkSchema))
    next_offset = fields.Integer(metadata={"description": "offset for the next read"})
