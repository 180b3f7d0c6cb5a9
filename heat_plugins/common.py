"""What the deployer's Heat resources share: their heat.conf options, the deployer
library they stand on, and the deployer API client they call.

heat-engine loads every module in ``plugin_dirs``; this one has no resource
mapping and only holds the ``[deployer]`` options (registered once, at import),
the guarded import of the deployer package (installed beside Heat; without it
the resources register nothing rather than break heat-engine's start) and the
factory of the API client.  The resources never do SSH or Chef work inside
heat-engine: they ask the deployer to do it and poll.
"""
from __future__ import annotations

from oslo_config import cfg
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

try:
    from deployer import client as deployer_client
    from deployer.bootstrap import contract
    from deployer.chef import names
except ImportError as exc:        # heat-engine's Python lacks the deployer package
    deployer_client = contract = names = None
    MISSING_DEPENDENCY = str(exc)
else:
    MISSING_DEPENDENCY = ""

OPTS = [
    cfg.StrOpt("api_url", default="http://127.0.0.1:8100",
               help="Base URL of the deployer API that executes node runs."),
    cfg.FloatOpt("api_timeout", default=30.0, min=1.0,
                 help="Seconds to wait for one deployer API request."),
    cfg.IntOpt("api_unreachable_grace", default=300, min=0,
               help="Seconds a node resource keeps polling while the deployer API is "
                    "unreachable (e.g. during a restart) before it fails."),
    cfg.IntOpt("poll_interval", default=1, min=1,
               help="Seconds between polls of a running node run."),
    cfg.StrOpt("default_environment_template", default="origin",
               help="Chef environment template rendered from the stack outputs when a node "
                    "names neither ChefEnvironment nor EnvironmentTemplate and the stack has "
                    "no ChefEnvironmentTemplate parameter."),
]
GROUP = "deployer"
# deployer.runs.credentials.PARAMETER (that module is not imported into heat-engine).
RUN_CREDENTIAL_PARAMETER = "DeployerRunCredential"
# deployer.deployments.heat_stacks.CHECKED_PARAMETER: the deployer checked the stack
# (Chef environment templates, placeholders) before it asked Heat.
CHECKED_PARAMETER = "DeployerChecked"
cfg.CONF.register_opts(OPTS, group=GROUP)


def options():
    return cfg.CONF[GROUP]


def deployer_available(what: str) -> bool:
    """True when the deployer package is importable; logs why ``what`` is left out otherwise."""
    if MISSING_DEPENDENCY:
        LOG.warning("%s plug-in loaded, but the deployer package is not installed beside "
                    "heat-engine (%s); it registers nothing", what, MISSING_DEPENDENCY)
    return not MISSING_DEPENDENCY


def api_client(context=None, stack=None):
    """A deployer API client; forwards the caller's Keystone token when there is one,
    and the deployment's run credential when ``stack`` (or a stack it is nested in) was
    created by the deployer (its environment's parameter_defaults hold it)."""
    token = getattr(context, "auth_token", None) if context is not None else None
    credential = None
    if stack is not None:
        defaults = getattr(stack.env, "param_defaults", None) or {}
        credential = defaults.get(RUN_CREDENTIAL_PARAMETER) or None
    return deployer_client.DeployerClient(options().api_url, token=token,
                                          timeout=options().api_timeout,
                                          run_credential=credential)


def checked_by_deployer(stack) -> bool:
    """True for a stack the deployer API previews, creates or updates: it has checked
    what validation would ask it, and its request thread is waiting for Heat, so
    validation must not call back into the API (with every API thread waiting on
    Heat, nobody would answer: the plan/create deadlock of issue 11)."""
    defaults = getattr(getattr(stack, "env", None), "param_defaults", None) or {}
    return bool(defaults.get(CHECKED_PARAMETER))


def list_opts():
    yield GROUP, OPTS
