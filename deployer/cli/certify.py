"""``deployer certify NAME``: a failover certification of a complete deployment.

The faults stall the deployment's services, so the command says what it will do
and asks first (on a terminal; elsewhere --yes is the only way to confirm).  It
then follows the certification, printing each fault's row as the worker records
it and the whole table at the end (deployer/certify/table.py, the API's own
``table``).  Exit status: 0 passed, 1 failed or error (the reason printed), 2
for a refusal (the API's problem, naming the field, as the other commands).
"""
from __future__ import annotations

import os
import sys
import time

from deployer.certify import table
from deployer.cli.outages import read_through_outages
from deployer.client import DeployerClient

EXIT_FAILED = 1
POLL_SECONDS = 2.0
FINAL = ("passed", "failed", "error")
FAULTS = ("crash the node holding the API VIP",
          "kill -9 the Galera node HAProxy writes to",
          "kill -9 the RabbitMQ node leading the RPC queues",
          "link down: unplug a controller's network",
          "hang a controller (frozen, not dead)")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "certify", help="failover certification: inject faults on a complete deployment's "
                        "controllers and measure the outage of each")
    parser.add_argument("deployment", metavar="ID|NAME")
    parser.add_argument("--test-nodes", metavar="DIR",
                        help="the test node set the controllers run on (its state directory)")
    parser.add_argument("--yes", action="store_true",
                        help="do not ask for confirmation (the faults stall the services)")
    parser.add_argument("--no-wait", action="store_true",
                        help="only queue it; GET /v1/deployments/<id>/certifications shows it")
    parser.add_argument("--api-url", help="deployer API (default: $DEPLOYER_API_URL, then the "
                                          "configuration's [api] bind_host and port)")
    parser.add_argument("--token", help="Keystone token (default: $OS_TOKEN)")
    parser.set_defaults(func=_certify)


def what_it_does(name: str) -> str:
    return (f"deployer certify injects {len(FAULTS)} faults on the controllers of {name}: "
            f"crash, kill -9, link down, hang; services stall during each.\n"
            + "".join(f"  {number}. {fault}\n" for number, fault in enumerate(FAULTS, 1))
            + "One fault at a time: each is measured, the node restored and every cluster "
              "whole again before the next.")


def confirmed(name: str, *, ask=input) -> bool:
    """The user's yes on a terminal; elsewhere a refusal saying how to confirm."""
    from deployer.cli.main import UserError
    print(what_it_does(name))
    if not sys.stdin.isatty():
        raise UserError(f"certify: not confirmed: the faults stall {name}'s services; run on "
                        f"a terminal to be asked, or pass --yes")
    try:
        answer = ask(f"Certify {name} now? [y/N] ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def _certify(args) -> int:
    from deployer.cli.deployments import _api, _resolve
    from deployer.cli.main import UserError
    test_nodes = os.path.abspath(args.test_nodes) if args.test_nodes else None
    with _api(args) as client:
        deployment = _resolve(client, args.deployment)
        name = deployment.get("name") or deployment["id"]
        if deployment.get("state") != "complete":
            raise UserError(f"deployment {name} is {deployment.get('state')}; only a complete "
                            f"deployment can be certified")
        if not args.yes and not confirmed(name):
            raise UserError(f"certify: {name} was not certified (not confirmed)")
        certification = client.certify_deployment(deployment["id"], confirm=True,
                                                  test_nodes=test_nodes)
        print(f"certification {certification['id']} of {name} queued")
        if args.no_wait:
            return 0
        print("(Ctrl-C stops following it, not the certification)")
        return _finish(name, follow(client, deployment["id"], certification))


def follow(client: DeployerClient, deployment_id: str, certification: dict, *,
           interval: float = POLL_SECONDS, out=None) -> dict:
    """Poll until it ends, printing its start and each new row; returns the last answer."""
    out = out or sys.stdout
    printed, started = 0, False
    while True:
        if not started and certification.get("status") != "queued":
            started = True
            print(f"running since {certification.get('started_at') or '-'}", file=out)
        rows = certification.get("rows") or []
        for row in rows[printed:]:
            if printed == 0:
                print(table.header(), file=out)
            print(table.line(row), file=out, flush=True)
            printed += 1
        if certification.get("status") in FINAL:
            return certification
        time.sleep(interval)
        certification = read_through_outages(
            lambda: client.get_certification(deployment_id, certification["id"]))


def _finish(name: str, certification: dict) -> int:
    print()
    print(certification.get("table") or table.format_table(certification.get("rows") or []))
    status = certification.get("status")
    if status == "passed":
        print(f"certification of {name} passed")
        return 0
    print(f"certification of {name} {'failed' if status == 'failed' else 'ended in error'}: "
          f"{certification.get('reason') or 'no reason given'}", file=sys.stderr)
    return EXIT_FAILED
