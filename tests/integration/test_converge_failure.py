"""A converge that fails, through the whole deployer path: `deployer create` of a template
whose node's role needs a package no repository has.  The stack fails, and the Heat event,
the deployment's reason and `deployer logs` name the resource and the cookbook line."""
from __future__ import annotations

import re
import uuid

import pytest

from deployer.chef import names
from tests.integration.deployment_helpers import delete_deployment, deployer

pytestmark = [pytest.mark.integration]

RESOURCE = "apt_package[sco-test-no-such-package]"   # `package` on Debian is apt_package, as in Chef
WHERE = re.compile(r"\(sco_test::missing_package line 3\)")           # Chef's "cookbook::recipe line N"


def test_a_role_needing_a_missing_package_fails_the_stack_naming_resource_and_line(
        undercloud, test_nodes_factory):
    node = test_nodes_factory(1).nodes()[0]
    name = f"nopkg-{uuid.uuid4().hex[:6]}"
    created = deployer(undercloud, "create", name, "-t", "sco-test-missing-package", "--wait",
                       "-p", f"NodeAddress={node.ip}", "-p", f"NodeKeyFile={node.key_file}", timeout=300)
    api = undercloud.api()
    try:
        assert created.returncode != 0, created.stdout[-3000:]
        [deployment] = api.list_deployments(name=name)["deployments"]
        assert deployment["stack_status"] == "CREATE_FAILED"
        reason = api.get_deployment(deployment["id"])["status_reason"]
        assert RESOURCE in reason and WHERE.search(reason), reason

        events = deployer(undercloud, "events", name, timeout=300)
        assert events.returncode == 0, events.stderr
        failed = [line for line in events.stdout.splitlines() if "CREATE_FAILED" in line and "node" in line]
        assert any(RESOURCE in line and WHERE.search(line) for line in failed), events.stdout

        log = deployer(undercloud, "logs", name, "node", timeout=300)
        assert log.returncode == 0, log.stderr
        assert f"Error executing action `install` on resource '{RESOURCE}'" in log.stdout, log.stdout[-3000:]
        assert WHERE.search(log.stdout) and "sco-test-no-such-package" in log.stdout
    finally:
        for deployment in api.list_deployments(name=name)["deployments"]:
            delete_deployment(api, deployment["id"])
    # The failed deployment's environment had its secrets; its delete took them too.
    assert names.secrets_bag_name(name) not in undercloud.chef().list_data_bags()
