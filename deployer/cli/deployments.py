"""``deployer create|plan|list|show|watch|events|logs|update|delete|templates|environments``:
deployments over the deployer REST API.

The API is found at --api-url, $DEPLOYER_API_URL or the configuration's
[api] bind_host/port; a Keystone token comes from --token or $OS_TOKEN.  An
API error is one line naming the field, with exit status 2.

Hidden (secret) template parameters never come from the command line, where
``ps`` shows them to every local user: ``--secret NAME`` takes the value from
$DEPLOYER_SECRET_<NAME> or a prompt that does not echo, ``--secret-file
NAME=PATH`` from a file.  ``-p NAME=VALUE`` of a hidden parameter is refused.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import contextmanager
from typing import Iterator

from deployer.cli import preflight, progress
from deployer.client import DeployerAPIError, DeployerClient, DeployerUnavailable

EXIT_FAILED = 1      # the deployment itself failed (the command worked)


def register(subparsers) -> None:
    api = argparse.ArgumentParser(add_help=False)
    api.add_argument("--api-url", help="deployer API (default: $DEPLOYER_API_URL, then the "
                                       "configuration's [api] bind_host and port)")
    api.add_argument("--token", help="Keystone token (default: $OS_TOKEN)")
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print the API's JSON")

    def add(name: str, func, help_text: str, *parents) -> argparse.ArgumentParser:
        parser = subparsers.add_parser(name, help=help_text, parents=[api, *parents])
        parser.set_defaults(func=func)
        return parser

    for name, func, text in (("create", _create, "create a deployment (a Heat stack)"),
                             ("plan", _plan, "show what a deployment would do, changing nothing")):
        parser = add(name, func, text, as_json)
        parser.add_argument("name", metavar="NAME")
        parser.add_argument("-t", "--template", required=True, help="template name (deployer templates)")
        parser.add_argument("-p", "--parameter", action="append", default=[], metavar="KEY=VALUE",
                            help="a template parameter that is not hidden (repeatable)")
        _secret_arguments(parser)
        parser.add_argument("--parameter-set", help="a stored parameter set to start from")
        parser.add_argument("-e", "--heat-environment", action="append", default=[],
                            metavar="HEATENV", help="a Heat environment to apply (repeatable)")
        parser.add_argument("--skip-preflight", action="store_true",
                            help="do not check the nodes first (SSH, sudo, platform, Chef "
                                 "server, packages, free VIPs); recorded with the deployment")
        if name == "create":
            parser.add_argument("--wait", action="store_true",
                                help="show progress until the deployment ends")

    listing = add("list", _list, "list deployments", as_json)
    listing.add_argument("--status", help="in_progress, complete, failed or deleted")
    listing.add_argument("--template", help="only deployments of this template")
    listing.add_argument("--name", help="only deployments with this name")
    listing.add_argument("--limit", type=int, help="at most this many (default: all)")

    add("show", _show, "one deployment: stack, nodes, outputs", as_json).add_argument(
        "deployment", metavar="ID|NAME")
    add("watch", _watch, "follow a deployment's progress until it ends").add_argument(
        "deployment", metavar="ID|NAME")
    events = add("events", _events, "a deployment's events", as_json)
    events.add_argument("deployment", metavar="ID|NAME")
    events.add_argument("--since", help="only events after this event id or time")
    logs = add("logs", _logs, "the output of a node's latest run")
    logs.add_argument("deployment", metavar="ID|NAME")
    logs.add_argument("resource", metavar="RESOURCE", help="the node's resource name")
    update = add("update", _update, "change a deployment's parameters (a Heat stack update)")
    update.add_argument("deployment", metavar="ID|NAME")
    update.add_argument("-p", "--parameter", action="append", default=[], metavar="KEY=VALUE",
                        help="a new value of a parameter that is not hidden (repeatable); "
                             "the others are kept")
    _secret_arguments(update)
    update.add_argument("--parameter-set", help="take values from this parameter set")
    update.add_argument("-e", "--heat-environment", action="append", default=[],
                        metavar="HEATENV", help="replace the Heat environments (repeatable)")
    update.add_argument("--wait", action="store_true", help="show progress until it ends")
    update.add_argument("--plan", action="store_true",
                        help="only say what the update would change on each node (a why-run "
                             "of every node); the deployment and its nodes stay as they are")
    update.add_argument("--no-diff", action="store_true", help="with --plan: files without diffs")
    delete = add("delete", _delete, "delete a deployment (its stack, Chef nodes and environment)")
    delete.add_argument("deployment", metavar="ID|NAME")
    delete.add_argument("--wait", action="store_true", help="show progress until it is gone")
    add("templates", _templates, "deployment templates, or one template's parameters",
        as_json).add_argument("name", nargs="?", metavar="NAME")
    add("environments", _environments, "Chef environments, or one environment",
        as_json).add_argument("name", nargs="?", metavar="NAME")


# -- plumbing ------------------------------------------------------------------------

@contextmanager
def _api(args) -> Iterator[DeployerClient]:
    """A client, with API errors turned into one-line user errors."""
    from deployer.cli.main import UserError
    url = args.api_url or os.environ.get("DEPLOYER_API_URL") or args.config_obj.api.url
    client = DeployerClient(url, token=args.token or os.environ.get("OS_TOKEN"))
    try:
        yield client
    except DeployerUnavailable as exc:
        if exc.problem.get("timed_out"):
            raise UserError(f"the deployer API at {url} did not answer in time: "
                            f"{exc.method} {exc.path} ({exc.detail})") from None
        if exc.status is None:
            raise UserError(f"cannot reach the deployer API at {url} (is it running? "
                            f"set --api-url or DEPLOYER_API_URL)") from None
        raise UserError(api_error_line(exc)) from None
    except DeployerAPIError as exc:
        raise UserError(api_error_line(exc)) from None
    finally:
        client.close()


def api_error_line(error: DeployerAPIError) -> str:
    """'parameters.NetworkManager: must be one of ...' — fields first, else the detail."""
    if error.errors:
        return "; ".join(f"{field}: {' '.join(map(str, messages))}"
                         if isinstance(messages, list) else f"{field}: {messages}"
                         for field, messages in error.errors.items())
    return f"{error.detail} (HTTP {error.status})"


def _resolve(client: DeployerClient, ref: str) -> dict:
    """A deployment by id, or else by its unique name."""
    from deployer.cli.main import UserError
    try:
        return client.get_deployment(ref)
    except DeployerAPIError as exc:
        if exc.status != 404:
            raise
    matches = [d for d in client.list_deployments(name=ref)["deployments"]
               if d.get("name") == ref]
    if len(matches) == 1:
        return client.get_deployment(matches[0]["id"])
    if matches:
        raise UserError(f"{len(matches)} deployments are named {ref!r}; give the id: "
                        + ", ".join(d["id"] for d in matches))
    raise UserError(f"no deployment with id or name {ref!r}")


def _parameters(items: list[str]) -> dict[str, str]:
    from deployer.cli.main import UserError
    parameters = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"-p/--parameter: expected KEY=VALUE, got {item!r}")
        parameters[key] = value
    return parameters


def _secret_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--secret", action="append", default=[], metavar="NAME",
                        help="a hidden parameter, from $DEPLOYER_SECRET_<NAME> or else a "
                             "prompt that does not echo (repeatable)")
    parser.add_argument("--secret-file", action="append", default=[], metavar="NAME=PATH",
                        help="a hidden parameter read from a file (one trailing newline "
                             "dropped; repeatable)")


SECRET_ENV_PREFIX = "DEPLOYER_SECRET_"


def _secrets(args, env=None, prompt=None) -> dict[str, str]:
    """Hidden parameter values from the environment, a prompt or files (never argv)."""
    from deployer.cli.main import UserError
    env = os.environ if env is None else env
    values: dict[str, str] = {}
    for name in args.secret:
        variable = SECRET_ENV_PREFIX + name
        if variable in env:
            values[name] = env[variable]
        elif sys.stdin.isatty() or prompt is not None:
            import getpass
            values[name] = (prompt or getpass.getpass)(f"{name}: ")
        else:
            raise UserError(f"--secret {name}: set ${variable} or run on a terminal to be "
                            f"asked (or use --secret-file {name}=PATH)")
    for item in args.secret_file:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise UserError(f"--secret-file: expected NAME=PATH, got {item!r}")
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise UserError(f"--secret-file {name}: cannot read {path}: {exc.strerror}") from None
        values[name] = text[:-1] if text.endswith("\n") else text
    return values


def _checked_parameters(client: DeployerClient, template: str, args) -> dict[str, str]:
    """-p values (none of them hidden) plus the hidden ones from --secret/--secret-file."""
    from deployer.cli.main import UserError
    parameters = _parameters(args.parameter)
    if parameters:
        schema = (client.get_template(template).get("parameters") or {})
        hidden = sorted(name for name in parameters if (schema.get(name) or {}).get("hidden"))
        if hidden:
            raise UserError(
                f"-p/--parameter: {', '.join(hidden)} is hidden; a value on the command line "
                f"is visible to every local user (ps); give it with --secret "
                f"{hidden[0]} (${SECRET_ENV_PREFIX}{hidden[0]} or a prompt) or --secret-file "
                f"{hidden[0]}=PATH")
    return {**parameters, **_secrets(args)}


def _request_body(args, client: DeployerClient) -> dict:
    parameters = _checked_parameters(client, args.template, args)
    body = {"name": args.name, "template": args.template}
    if parameters:
        body["parameters"] = parameters
    if args.parameter_set:
        body["parameter_set"] = args.parameter_set
    if args.heat_environment:
        body["heat_environments"] = args.heat_environment
    if args.skip_preflight:
        body["skip_preflight"] = True
    return body


def _print_json(data) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def _print_outputs(outputs) -> None:
    if not outputs:
        return
    print("outputs:")
    for key, value in sorted(outputs.items()):
        print(f"  {key} = {value if isinstance(value, str) else json.dumps(value)}")


def _follow(client: DeployerClient, deployment_id: str, *, action: str = "CREATE") -> dict:
    """Show progress until the stack's ``action`` (CREATE, UPDATE, DELETE) has ended.
    Heat may still report the previous final status just after the request, so a
    final state counts once the deployment was seen in progress or names ``action``."""
    seen_in_progress = False
    watcher = progress.Watcher(client, deployment_id)

    def fetch() -> dict:
        nonlocal seen_in_progress
        try:
            deployment = watcher()
        except DeployerAPIError as exc:
            if action == "DELETE" and exc.status == 404:
                return {"id": deployment_id, "state": "deleted", "nodes": []}
            raise
        seen_in_progress = seen_in_progress or deployment.get("state") == "in_progress"
        return deployment

    def ended(deployment: dict) -> bool:
        return deployment.get("state") == "deleted" or (
            deployment.get("state") in progress.FINAL_DEPLOYMENT_STATES
            and (seen_in_progress or (deployment.get("stack_status") or "").startswith(action)))
    return progress.follow(fetch, sys.stdout, interval=0, until=ended)


def _finish(deployment: dict) -> int:
    if deployment.get("state") == "failed":
        print(f"deployment {deployment.get('name')} failed: "
              f"{deployment.get('status_reason') or 'no reason given'}", file=sys.stderr)
        return EXIT_FAILED
    _print_outputs(deployment.get("outputs"))
    return 0


# -- commands ------------------------------------------------------------------------

def _create(args) -> int:
    with _api(args) as client:
        try:
            deployment = client.create_deployment(_request_body(args, client))
        except DeployerAPIError as exc:
            if isinstance(exc.problem.get("preflight"), dict):
                preflight.print_report(exc.problem["preflight"], sys.stderr)
            raise
        if args.json and not args.wait:
            _print_json(deployment)
            return 0
        print(f"deployment {deployment['name']} accepted: id {deployment['id']}")
        if not args.wait:
            return 0
        return _finish(_follow(client, deployment["id"]))


def _plan(args) -> int:
    with _api(args) as client:
        plan = client.plan_deployment(_request_body(args, client))
    if args.json:
        _print_json(plan)
        return 0
    for group in plan.get("steps") or []:
        step = progress.step_label(group[0].get("step")) if group else "?"
        print(f"step {step}{' (in parallel)' if len(group) > 1 else ''}:")
        for node in group:
            print(f"  {node.get('resource')} ({node.get('address') or '-'}): "
                  f"{','.join(node.get('run_list') or [])}")
    if plan.get("preflight"):
        preflight.print_report(plan["preflight"], sys.stdout)
    print("chef environment:")
    print(json.dumps(plan.get("chef_environment"), indent=2, sort_keys=True))
    return EXIT_FAILED if (plan.get("preflight") or {}).get("status") == "failed" else 0


def _list(args) -> int:
    with _api(args) as client:
        deployments, marker = [], None
        while True:
            page = client.list_deployments(status=args.status, template=args.template,
                                           name=args.name, marker=marker, limit=args.limit)
            deployments.extend(page["deployments"])
            marker = page.get("next_marker")
            if not marker or (args.limit and len(deployments) >= args.limit):
                break
    if args.json:
        _print_json(deployments)
        return 0
    print(f"{'ID':<36}  {'NAME':<24} {'TEMPLATE':<20} {'STATE':<11} {'STACK STATUS':<18} UPDATED")
    for d in deployments:
        print(f"{d['id']:<36}  {d.get('name', ''):<24} {d.get('template', ''):<20} "
              f"{d.get('state', ''):<11} {d.get('stack_status') or '-':<18} {d.get('updated_at')}")
    return 0


def _show(args) -> int:
    with _api(args) as client:
        deployment = _resolve(client, args.deployment)
    if args.json:
        _print_json(deployment)
        return 0
    print(progress.summary_line(deployment))
    print(f"id: {deployment['id']}  template: {deployment.get('template')}  "
          f"created: {deployment.get('created_at')}  updated: {deployment.get('updated_at')}")
    if deployment.get("status_reason"):
        print(f"reason: {deployment['status_reason']}")
    if deployment.get("parameters"):
        print("parameters:")
        for key, value in sorted(deployment["parameters"].items()):
            print(f"  {key} = {value}")
    for step, nodes in progress.step_groups(deployment.get("nodes") or []):
        print(f"step {progress.step_label(step)}{' (in parallel)' if len(nodes) > 1 else ''}:")
        for node in nodes:
            print(f"  {node.get('resource')}: {node.get('node_name') or '-'} "
                  f"({node.get('address') or '-'}) {progress.node_label(node)} "
                  f"{progress.format_elapsed(node.get('elapsed_seconds'))}")
    _print_outputs(deployment.get("outputs"))
    return 0


def _watch(args) -> int:
    with _api(args) as client:
        deployment = _resolve(client, args.deployment)
        return _finish(progress.follow(progress.Watcher(client, deployment["id"]), sys.stdout))


def _events(args) -> int:
    with _api(args) as client:
        deployment = _resolve(client, args.deployment)
        events = client.deployment_events(deployment["id"], since=args.since)["events"]
    if args.json:
        _print_json(events)
        return 0
    for event in events:
        print(" ".join(str(part) for part in (event.get("time"), event.get("resource"),
                                              event.get("status"), event.get("reason"))
                       if part))
    return 0


def _logs(args) -> int:
    with _api(args) as client:
        deployment = _resolve(client, args.deployment)
        log = client.node_log(deployment["id"], args.resource)
    sys.stdout.write(log["text"])
    return 0


def _update(args) -> int:
    from deployer.cli.main import UserError
    if not (args.parameter or args.secret or args.secret_file or args.parameter_set
            or args.heat_environment):
        raise UserError("update: give -p KEY=VALUE, --secret NAME, --parameter-set or "
                        "-e HEATENV")
    with _api(args) as client:
        deployment = _resolve(client, args.deployment)
        parameters = _checked_parameters(client, deployment["template"], args)
        if args.plan:
            from deployer.cli.update_plan import plan_update
            return plan_update(client, deployment, parameters=parameters,
                               parameter_set=args.parameter_set,
                               heat_environments=args.heat_environment or None,
                               show_diff=not args.no_diff)
        client.update_deployment(deployment["id"], parameters=parameters,
                                 parameter_set=args.parameter_set,
                                 heat_environments=args.heat_environment or None)
        print(f"deployment {deployment['name']} ({deployment['id']}): update accepted")
        if not args.wait:
            return 0
        return _finish(_follow(client, deployment["id"], action="UPDATE"))


def _delete(args) -> int:
    with _api(args) as client:
        deployment = _resolve(client, args.deployment)
        client.delete_deployment(deployment["id"])
        print(f"deployment {deployment['name']} ({deployment['id']}): delete accepted")
        if not args.wait:
            return 0
        final = _follow(client, deployment["id"], action="DELETE")
    if final.get("state") == "failed":
        print(f"delete of {deployment['name']} failed: "
              f"{final.get('status_reason') or 'no reason given'}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _templates(args) -> int:
    with _api(args) as client:
        data = client.get_template(args.name) if args.name else client.list_templates()
    if args.json:
        _print_json(data)
        return 0
    if not args.name:
        for template in data:
            print(f"{template['name']:<32} {template.get('description') or ''}".rstrip())
        return 0
    print(f"{data['name']}: {data.get('description') or ''}".rstrip(": "))
    print("parameters:")
    for name, spec in sorted((data.get("parameters") or {}).items()):
        default = "******" if spec.get("hidden") and "default" in spec else spec.get("default")
        line = f"  {name} ({spec.get('type', '?')})"
        if spec.get("required"):
            line += " required"
        elif default is not None:
            line += f" default={default}"
        if spec.get("constraints"):
            line += f" constraints={json.dumps(spec['constraints'])}"
        print(line)
        if spec.get("description"):
            print(f"      {spec['description']}")
    if data.get("nodes"):
        print("nodes:")
        for step, nodes in progress.step_groups(data["nodes"]):
            for node in nodes:
                after = f" (after {', '.join(node['after'])})" if node.get("after") else ""
                print(f"  step {progress.step_label(step)} {node['resource']}: "
                      f"{','.join(node.get('run_list') or [])}{after}")
    return 0


def _environments(args) -> int:
    with _api(args) as client:
        data = (client.get_environment(args.name) if args.name
                else client.list_environments())
    if args.json or args.name:
        _print_json(data)
        return 0
    for name in data:
        print(name)
    return 0
