"""Request and response schemas of the catalog, parameter sets, deployments and their
failover certifications."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from deployer.api.schemas import FullMatch
from deployer.certify.service import STATUSES as CERTIFICATION_STATUSES
from deployer.deployments.service import NAME_PATTERN, STATES

DEPLOYMENT_NAME = FullMatch(
    NAME_PATTERN, error="must start with a letter and contain only letters, digits, '_' or '-' "
                        "(at most 63 characters)")
SET_NAME = FullMatch(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$",
                           error="must contain only letters, digits, '_', '.' or '-'")
CONTENT_NAME = validate.Length(min=1, max=255)
PARAMETERS = {"keys": fields.String(), "values": fields.Raw(allow_none=True)}


# -- catalog -----------------------------------------------------------------------

class OvercloudTemplateSummarySchema(ma.Schema):
    name = fields.String()
    format = fields.String(metadata={"description": "hot or cfn"})
    description = fields.String()


class ParameterSchemaSchema(ma.Schema):
    type = fields.String()
    description = fields.String()
    label = fields.String()
    default = fields.Raw(allow_none=True)
    required = fields.Boolean()
    constraints = fields.List(fields.Dict())
    hidden = fields.Boolean()


PREFLIGHT_HELP = ("the site checked before anything is created (deployer.preflight): status "
                  "(passed, failed, skipped), nodes [{resource, address, host_key_fingerprint, "
                  "hostname, status, checks [{name, status, detail, fix}]}], vips [{name, "
                  "address, segment, vrid, status, checks}], site [{field, name, status, "
                  "detail, fix}]")
STEP_HELP = ("1-based: the nodes of one step converge in parallel, each after the nodes "
             "it waits for in the stack's dependency graph (order, depends_on, references)")


class TemplateNodeSchema(ma.Schema):
    resource = fields.String()
    step = fields.Integer(metadata={"description": STEP_HELP})
    order = fields.Integer(allow_none=True)
    run_list = fields.List(fields.String(), allow_none=True)
    after = fields.List(fields.String(), metadata={"description": "the nodes it waits for"})


class OvercloudTemplateSchema(OvercloudTemplateSummarySchema):
    parameters = fields.Dict(keys=fields.String(), values=fields.Nested(ParameterSchemaSchema))
    parameter_groups = fields.List(fields.Dict())
    outputs = fields.Dict(keys=fields.String(), values=fields.String(),
                          metadata={"description": "output name -> description"})
    nodes = fields.List(fields.Nested(TemplateNodeSchema))
    heat_environments = fields.List(fields.String())


class RoleSchema(ma.Schema):
    name = fields.String()
    description = fields.String()
    run_list = fields.List(fields.String())
    env_run_lists = fields.Dict()
    default_attributes = fields.Dict()
    override_attributes = fields.Dict()


# -- parameter sets --------------------------------------------------------------------

class ParameterSetCreateSchema(ma.Schema):
    name = fields.String(required=True, validate=SET_NAME)
    template = fields.String(required=True, validate=CONTENT_NAME)
    parameters = fields.Dict(**PARAMETERS, load_default=dict)
    description = fields.String(load_default="")


class ParameterSetUpdateSchema(ma.Schema):
    template = fields.String(validate=CONTENT_NAME, load_default=None)
    parameters = fields.Dict(**PARAMETERS, required=True,
                             metadata={"description": "replaces the stored values; ****** "
                                                      "keeps a stored hidden value"})
    description = fields.String(load_default=None)


class ParameterSetSchema(ma.Schema):
    name = fields.String()
    template = fields.String()
    description = fields.String()
    parameters = fields.Dict(metadata={"description": "hidden parameters show as ******"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ParameterSetListArgsSchema(ma.Schema):
    template = fields.String()


# -- deployments -------------------------------------------------------------------------

class DeploymentCreateSchema(ma.Schema):
    name = fields.String(required=True, validate=DEPLOYMENT_NAME,
                         metadata={"description": "also the Heat stack name"})
    template = fields.String(required=True, validate=CONTENT_NAME)
    parameter_set = fields.String(load_default=None, allow_none=True, validate=CONTENT_NAME)
    parameters = fields.Dict(**PARAMETERS, load_default=dict,
                             metadata={"description": "override the parameter set's values"})
    heat_environments = fields.List(fields.String(validate=CONTENT_NAME), load_default=list,
                                    metadata={"description": "names in environments/heat"})
    skip_preflight = fields.Boolean(load_default=False, metadata={
        "description": "skip the checks on the nodes (SSH, sudo, platform, Chef server, "
                       "packages, VIPs free); the VIP registry still applies, and the "
                       "deployment records that its preflight was skipped"})


class DeploymentUpdateSchema(ma.Schema):
    parameter_set = fields.String(load_default=None, allow_none=True, validate=CONTENT_NAME)
    parameters = fields.Dict(**PARAMETERS, load_default=dict)
    heat_environments = fields.List(fields.String(validate=CONTENT_NAME), load_default=None,
                                    allow_none=True)

    @ma.validates_schema
    def _something(self, data, **_kwargs):
        if not data.get("parameters") and not data.get("parameter_set") \
                and data.get("heat_environments") is None:
            raise ma.ValidationError("give parameters, parameter_set or heat_environments",
                                     field_name="parameters")


class PlanNodeSchema(ma.Schema):
    resource = fields.String()
    address = fields.String(allow_none=True)
    run_list = fields.List(fields.String())
    order = fields.Integer()
    step = fields.Integer(allow_none=True, metadata={"description": STEP_HELP})


class PlanResourceSchema(ma.Schema):
    resource = fields.String()
    type = fields.String()
    properties = fields.Dict()
    metadata = fields.Dict()


class PlanSchema(ma.Schema):
    stack_name = fields.String()
    parameters = fields.Dict()
    stack_preview = fields.List(fields.Nested(PlanResourceSchema))
    chef_environment = fields.Dict(allow_none=True)
    steps = fields.List(fields.List(fields.Nested(PlanNodeSchema)),
                        metadata={"description": "the nodes by step, step 1 first"})
    preflight = fields.Dict(metadata={"description": PREFLIGHT_HELP})


class NodeSchema(ma.Schema):
    resource = fields.String()
    resource_status = fields.String(allow_none=True)
    node_name = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    order = fields.Integer(allow_none=True)
    step = fields.Integer(allow_none=True, metadata={"description": STEP_HELP})
    run_id = fields.String(allow_none=True)
    run_status = fields.String(metadata={"description": "pending (no run yet), queued, running, "
                                                        "succeeded, failed or cancelled"})
    phase = fields.String(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    elapsed_seconds = fields.Float(allow_none=True)


class ProgressSchema(ma.Schema):
    nodes_total = fields.Integer()
    nodes_done = fields.Integer()


class DeploymentSchema(ma.Schema):
    id = fields.String()
    name = fields.String()
    template = fields.String()
    parameter_set = fields.String(allow_none=True)
    heat_environments = fields.List(fields.String())
    stack_id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "Heat's stack_status"})
    stack_status = fields.String()
    state = fields.String(metadata={"description": f"one of {', '.join(STATES)}"})
    status_reason = fields.String()
    parameters = fields.Dict(metadata={"description": "hidden parameters show as ******"})
    outputs = fields.Dict(metadata={"description": "once the stack is complete"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    deleted_at = fields.DateTime(allow_none=True)
    progress = fields.Nested(ProgressSchema)
    nodes = fields.List(fields.Nested(NodeSchema))
    preflight = fields.Dict(allow_none=True, metadata={
        "description": "its preflight when it was created: status (passed or skipped), "
                       "skipped_by_request, checked_at, nodes, warnings"})


class DeploymentListArgsSchema(ma.Schema):
    status = fields.String(metadata={"description": f"a state ({', '.join(STATES)}) or a Heat "
                                                   f"stack_status; deleted ones only with "
                                                   f"status=deleted"})
    template = fields.String()
    name = fields.String()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    marker = fields.String(metadata={"description": "id of the last deployment of the "
                                                    "previous page"})


class DeploymentPageSchema(ma.Schema):
    deployments = fields.List(fields.Nested(DeploymentSchema(exclude=("nodes", "progress",
                                                                       "outputs"))))
    next_marker = fields.String(allow_none=True)


class EventArgsSchema(ma.Schema):
    since = fields.String(metadata={"description": "an event id (events after it) or an "
                                                   "ISO 8601 time"})


class EventSchema(ma.Schema):
    id = fields.String()
    time = fields.String()
    resource = fields.String()
    physical_resource_id = fields.String(allow_none=True)
    status = fields.String()
    reason = fields.String()


class EventListSchema(ma.Schema):
    events = fields.List(fields.Nested(EventSchema))


class NodeLogArgsSchema(ma.Schema):
    run_id = fields.String(metadata={"description": "another run of this node (default: latest)"})


class NodeLogSchema(ma.Schema):
    resource = fields.String()
    run_id = fields.String(allow_none=True)
    run_status = fields.String()
    text = fields.String()


# -- failover certifications ----------------------------------------------------------------

class CertificationCreateSchema(ma.Schema):
    confirm = fields.Boolean(load_default=False, truthy={True}, falsy={False},
                             metadata={"description": "must be true: every fault stalls the "
                                                      "deployment's services while it lasts"})
    test_nodes = fields.String(load_default=None, allow_none=True,
                               validate=validate.Length(min=1, max=4096),
                               metadata={"description": "absolute path of the test node set "
                                                        "the controllers run on (its faults "
                                                        "are done from this host)"})


class CertificationSchema(ma.Schema):
    id = fields.String()
    deployment_id = fields.String()
    status = fields.String(metadata={"description": f"one of {', '.join(CERTIFICATION_STATUSES)}"})
    options = fields.Dict()
    rows = fields.List(fields.Dict(), metadata={
        "description": "one per fault as it ended: fault, node, outage {token, db_write, rpc: "
                       "longest stall begun during the fault in seconds, null = never came back}, "
                       "rejoin {the same, begun once the node was restored; no target}, "
                       "lost {db_writes, messages}, time_to_whole, error, failures ([] = the row passes)"})
    reason = fields.String(metadata={"description": "why it failed or could not run"})
    requested_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    table = fields.String(metadata={"description": "the rows as a fixed-width text table "
                                                   "(what deployer certify prints)"})


class CertificationListSchema(ma.Schema):
    certifications = fields.List(fields.Nested(CertificationSchema),
                                 metadata={"description": "newest first"})
