"""A node's disk before its first boot: the upper layer of its root overlay.

The layer starts with the host-image rules (image.py: host services disabled,
host state hidden) and the node's identity: hostname, /etc/hosts,
/etc/machine-id, a root password in its own /etc/shadow, the set's client keys
in /root/.ssh/authorized_keys, an ed25519 host key of its own and the sshd
configuration that ssh.service starts sshd with.  Whatever the node writes
later lands in the same layer and is kept across crash and start.
"""
from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

from deployer.testnodes.image import HostImage, upper_dir, whiteout
from deployer.testnodes.node import TestNode

HOST_KEY = "ssh_host_ed25519_key"
# UsePAM no: a login opens no logind session (no user@0.service per login), which keeps
# each SSH connection as cheap as the bootstrap tests need; password and key auth work alike.
SSHD_CONFIG = """\
# Test node {name}: written by deployer.testnodes
Port 22
HostKey /etc/ssh/{host_key}
PermitRootLogin yes
PasswordAuthentication yes
PubkeyAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
"""


def prepare_root(node: TestNode, image: HostImage, *, root_hash: str, host_key_private: bytes,
                 host_key_public: str, authorized_keys: str, hosts: str) -> None:
    """Lay out the node's directories and write its identity into the upper layer."""
    for directory in (node.upper_dir, node.state_dir / "work", node.root_mount):
        directory.mkdir(mode=0o755)
    image.apply(node.upper_dir)
    upper = node.upper_dir

    ssh_dir = upper_dir(upper, "root/.ssh")
    os.chmod(ssh_dir, 0o700)
    _write(ssh_dir / "authorized_keys", authorized_keys, 0o600)

    etc = upper_dir(upper, "etc")
    _write(etc / "hostname", f"{node.name}\n", 0o644)
    _write(etc / "hosts", hosts, 0o644)
    _write(etc / "machine-id", uuid.uuid4().hex + "\n", 0o444)
    _write_shadow(etc / "shadow", root_hash)
    etc_ssh = upper_dir(upper, "etc/ssh")
    _write(etc_ssh / "sshd_config", SSHD_CONFIG.format(name=node.name, host_key=HOST_KEY), 0o644)
    _write_bytes(etc_ssh / HOST_KEY, host_key_private, 0o600)
    _write(etc_ssh / f"{HOST_KEY}.pub", host_key_public + "\n", 0o644)
    # The host's own host keys: a node must neither present nor hold the host's identity.
    for entry in Path("/etc/ssh").glob("ssh_host_*"):
        if not entry.name.startswith(HOST_KEY):
            whiteout(upper, f"etc/ssh/{entry.name}")


SHARED_DISK_UNIT = "deployer-shared-disk.service"
SHARED_DISK_UNIT_TEXT = """\
# Test node: written by deployer.testnodes
[Unit]
Description=The set's shared disk at {path} (the host's loop device {major}:{minor}, as a SAN LUN)
DefaultDependencies=no
Before=sysinit.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'rm -f {path} && mknod -m 0660 {path} b {major} {minor} && chgrp disk {path}'
"""


def add_shared_disk(node: TestNode, path: str, major: int, minor: int) -> None:
    """A unit that makes the shared disk a device node at ``path`` early in every boot.

    A device node, not a bind mount of the host's: a bind-mounted device is a mount point,
    and Pacemaker's Filesystem agent, listing the mounts that name the device, takes it
    for a bind mount of the file system and unmounts it at every stop of the group."""
    units = upper_dir(node.upper_dir, "etc/systemd/system")
    _write(units / SHARED_DISK_UNIT, SHARED_DISK_UNIT_TEXT.format(path=path, major=major, minor=minor),
           0o644)
    wants = upper_dir(node.upper_dir, "etc/systemd/system/sysinit.target.wants")
    link = wants / SHARED_DISK_UNIT
    if not link.is_symlink():
        link.symlink_to(f"../{SHARED_DISK_UNIT}")


def _write(path: Path, text: str, mode: int) -> None:
    _write_bytes(path, text.encode(), mode)


def _write_bytes(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)


def _write_shadow(path: Path, root_hash: str) -> None:
    """The host's /etc/shadow with root's password replaced (the host's stays untouched)."""
    host = Path("/etc/shadow")
    lines, found = [], False
    for line in host.read_text().splitlines():
        fields = line.split(":")
        if fields[0] == "root" and len(fields) > 1:
            fields[1], found = root_hash, True
            line = ":".join(fields)
        lines.append(line)
    if not found:
        lines.insert(0, f"root:{root_hash}:19000:0:99999:7:::")
    host_stat = host.stat()
    _write(path, "\n".join(lines) + "\n", stat.S_IMODE(host_stat.st_mode))
    os.chown(path, host_stat.st_uid, host_stat.st_gid)
