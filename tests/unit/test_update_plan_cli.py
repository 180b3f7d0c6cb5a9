"""deployer update --plan: how a plan's nodes are printed, and the polling until it ends."""
from __future__ import annotations

import io

from deployer.cli.update_plan import plan_update, print_plan

NODE = {"node_name": "aio1", "resource": "allinone", "run_id": "r1", "status": "succeeded",
        "reason": "", "would_update": 4, "resources": 412,
        "files": [{"path": "/etc/nova/nova.conf", "resource": "template[/etc/nova/nova.conf]",
                   "actions": ["create"], "sensitive": False,
                   "changes": ["update content in file /etc/nova/nova.conf from 1a to 2b"],
                   "diff": ["-debug = False", "+debug = True"]},
                  {"path": "/etc/keystone/keystone.conf", "resource": "template[/etc/keystone/keystone.conf]",
                   "actions": ["create"], "sensitive": True,
                   "changes": ["update content in file /etc/keystone/keystone.conf from 3c to 4d"],
                   "diff": []}],
        "services": [{"name": "nova-api", "resource": "service[nova-api]", "actions": ["restart"]}],
        "other": []}


def test_each_node_lists_its_files_with_diff_and_services():
    out = io.StringIO()
    print_plan({"status": "complete", "reason": "", "environment": "_whyrun-ab", "nodes": [NODE],
                "environment_removed": True}, out=out)
    text = out.getvalue()
    assert "aio1 (allinone): 4 of 412 resources would change" in text
    assert "    /etc/nova/nova.conf          update content from 1a to 2b\n" in text
    assert "        -debug = False\n        +debug = True\n" in text
    assert "from 3c to 4d (sensitive: no diff)" in text
    assert "    nova-api: would restart\n" in text
    assert text.rstrip().endswith("plan complete; nothing was changed; temporary environment "
                                  "_whyrun-ab removed")


def test_a_failed_node_says_why_and_the_exit_status_is_1():
    class Client:
        def __init__(self):
            self.reads = 0

        def plan_update(self, deployment_id, **_):
            return {"id": "p1", "status": "running", "environment": "_whyrun-ab",
                    "nodes": [{"node_name": "aio1", "status": "queued"}]}

        def get_update_plan(self, deployment_id, plan_id):
            self.reads += 1
            if self.reads < 2:
                return {"id": "p1", "status": "running", "environment": "_whyrun-ab",
                        "nodes": [{"node_name": "aio1", "status": "running"}]}
            return {"id": "p1", "status": "failed", "reason": "aio1: boom", "environment": "_whyrun-ab",
                    "environment_removed": True,
                    "nodes": [{"node_name": "aio1", "resource": "allinone", "status": "failed",
                               "reason": "chef-client -W exited with status 1: boom"}]}
    out = io.StringIO()
    code = plan_update(Client(), {"id": "d1", "name": "cloud"}, parameters={"EnableOSDebug": "true"},
                       parameter_set=None, heat_environments=None, out=out, poll=0)
    text = out.getvalue()
    assert code == 1
    assert "  aio1: why-run queued\n  aio1: why-run running\n" in text
    assert "aio1 (allinone): why-run failed: chef-client -W exited with status 1: boom" in text
    assert "plan failed: aio1: boom; nothing was changed" in text
