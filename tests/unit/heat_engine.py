"""The real Heat engine in-process for unit tests of heat_plugins/: an in-memory
Heat database, the plugins' resources and constraints registered in Heat's global
environment, and stacks parsed from inline templates (what heat.tests.utils does,
without its testtools dependencies)."""
from __future__ import annotations

import functools
import uuid

from heat.common import context as heat_context
from heat.common import template_format
from heat.engine import environment, resources, stack, template

from heat_plugins import chef_environment, constraints, sco_node


@functools.cache
def register_plugins() -> None:
    """Once per process: Heat's database in memory and our plugins in its global environment."""
    from heat.db import api as db_api
    from heat.db import models
    from oslo_config import cfg
    from oslo_db import options

    options.set_defaults(cfg.CONF, connection="sqlite://")
    # No Keystone here: stored credentials instead of trusts; the legacy engine
    # runs a resource's handlers in this process (scheduler.TaskRunner).
    cfg.CONF.set_override("deferred_auth_method", "password")
    cfg.CONF.set_override("convergence_engine", False)
    models.BASE.metadata.create_all(db_api.get_engine())
    env = resources.global_env()
    for module in (sco_node, chef_environment):
        for name, cls in module.available_resource_mapping().items():
            env.register_class(name, cls)
    for name, cls in constraints.constraint_mapping().items():
        env.register_constraint(name, cls)


def parse_stack(body: dict | str, name: str | None = None,
                params: dict | None = None) -> stack.Stack:
    """A stored stack of ``body`` (HOT or CFN) whose resources can run their handlers."""
    register_plugins()
    name = name or f"unit-{uuid.uuid4().hex[:12]}"
    parsed = template_format.parse(body) if isinstance(body, str) else body
    ctx = heat_context.RequestContext(user_id="unit", project_id="unit", is_admin=True)
    tmpl = template.Template(parsed, env=environment.Environment(params or {}))
    built = stack.Stack(ctx, name, tmpl)
    built.store()
    return built
