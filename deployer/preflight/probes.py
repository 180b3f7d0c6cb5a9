"""The checks run on one node over SSH (deployer.bootstrap.ssh, the runs' own layer).

Each returns Check rows; a node that cannot be logged into gets one failed ``ssh``
check naming what to fix, and nothing else is tried on it.  Commands run as the
login user, except the VIP probe, which runs as root where the node allows it (to
drop a stale neighbour entry first).
"""
from __future__ import annotations

import dataclasses
import shlex

from deployer.bootstrap import ssh
from deployer.preflight import apt, chef_url
from deployer.preflight.report import FAILED, PASSED, SKIPPED, WARNING, Check
from deployer.preflight.settings import Settings
from deployer.preflight.targets import PlannedNode

COMMAND_TIMEOUT = 60.0
SUPPORTED = ("debian", "12")
LIVENESS = ssh.Liveness(keepalive_interval=5.0, idle_timeout=30.0)


def capture(connection: ssh.SSHConnection, command: str, *, sudo: bool | None = False,
            timeout: float = COMMAND_TIMEOUT) -> tuple[int, str, str]:
    out: list[str] = []
    err: list[str] = []
    rc = connection.run(command, sudo=sudo, timeout=timeout,
                        on_output=lambda stream, text: (out if stream == "stdout" else err)
                        .append(text))
    return rc, "".join(out), "".join(err)


def _login_fix(node: PlannedNode, error: ssh.SSHError) -> str:
    target = node.target
    where = f"{target.address}:{target.port}"
    if isinstance(error, ssh.SSHAuthError):
        return (f"correct the credentials of user {target.user} on {where}: the node's "
                f"password (Password, or the hidden parameter PasswordParameter names, e.g. "
                f"--secret SshPassword) or its KeyFile (the public key in "
                f"~{target.user}/.ssh/authorized_keys)")
    if isinstance(error, ssh.SSHHostKeyMismatch):
        return "correct HostKeyFingerprint if the server was reinstalled; otherwise stop: " \
               "the connection may be intercepted"
    if isinstance(error, ssh.SSHKeyFileError):
        return "give a readable key file without a passphrase in KeyFile"
    if isinstance(error, ssh.SSHConnectionRefused):
        return f"start sshd on the server, or correct the node's Address/Port ({where})"
    return (f"power the server on and check its Address ({target.address}); this host must "
            f"reach it on TCP port {target.port}")


def login(node: PlannedNode) -> tuple[ssh.SSHConnection | None, Check]:
    """An SSH session as the node's user (sudo checked separately)."""
    if node.target is None:
        return None, Check("ssh", FAILED, node.problem, node.fix)
    try:
        connection = ssh.SSHConnection.open(dataclasses.replace(node.target, sudo=False),
                                            LIVENESS)
    except ssh.SSHError as error:
        return None, Check("ssh", FAILED, str(error), _login_fix(node, error))
    target = node.target
    return connection, Check("ssh", PASSED, f"logged in as {target.user} on "
                             f"{target.address}:{target.port}, host key "
                             f"{connection.host_key_fingerprint}")


def sudo(connection: ssh.SSHConnection, node: PlannedNode) -> Check | None:
    """None for root (no sudo needed)."""
    target = node.target
    if target.user == "root":
        return None
    if not target.sudo:
        return Check("sudo", FAILED, f"user {target.user} is not root and the node does not "
                     f"ask for sudo (Sudo: false): chef-client must run as root",
                     f"set Sudo: true (and give {target.user} sudo rights) or log in as root")
    try:
        connection.detect_sudo()
    except ssh.SSHError as error:
        return Check("sudo", FAILED, str(error),
                     f"give {target.user} sudo rights on the server (NOPASSWD, or with the "
                     f"login password), or log in as root")
    return Check("sudo", PASSED, f"{target.user} becomes root with sudo")


