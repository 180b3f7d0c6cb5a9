"""What a node's root shows of the host: its packages, not its services or its state.

A node's root is an overlay whose lower layer is the host's ``/``, so a node
carries every package installed on the host, like a server made from a
pre-built image.  ``HostImage.scan()`` decides, once per set, what of the host
is *not* image, and ``apply`` writes that into a node's upper layer:

* Enabled units.  The host enabled services for its own use (mariadb,
  rabbitmq-server, epmd, corosync, goiardi, the OpenStack services, ...).
  Every install link in the host's /etc/systemd/system (the *.wants and
  *.requires links, and the aliases next to them) is looked at; it stays on a
  node only if a freshly installed Debian server has it too: a unit shipped
  by a package of priority required, important or standard (the base system:
  journald, logind, getty, timers, ...) or ``ssh.service`` (the installer's
  "SSH server" task).  Every other link is whited out, which is what
  ``systemctl disable`` does, so a converge can enable the unit again.  The
  host's masks (links to /dev/null) go too: a fresh server masks nothing.
* Host state.  Top-level entries outside the Debian file-system layout (working
  trees such as /work) are whited out; the users' and site directories
  (/root, /home, /opt, /srv, /mnt, /media, /tmp, /var/tmp) are empty in the
  node; the deployer's configuration and state (/etc/deployer,
  /var/lib/deployer, ``$DEPLOYER_STATE_DIR``) and the set's own state dir are
  whited out; so are the host's ssh host keys (rootfs.py gives the node its own).
* ``/usr/sbin/policy-rc.d``: a container image's "never start services" hook.
  A real server has none, so package maintainer scripts start units in a node.
"""
from __future__ import annotations

import dataclasses
import os
import stat
import subprocess
from pathlib import Path

from deployer.config import DEFAULT_STATE_DIR
from deployer.testnodes.errors import TestNodesError

UNIT_DIR = Path("/etc/systemd/system")
BASE_PRIORITIES = {"required", "important", "standard"}
SERVER_TASK_UNITS = {"ssh.service"}
# The top level of a Debian root; anything else at / is this host's own.
DEBIAN_TOP_LEVEL = {"bin", "boot", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "media",
                    "mnt", "opt", "proc", "root", "run", "sbin", "srv", "sys", "tmp", "usr", "var"}
EMPTY_IN_NODE = ("root", "home", "opt", "srv", "mnt", "media", "tmp", "var/tmp")
HIDDEN_HOST_STATE = ("etc/deployer", DEFAULT_STATE_DIR.lstrip("/"), "usr/sbin/policy-rc.d")
OPAQUE_XATTR = "trusted.overlay.opaque"


@dataclasses.dataclass(frozen=True)
class HostImage:
    """Paths relative to / : links to disable, entries to hide, directories to empty."""
    disabled_links: tuple[str, ...]
    hidden: tuple[str, ...]
    emptied: tuple[str, ...] = EMPTY_IN_NODE

    @classmethod
    def scan(cls, private_paths: list[Path]) -> "HostImage":
        """The host's image rules; ``private_paths`` (e.g. the set's state dir) are hidden too."""
        hidden = [name for name in sorted(os.listdir("/")) if name not in DEBIAN_TOP_LEVEL]
        state_dir = os.environ.get("DEPLOYER_STATE_DIR")
        candidates = [*HIDDEN_HOST_STATE, *([state_dir] if state_dir else []),
                      *(str(p) for p in private_paths)]
        for path in candidates:
            relative = str(Path("/", path).resolve()).lstrip("/")
            if relative and _visible_in_node(relative, hidden) and os.path.lexists("/" + relative):
                hidden.append(relative)
        return cls(disabled_links=tuple(host_service_links()), hidden=tuple(hidden))

    def apply(self, upper: Path) -> None:
        """Write the rules into a node's (empty) upper layer."""
        for relative in self.emptied:
            if os.path.isdir("/" + relative):
                directory = upper_dir(upper, relative)
                os.setxattr(directory, OPAQUE_XATTR, b"y")
        for relative in (*self.hidden, *self.disabled_links):
            whiteout(upper, relative)


def host_service_links() -> list[str]:
    """The host's install links (wants, requires, aliases, masks) a fresh Debian server lacks."""
    candidates = [entry for entry in sorted(UNIT_DIR.iterdir()) if entry.is_symlink()]
    for wants in sorted(UNIT_DIR.glob("*.wants")) + sorted(UNIT_DIR.glob("*.requires")):
        candidates += sorted(wants.iterdir())
    # relative link path -> the unit file it points to (/dev/null for a mask)
    links = {str(link.relative_to("/")): Path(os.path.realpath(link)) for link in candidates}
    base_units = _base_system_unit_files({str(target) for target in links.values()})
    return [relative for relative, target in links.items()
            if Path(relative).name not in SERVER_TASK_UNITS and target.name not in SERVER_TASK_UNITS
            and str(target) not in base_units]


def _base_system_unit_files(unit_files: set[str]) -> set[str]:
    """Those of ``unit_files`` shipped by a package of the Debian base system."""
    # dpkg records /lib/... for most units and /usr/lib/... for some (merged /usr): ask for both.
    spelled = {}
    for path in unit_files:
        spelled[path] = path
        if path.startswith("/usr/lib/"):
            spelled[path[len("/usr"):]] = path
    owners = _dpkg_query(["-S", *sorted(spelled)])
    packages: dict[str, set[str]] = {}
    for line in owners.splitlines():
        names, _, path = line.partition(": ")
        if path in spelled:
            for name in names.split(", "):
                packages.setdefault(name.split(":")[0], set()).add(spelled[path])
    if not packages:
        return set()
    priorities = _dpkg_query(["-W", "-f", "${Package}\t${Priority}\n", *sorted(packages)])
    base = set()
    for line in priorities.splitlines():
        name, _, priority = line.partition("\t")
        if priority in BASE_PRIORITIES:
            base |= packages.get(name, set())
    return base


def _dpkg_query(args: list[str]) -> str:
    try:
        result = subprocess.run(["dpkg-query", *args], capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise TestNodesError("dpkg-query not found: test nodes need a Debian host") from None
    # Status 1 only means some path is owned by no package (a local unit): not base system.
    if result.returncode not in (0, 1):
        raise TestNodesError(f"dpkg-query {args[0]} failed: {result.stderr.strip()}")
    return result.stdout


def _visible_in_node(relative: str, hidden_top: list[str]) -> bool:
    """False when ``relative`` is already out of sight (under a hidden or emptied directory)."""
    covered = [*hidden_top, *EMPTY_IN_NODE]
    return not any(relative == c or relative.startswith(c + "/") for c in covered)


def upper_dir(upper: Path, relative: str) -> Path:
    """``upper/relative`` as a directory, each new level with the host directory's owner and mode
    (the merged directory takes them from the upper layer)."""
    path, host = upper, Path("/")
    for part in Path(relative).parts:
        path, host = path / part, host / part
        if not path.is_dir():
            path.mkdir()
            try:
                host_stat = host.stat()
            except FileNotFoundError:
                continue
            os.chown(path, host_stat.st_uid, host_stat.st_gid)
            os.chmod(path, stat.S_IMODE(host_stat.st_mode))
    return path


def whiteout(upper: Path, relative: str) -> None:
    """Hide ``/relative`` of the lower layer in the node (an overlayfs whiteout: char dev 0/0)."""
    parent = upper_dir(upper, str(Path(relative).parent))
    target = parent / Path(relative).name
    if not os.path.lexists(target):
        os.mknod(target, stat.S_IFCHR | 0o000, os.makedev(0, 0))
