"""The VIPs of a rendered Chef environment (``deployer.vips``, override over default).

A VIP's *segment* is the L2 network its VRRP adverts share: the definition's own
``segment`` when it gives one, else the IP network of ``address/prefix``
(``10.0.0.0/24``).  The cookbook's converge-time check
(DeployerCommon::Vrrp.check_unique_vrids!) keys one deployment's VIPs by interface
name; across deployments an interface name says nothing (every host has an
``eth0``), the network does.

A VIP is *floating* unless its address is one of the deployment's own node
addresses (the all-in-one names its node's address: nothing moves it, nothing
else may answer it).  Its VRID counts only where keepalived moves it (a node's
expanded run-list reaches deployer_keepalived); Pacemaker's IPaddr2 VIPs have none.
"""
from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any

from deployer.errors import Unprocessable

FIELD = "chef_environment.deployer.vips"


@dataclasses.dataclass(frozen=True)
class Vip:
    name: str
    address: str
    segment: str
    vrid: int | None        # None: no VRRP (not moved by keepalived)
    network: str | None     # address/prefix as a network, when the prefix is known

    def clashes_with(self, address: str, segment: str, vrid: int | None) -> list[str]:
        """The fields another VIP (or a claim) collides with this one on: "address", and
        "virtual_router_id" for the same VRID on the same segment."""
        fields = ["address"] if address == self.address else []
        if self.vrid is not None and (segment, vrid) == (self.segment, self.vrid):
            fields.append("virtual_router_id")
        return fields

    def contains(self, address: str | None) -> bool:
        if not address or not self.network:
            return False
        try:
            return ipaddress.ip_address(address) in ipaddress.ip_network(self.network)
        except ValueError:
            return False


def definitions(environment: dict | None) -> dict[str, Any]:
    """deployer.vips of the environment: override_attributes over default_attributes."""
    merged: dict[str, Any] = {}
    for section in ("default_attributes", "override_attributes"):
        vips = (((environment or {}).get(section) or {}).get("deployer") or {}).get("vips")
        if isinstance(vips, dict):
            for name, vip in vips.items():
                merged[name] = {**(merged.get(name) or {}), **vip} if isinstance(vip, dict) else vip
    return merged


def floating(environment: dict | None, node_addresses: set[str], *, vrrp: bool) -> list[Vip]:
    """The floating VIPs; 422 naming the field for a definition no converge could use."""
    found = []
    for name, vip in sorted(definitions(environment).items()):
        field = f"{FIELD}.{name}"
        if not isinstance(vip, dict):
            raise Unprocessable(f"{field} must be an object", field=field)
        address = str(vip.get("address") or "")
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise Unprocessable(f"{field}.address {address!r} is not an IP address",
                                field=f"{field}.address") from None
        network = None
        if vip.get("prefix") not in (None, ""):
            try:
                network = str(ipaddress.ip_network(f"{ip}/{int(vip['prefix'])}", strict=False))
            except ValueError:
                raise Unprocessable(f"{field}.prefix {vip['prefix']!r} is not a prefix length "
                                    f"of {ip}", field=f"{field}.prefix") from None
        if str(ip) in node_addresses:
            if vrrp:
                raise Unprocessable(f"VIP {name} ({ip}) is a node's own address: keepalived "
                                    f"would move a node's address between controllers; give "
                                    f"the VIP a free address", field=f"{field}.address")
            continue
        segment = str(vip.get("segment") or network or "")
        if not segment:
            raise Unprocessable(f"{field} needs a prefix (or a segment)", field=f"{field}.prefix")
        vrid = None
        if vrrp:
            raw = vip.get("virtual_router_id")
            try:
                vrid = int(raw)
            except (TypeError, ValueError):
                vrid = None
            if vrid is None or isinstance(raw, bool) or not 1 <= vrid <= 255 or str(raw) != str(vrid):
                raise Unprocessable(f"{field}.virtual_router_id must be an integer in 1..255, "
                                    f"got {raw!r}", field=f"{field}.virtual_router_id")
        found.append(Vip(name, str(ip), segment, vrid, network))
    _unique_within(found)
    return found


def _unique_within(vips: list[Vip]) -> None:
    """Two VIPs of one deployment on one address, or on one VRID of a segment."""
    errors: dict[str, list[str]] = {}
    for index, vip in enumerate(vips):
        for other in vips[:index]:
            said = {"address": f"the same address as VIP {other.name}",
                    "virtual_router_id": f"VRID {vip.vrid} is VIP {other.name}'s on segment {vip.segment} too"}
            for field in vip.clashes_with(other.address, other.segment, other.vrid):
                errors.setdefault(f"{FIELD}.{vip.name}.{field}", []).append(said[field])
    if errors:
        raise Unprocessable("VIPs of this deployment collide: " + "; ".join(
            f"{field}: {' '.join(texts)}" for field, texts in errors.items()), errors=errors)