def os_release(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            found[key.strip()] = value.strip().strip('"')
    return found


def platform_check(release: dict[str, str]) -> Check:
    name = release.get("PRETTY_NAME") or release.get("ID") or "unknown (no /etc/os-release)"
    if (release.get("ID"), release.get("VERSION_ID")) == SUPPORTED:
        return Check("platform", PASSED, name)
    return Check("platform", FAILED, f"{name}: the cookbooks and packages are Debian 12's",
                 "install Debian 12 (bookworm) on the server")


def platform_and_hostname(connection: ssh.SSHConnection) -> tuple[Check, str | None]:
    rc, out, err = capture(connection, "cat /etc/os-release; echo @@; hostname")
    release_text, _, host = out.partition("@@")
    host = host.strip() or None
    return platform_check(os_release(release_text)), host


def chef_server(connection: ssh.SSHConnection, node: PlannedNode, settings: Settings) -> Check:
    url = chef_url.for_node(settings, node.chef_server_url, connection.local_address)
    rc, out, err = capture(connection, chef_url.probe_command(url, verify_tls=settings.verify_tls))
    why = chef_url.reason(out)
    if why is None:
        return Check("chef_server", PASSED, f"reaches {url} ({' '.join(out.split()[1:])})")
    return Check("chef_server", FAILED, f"cannot reach the Chef server at {url}, the URL the "
                 f"node will be given: {why}", chef_url.fix(settings, url, node.chef_server_url))


def packages(connection: ssh.SSHConnection, wanted: list[str]) -> Check:
    if not wanted:
        return Check("packages", PASSED, "the run-list installs no package")
    rc, out, err = capture(connection, apt.command(wanted))
    if rc != 0 and not out:
        return Check("packages", FAILED, f"apt-cache policy failed on the node: "
                     f"{' '.join(err.split())[-200:] or f'exit status {rc}'}",
                     "the node needs a working APT (Debian 12)")
    missing = apt.missing(wanted, out)
    if missing:
        return Check("packages", FAILED,
                     f"{len(missing)} of the {len(wanted)} packages the run-list installs are "
                     f"neither installed nor installable (apt-cache policy): "
                     f"{', '.join(missing)}",
                     "pre-install them on the server, or give it an APT source (mirror) that "
                     "has them (apt-get update), or correct the run-list")
    return Check("packages", PASSED, f"all {len(wanted)} packages the run-list installs are "
                 f"installed or installable")


def unchecked_packages(notes: list[str]) -> Check | None:
    if not notes:
        return None
    return Check("packages_unchecked", WARNING, "; ".join(notes),
                 "put the roles and cookbooks in the deployer's content directories "
                 "([content] roles_dir, cookbooks_dir) to have their packages checked")


VIP_FREE, VIP_IN_USE, VIP_ROUTED, VIP_LOCAL = "free", "inuse", "routed", "local"


def vip_probe_command(address: str) -> str:
    """Whether anything on the prober's link answers ARP for ``address``: a stale
    neighbour entry is dropped (as root), a TCP connection attempt makes the kernel
    resolve it, and the neighbour table says whether a host answered."""
    vip = shlex.quote(address)
    return (f"route=$(ip -o route get {vip} 2>/dev/null | head -1); "
            f"case \"$route\" in local*) echo {VIP_LOCAL}; exit 0;; esac; "
            f"dev=$(printf '%s' \"$route\" | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p'); "
            f"[ -n \"$dev\" ] || {{ echo {VIP_ROUTED} none; exit 0; }}; "
            f"case \"$route\" in *' via '*) echo {VIP_ROUTED} \"$dev\"; exit 0;; esac; "
            f"ip neigh flush to {vip} dev \"$dev\" >/dev/null 2>&1; "
            f"timeout 2 bash -c 'exec 3<>/dev/tcp/'{vip}'/9' >/dev/null 2>&1; "
            f"neigh=$(ip -o neigh show to {vip} dev \"$dev\"); "
            f"case \"$neigh\" in *lladdr*) case \"$neigh\" in *FAILED*|*INCOMPLETE*) "
            f"echo {VIP_FREE};; *) echo {VIP_IN_USE} \"$neigh\";; esac;; "
            f"*) echo {VIP_FREE};; esac")


def vip_in_use(connection: ssh.SSHConnection, prober: str, address: str) -> Check:
    rc, out, err = capture(connection, vip_probe_command(address), sudo=None)
    words = out.split()
    verdict = words[0] if words else ""
    if verdict == VIP_FREE:
        return Check("vip_free", PASSED, f"nothing answers ARP for {address} (probed from "
                     f"{prober})")
    if verdict == VIP_IN_USE:
        lladdr = words[words.index("lladdr") + 1] if "lladdr" in words[:-1] else "?"
        return Check("vip_free", FAILED, f"{address} is in use on the segment: {lladdr} "
                     f"answers ARP for it (probed from {prober})",
                     "give the VIP an address nothing else uses, or free that address")
    if verdict == VIP_LOCAL:
        return Check("vip_free", FAILED, f"{address} is an address of node {prober} itself",
                     "give the VIP an address no server has")
    if verdict == VIP_ROUTED:
        return Check("vip_free", WARNING, f"{address} is not on a link of {prober} (routed "
                     f"via a gateway): not probed", "put the VIP on the controllers' network")
    return Check("vip_free", WARNING, f"the probe from {prober} gave no answer "
                 f"({' '.join((out + err).split())[:200]!r}); not probed")


def skipped(name: str, why: str) -> Check:
    return Check(name, SKIPPED, why)
