"""``deployer update NAME ... --plan``: what the update would change on each node, from a
why-run of every node (POST /v1/deployments/<id>/plan), changing nothing.

It follows the plan until it ends and prints, per node, the files that would change (with
their diff unless sensitive), the services that would restart or reload, and anything
else that would run.  Exit status 0 when every node was planned, 1 when the plan failed
(a node's why-run failed; its reason is printed).
"""
from __future__ import annotations

import sys
import time

from deployer.cli.outages import read_through_outages
from deployer.client import DeployerClient

POLL_SECONDS = 2.0
EXIT_FAILED = 1


def plan_update(client: DeployerClient, deployment: dict, *, parameters: dict,
                parameter_set: str | None, heat_environments: list[str] | None,
                show_diff: bool = True, out=sys.stdout, poll: float = POLL_SECONDS) -> int:
    plan = client.plan_update(deployment["id"], parameters=parameters,
                              parameter_set=parameter_set, heat_environments=heat_environments)
    nodes = ", ".join(n["node_name"] for n in plan["nodes"]) or "no node"
    print(f"why-run plan {plan['id']} of an update of {deployment['name']}: {nodes} "
          f"(Chef environment {plan['environment']}, temporary); nothing will be changed",
          file=out, flush=True)
    seen: dict[str, str] = {}
    while plan["status"] == "running":
        for node in plan["nodes"]:
            if seen.get(node["node_name"]) != node["status"]:
                seen[node["node_name"]] = node["status"]
                print(f"  {node['node_name']}: why-run {node['status']}", file=out, flush=True)
        time.sleep(poll)
        plan = read_through_outages(lambda: client.get_update_plan(deployment["id"], plan["id"]))
    print_plan(plan, show_diff=show_diff, out=out)
    return 0 if plan["status"] == "complete" else EXIT_FAILED


def print_plan(plan: dict, *, show_diff: bool = True, out=sys.stdout) -> None:
    for node in plan["nodes"]:
        who = node["node_name"] + (f" ({node['resource']})" if node.get("resource") else "")
        if node["status"] != "succeeded":
            print(f"\n{who}: why-run {node['status']}: {node.get('reason') or 'no reason given'}",
                  file=out)
            continue
        files, services, other = node.get("files") or [], node.get("services") or [], \
            node.get("other") or []
        count = node.get("would_update")
        total = f" of {node['resources']}" if node.get("resources") is not None else ""
        if not (files or services or other):
            print(f"\n{who}: nothing would change ({count or 0}{total} resources)", file=out)
            continue
        print(f"\n{who}: {count if count is not None else '?'}{total} resources would change",
              file=out)
        if files:
            print("  files:", file=out)
            width = max(len(f["path"]) for f in files)
            for found in files:
                what = "; ".join(found["changes"]) or ", ".join(found["actions"])
                what = what.replace(f" in file {found['path']}", "").replace(
                    f" {found['path']}", "")
                if found.get("sensitive"):
                    what += " (sensitive: no diff)"
                print(f"    {found['path']:<{width}}  {what}", file=out)
                if show_diff:
                    for line in found.get("diff") or []:
                        print(f"        {line}", file=out)
        if services:
            print("  services:", file=out)
            for service in services:
                print(f"    {service['name']}: would {', '.join(service['actions'])}", file=out)
        if other:
            print("  other:", file=out)
            for entry in other:
                print(f"    {entry['resource']} {entry['action']}: {'; '.join(entry['changes'])}",
                      file=out)
    removed = "removed" if plan.get("environment_removed") else "NOT removed yet"
    print(f"\nplan {plan['status']}{': ' + plan['reason'] if plan.get('reason') else ''}; "
          f"nothing was changed; temporary environment {plan['environment']} {removed}",
          file=out)
