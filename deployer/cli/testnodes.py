"""``deployer testnodes ...``: SSH-reachable test nodes (systemd as PID 1), by hand."""
from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from deployer.cli.main import UserError
from deployer.testnodes import TestNodes, TestNodesError

FAULT_VERBS = {
    "crash": ("power cut: SIGKILL every process of the node; its disk is kept", "crash"),
    "start": ("boot a crashed or stopped node again on the same disk", "start"),
    "stop": ("clean shutdown: systemd powers the node off", "stop"),
    "link-down": ("unplug the node's network cable", "link_down"),
    "link-up": ("plug the cable back in", "link_up"),
    "pause": ("hang the node (freeze all its processes)", "pause"),
    "resume": ("un-hang a paused node (thaw its processes)", "resume"),
}


def register(subparsers) -> None:
    parser = subparsers.add_parser("testnodes", help="SSH-reachable test nodes: Debian servers "
                                                     "with systemd, on this host")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", type=Path,
                        help="where the set lives (default: <state_dir>/testnodes)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    up = actions.add_parser("up", parents=[common],
                            help="boot N nodes; wait until systemd runs and sshd answers on each")
    up.add_argument("count", type=int, metavar="N")
    up.add_argument("--prefix", default="tn", help="name prefix of netns and links (default tn)")
    up.add_argument("--subnet", default="10.251.0", help="first three octets of the /24 (default 10.251.0)")
    up.add_argument("--password-fmt", default="{name}-pw",
                    help="root password of each node, with {name} and {index} (default {name}-pw)")
    up.add_argument("--shared-disk", metavar="PATH",
                    help="give every node the same empty block device at PATH (e.g. /dev/vdb), "
                         "a loop device on this host, as a SAN disk")
    up.add_argument("--shared-disk-mib", type=int, default=1024, metavar="MIB",
                    help="size of the shared disk (default 1024)")
    up.set_defaults(func=_up)

    down = actions.add_parser("down", parents=[common], help="remove the set and all its state")
    down.add_argument("--prefix", help="when nodes.json is missing: remove leftovers named with this prefix")
    down.set_defaults(func=_down)
    actions.add_parser("status", parents=[common], help="table of the nodes").set_defaults(func=_status)

    run = actions.add_parser("exec", parents=[common],
                             help="run a command inside node K (put options before K)")
    run.add_argument("node", metavar="K", help="node index or name")
    run.add_argument("command", nargs=argparse.REMAINDER, metavar="CMD")
    run.set_defaults(func=_exec)

    for verb, (help_text, method) in FAULT_VERBS.items():
        fault = actions.add_parser(verb, parents=[common], help=help_text)
        fault.add_argument("node", metavar="K", help="node index or name")
        fault.set_defaults(func=_fault, method=method)


def _state_dir(args) -> Path:
    return args.state_dir or args.config_obj.state_dir / "testnodes"


def _load(args) -> TestNodes:
    try:
        return TestNodes.load(_state_dir(args))
    except TestNodesError as exc:
        raise UserError(str(exc)) from None


def _up(args) -> int:
    try:
        node_set = TestNodes(_state_dir(args), prefix=args.prefix, subnet=args.subnet,
                             password_fmt=args.password_fmt)
        node_set.up(args.count, shared_disk=args.shared_disk, shared_disk_mib=args.shared_disk_mib)
    except TestNodesError as exc:
        raise UserError(str(exc)) from None
    print(f"{args.count} test node(s) up; state in {node_set.state_dir}")
    _print_table(node_set)
    _print_failed_units(node_set)
    return 0


def _down(args) -> int:
    state_dir = _state_dir(args)
    try:
        try:
            node_set = TestNodes.load(state_dir)
        except TestNodesError:
            if not args.prefix:
                print(f"no test node set recorded in {state_dir}; nothing to remove")
                return 0
            node_set = TestNodes(state_dir, prefix=args.prefix)   # clean up by name only
        node_set.down()
    except TestNodesError as exc:
        raise UserError(str(exc)) from None
    print(f"test node set {node_set.prefix!r} removed")
    return 0


def _status(args) -> int:
    node_set = _load(args)
    _print_table(node_set)
    return 0 if all(node.state() == "running" for node in node_set.nodes()) else 3


def _exec(args) -> int:
    if not args.command:
        raise UserError("CMD: give the command to run, e.g. 'deployer testnodes exec 1 hostname'")
    try:
        node = _load(args).get(args.node)
        return node.exec(args.command, capture_output=False, timeout=None).returncode
    except TestNodesError as exc:
        raise UserError(str(exc)) from None
    except subprocess.SubprocessError as exc:
        raise UserError(f"exec on node {args.node}: {exc}") from None


def _fault(args) -> int:
    node_set = _load(args)
    try:
        index = node_set.get(args.node).index
        getattr(node_set, args.method)(index)
    except TestNodesError as exc:
        raise UserError(str(exc)) from None
    node = node_set.get(index)
    print(f"{node.name}: {node.state()}")
    _print_failed_units(node_set)
    return 0


def _print_failed_units(node_set: TestNodes) -> None:
    for name, units in sorted(node_set.failed_units.items()):
        print(f"{name}: systemd is degraded; failed units: {', '.join(units)}")


def _print_table(node_set: TestNodes) -> None:
    print(f"{'NAME':<8} {'IP':<15} {'PID':>7} {'STATE':<18} {'SYSTEMD':<12} {'PASSWORD':<14} "
          f"{'KEY FILE':<40} HOST KEY")
    for node in node_set.nodes():
        pid, state = node.pid(), node.state()
        print(f"{node.name:<8} {node.ip:<15} {pid or '-':>7} {state:<18} {_systemd_state(node, state):<12} "
              f"{node.password:<14} {node.key_file:<40} {node.host_key_fingerprint}")


def _systemd_state(node, state: str) -> str:
    """What ``systemctl is-system-running`` says in the node ("-" when it cannot answer)."""
    if not state.startswith("running"):
        return "-"     # stopped, or frozen: asking would hang
    try:
        return node.exec(["systemctl", "is-system-running"], timeout=10).stdout.strip() or "?"
    except (TestNodesError, subprocess.SubprocessError):
        return "?"
