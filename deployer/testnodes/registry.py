"""Leases that let parallel test sessions run node sets side by side.

Each live set has a lease file ``<root>/<prefix>.json`` naming its prefix,
subnet, state directory and owner process (PID plus start time, so a reused
PID is not mistaken for the owner).  ``allocate`` picks a prefix and a /24
nobody holds, under an exclusive lock; ``reap_dead`` tears down the sets whose
owner is gone (a killed pytest) and only those.
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import os
import re
import secrets
import string
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from deployer.testnodes import cgroups, network
from deployer.testnodes.errors import TestNodesError
from deployer.testnodes.nodeset import TestNodes

LOG = logging.getLogger(__name__)
REGISTRY_DIR = Path("/run/deployer-testnodes")
BASE36 = string.digits + string.ascii_lowercase


@dataclasses.dataclass(frozen=True)
class Lease:
    prefix: str
    subnet: str
    state_dir: Path
    owner_pid: int
    owner_start: str

    def node_set(self) -> TestNodes:
        return TestNodes(self.state_dir, prefix=self.prefix, subnet=self.subnet)

    def owner_alive(self) -> bool:
        return process_start_time(self.owner_pid) == self.owner_start


def process_start_time(pid: int) -> str:
    """Start time of a live, non-zombie process in clock ticks since boot ("" if none)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return ""
    return "" if fields[0] == "Z" else fields[19]


class Registry:
    """Lease book for node sets; subnets are ``<network>.N`` for N in ``octets``."""

    def __init__(self, root: Path = REGISTRY_DIR, network_prefix: str = "10.251",
                 octets: range = range(100, 250)):
        self.root = Path(root)
        self.network_prefix = network_prefix
        self.octets = octets

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def leases(self) -> list[Lease]:
        found = []
        for path in sorted(self.root.glob("*.json")):
            try:
                data = json.loads(path.read_text())
                found.append(Lease(prefix=data["prefix"], subnet=data["subnet"],
                                   state_dir=Path(data["state_dir"]), owner_pid=int(data["owner_pid"]),
                                   owner_start=str(data["owner_start"])))
            except (OSError, ValueError, KeyError) as exc:
                LOG.warning("ignoring unreadable test node lease %s: %s", path, exc)
        return found

    def allocate(self, state_root: Path, owner_pid: int | None = None) -> Lease:
        """A fresh prefix ("t" + 3 base36 chars) and /24 for a set owned by ``owner_pid``."""
        owner_pid = os.getpid() if owner_pid is None else owner_pid
        owner_start = process_start_time(owner_pid)
        if not owner_start:
            raise TestNodesError(f"owner_pid: no running process {owner_pid}")
        with self._locked():
            leases = self.leases()
            subnet = self._free_subnet({lease.subnet for lease in leases})
            taken = {lease.prefix for lease in leases}
            for _ in range(100):
                prefix = "t" + "".join(secrets.choice(BASE36) for _ in range(3))
                if prefix not in taken and not _prefix_in_use(prefix):
                    break
            else:
                raise TestNodesError("prefix: no free test node prefix found")
            lease = Lease(prefix=prefix, subnet=subnet, state_dir=Path(state_root).absolute() / prefix,
                          owner_pid=owner_pid, owner_start=owner_start)
            self._write(lease)
            return lease

    def release(self, lease: Lease) -> None:
        with self._locked():
            (self.root / f"{lease.prefix}.json").unlink(missing_ok=True)

    def reap_dead(self) -> list[Lease]:
        """Tear down every set whose owner process is gone; returns the reaped leases."""
        reaped = []
        with self._locked():
            for lease in self.leases():
                if lease.owner_alive():
                    continue
                try:
                    lease.node_set().down()
                except TestNodesError as exc:
                    LOG.warning("could not tear down leftover test node set %s: %s", lease.prefix, exc)
                    continue
                (self.root / f"{lease.prefix}.json").unlink(missing_ok=True)
                reaped.append(lease)
        return reaped

    def _free_subnet(self, leased: set[str]) -> str:
        on_host = {addr.rsplit(".", 1)[0] for addr in network.host_addresses()}
        for octet in self.octets:
            subnet = f"{self.network_prefix}.{octet}"
            if subnet not in leased and subnet not in on_host:
                return subnet
        raise TestNodesError(f"subnet: all of {self.network_prefix}.{self.octets.start}-"
                             f"{self.octets.stop - 1} are in use")

    def _write(self, lease: Lease) -> None:
        data = dataclasses.asdict(lease)
        data["state_dir"] = str(lease.state_dir)
        path = self.root / f"{lease.prefix}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.rename(path)


def _prefix_in_use(prefix: str) -> bool:
    named = re.compile(rf"{re.escape(prefix)}-node\d+")
    return network.link_exists(f"{prefix}br0") or bool(network.list_netns(named) or cgroups.units(named))
