"""What the deployer's Heat resources share: their heat.conf options and API client.

heat-engine loads every module in ``plugin_dirs``; this one has no resource
mapping and only holds the ``[deployer]`` options (registered once, at import)
and the factory of the deployer API client the resources call.  The
resources never do SSH or Chef work inside heat-engine: they ask the deployer
to do it and poll.
"""
from __future__ import annotations

import re

from oslo_config import cfg

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
cfg.CONF.register_opts(OPTS, group=GROUP)

CHEF_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]+")


def options():
    return cfg.CONF[GROUP]


def api_client(context=None):
    """A deployer API client; forwards the caller's Keystone token when there is one."""
    from deployer.client import DeployerClient  # the deployer package is installed beside Heat
    token = getattr(context, "auth_token", None) if context is not None else None
    return DeployerClient(options().api_url, token=token, timeout=options().api_timeout)


def chef_name(*parts: str) -> str:
    """A Chef-safe node/environment name from stack and resource names."""
    return CHEF_NAME_UNSAFE.sub("-", "-".join(p for p in parts if p)).strip("-")


def list_opts():
    yield GROUP, OPTS
