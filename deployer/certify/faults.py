"""The faults a certification injects, and how each is done and undone.

Kill faults go over SSH on every kind of node.  The machine faults (crash,
unplug, hang) need control over the whole machine:

- TestNodeMachines: the test nodes' own fault verbs (deployer.testnodes): a
  crash SIGKILLs the node's systemd and boots it again on the same disk,
  link-down unplugs its veth at the bridge, a hang freezes all its processes.
- ServerMachines: a real server, over SSH, with the undo scheduled on the
  server itself before the fault, since the fault cuts us off: crash is
  ``reboot --force --force`` (no clean shutdown, the machine boots again),
  link-down takes the interface down with a systemd timer bringing it up,
  hang freezes system.slice (cgroup v2) with a timer in its own slice thawing
  it.  These three were not run by the test suite: test nodes share the host's
  kernel, so a forced reboot would reboot the host.
"""
from __future__ import annotations

import dataclasses
import shlex
from typing import Callable, Protocol

from deployer.certify.cluster import Controllers, NodeUnreachable

FAULTS = ("crash-api-vip-holder", "kill-galera-writer", "kill-rabbitmq-leader",
          "link-down-controller", "hang-controller")


class Machines(Protocol):
    """Whole-machine faults; ``undo`` returns once the node is plugged in / running again."""

    def crash(self, node: str) -> None: ...
    def uncrash(self, node: str) -> None: ...
    def link_down(self, node: str) -> None: ...
    def link_up(self, node: str) -> None: ...
    def hang(self, node: str) -> None: ...
    def unhang(self, node: str) -> None: ...


class TestNodeMachines:
    __test__ = False

    def __init__(self, node_set, addresses: dict[str, str]):
        by_address = {node.ip: node.index for node in node_set.nodes()}
        missing = [name for name, address in addresses.items() if address not in by_address]
        if missing:
            raise ValueError(f"test_nodes: {', '.join(missing)} is not a node of the set in "
                             f"{node_set.state_dir}")
        self._set = node_set
        self._index = {name: by_address[address] for name, address in addresses.items()}

    def crash(self, node: str) -> None:
        self._set.crash(self._index[node])

    def uncrash(self, node: str) -> None:
        self._set.start(self._index[node], timeout=180)

    def link_down(self, node: str) -> None:
        self._set.link_down(self._index[node])

    def link_up(self, node: str) -> None:
        self._set.link_up(self._index[node])

    def hang(self, node: str) -> None:
        self._set.pause(self._index[node])

    def unhang(self, node: str) -> None:
        self._set.resume(self._index[node])


class ServerMachines:
    """Faults on servers over SSH; each undo is armed on the server before its fault."""

    def __init__(self, controllers: Controllers, hold: float, interface_of: Callable[[str], str]):
        self._controllers, self._hold, self._interface_of = controllers, hold, interface_of

    def _arm(self, node: str, unit: str, command: str, slice_: str = "") -> None:
        self._controllers.run(node, f"systemd-run --unit={unit} {slice_} --on-active={int(self._hold)} "
                                    f"/bin/sh -c {shlex.quote(command)}")

    def crash(self, node: str) -> None:
        try:
            self._controllers.shell.run(node, "systemctl reboot --force --force", timeout=5)
        except NodeUnreachable:
            pass        # the connection dies with the machine

    def uncrash(self, node: str) -> None:
        pass            # it boots by itself; the engine waits until the clusters are whole

    def link_down(self, node: str) -> None:
        interface = self._interface_of(node)
        self._arm(node, "deployer-certify-link-up", f"ip link set dev {interface} up")
        try:
            self._controllers.shell.run(node, f"ip link set dev {interface} down", timeout=5)
        except NodeUnreachable:
            pass

    def link_up(self, node: str) -> None:
        pass            # the timer armed in link_down does it

    def hang(self, node: str) -> None:
        self._arm(node, "deployer-certify-thaw", "echo 0 > /sys/fs/cgroup/system.slice/cgroup.freeze",
                  "--slice=deployer-certify.slice")
        try:
            self._controllers.shell.run(node, "echo 1 > /sys/fs/cgroup/system.slice/cgroup.freeze", timeout=5)
        except NodeUnreachable:
            pass

    def unhang(self, node: str) -> None:
        pass


@dataclasses.dataclass
class Fault:
    name: str
    choose: Callable[[Controllers], str]      # the controller it hits
    inject: Callable[[str], None]
    undo: Callable[[str], None]


def kill_command(process: str) -> str:
    """SIGKILL a daemon by its process name; its systemd unit restarts it (Restart=)."""
    return f"pkill -KILL -x {shlex.quote(process)}"


def faults(controllers: Controllers, machines: Machines) -> list[Fault]:
    def api_vip_holder(c: Controllers) -> str:
        holders = c.vip_holders("api")
        if len(holders) != 1:
            raise RuntimeError(f"the API VIP is held by {holders or 'no controller'}")
        return holders[0]

    def kill(process: str) -> Callable[[str], None]:
        return lambda node: controllers.run(node, kill_command(process))

    def restart(unit: str) -> Callable[[str], None]:
        # systemd restarts a killed daemon by itself; this only makes sure it is started
        return lambda node: controllers.run(node, f"systemctl start {unit}", timeout=300)

    return [
        Fault("crash-api-vip-holder", api_vip_holder, machines.crash, machines.uncrash),
        Fault("kill-galera-writer", lambda c: c.galera_writer(), kill("mariadbd"), restart("mariadb")),
        Fault("kill-rabbitmq-leader", lambda c: c.rpc_leader(), kill("beam.smp"),
              restart("rabbitmq-server")),
        Fault("link-down-controller", api_vip_holder, machines.link_down, machines.link_up),
        Fault("hang-controller", api_vip_holder, machines.hang, machines.unhang),
    ]
