"""Custom constraints of the deployer's resources: the Chef name and host key rules.

The rules themselves are deployer.chef.names', the same the API and the node
runner apply; Heat resolves a custom constraint when it validates a value, so
the resources' schemas name them without importing the deployer at class
definition.
"""
from __future__ import annotations

from heat.common.i18n import _

from heat_plugins import common


class _Rule:
    """Accepts a value when deployer.chef.names.<check> does; says <rule> otherwise."""
    check = rule = ""

    @property
    def message(self) -> str:
        return getattr(common.names, self.rule)

    def validate(self, value, context=None) -> bool:
        return getattr(common.names, self.check)(value)

    def error(self, value) -> str:
        return _("%(value)r %(rule)s") % {"value": value, "rule": self.message}


class ChefNodeName(_Rule):
    check, rule = "is_node_name", "NODE_NAME_RULE"


class ChefEnvironmentName(_Rule):
    check, rule = "is_environment_name", "ENVIRONMENT_NAME_RULE"


class SSHHostKeyFingerprint(_Rule):
    check, rule = "is_fingerprint", "FINGERPRINT_RULE"


CONSTRAINTS = {"sco.chef_node_name": ChefNodeName,
               "sco.chef_environment_name": ChefEnvironmentName,
               "sco.ssh_host_key_fingerprint": SSHHostKeyFingerprint}


def constraint_mapping():
    return CONSTRAINTS if common.deployer_available("the SCO constraints") else {}
