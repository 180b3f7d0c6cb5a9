"""One preflight: every planned node probed in parallel over SSH, then every floating
VIP (the registry, then ARP from a node on its segment), then the checks across
nodes.  Sessions stay open until the VIPs are probed and are closed whatever happens.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import logging

from deployer.bootstrap import ssh
from deployer.preflight import probes, site
from deployer.preflight.report import FAILED, PASSED, Check, NodeReport, Report, VipReport
from deployer.preflight.settings import Settings
from deployer.preflight.targets import PlannedNode
from deployer.preflight.vips import Vip

LOG = logging.getLogger(__name__)
MAX_PARALLEL = 32


@dataclasses.dataclass
class NodeNeeds:
    """What the cookbooks say a node's run-list installs (packages.derive)."""
    packages: list[str]
    notes: list[str]        # what could not be checked, and why
    config: Check | None = None     # the lint of the files it would write (config.py)


@dataclasses.dataclass
class _Probed:
    node: PlannedNode
    report: NodeReport
    connection: ssh.SSHConnection | None = None


def _probe(node: PlannedNode, needs: NodeNeeds, settings: Settings) -> _Probed:
    probed = _Probed(node, NodeReport(node.resource, node.address, node.node_name))
    report = probed.report
    connection, login = probes.login(node)
    report.checks.append(login)
    if connection is None:
        report.checks += [probes.skipped(name, "not logged in") for name in
                          ("platform", "chef_server", "packages")]
        return probed
    probed.connection = connection
    report.host_key_fingerprint = connection.host_key_fingerprint
    try:
        sudo = probes.sudo(connection, node)
        if sudo is not None:
            report.checks.append(sudo)
        platform, report.hostname = probes.platform_and_hostname(connection)
        report.checks.append(platform)
        report.checks.append(probes.chef_server(connection, node, settings))
        report.checks.append(probes.packages(connection, needs.packages))
        unchecked = probes.unchecked_packages(needs.notes)
        if unchecked is not None:
            report.checks.append(unchecked)
    except ssh.SSHError as error:
        report.checks.append(Check("session", FAILED, f"the SSH session ended: {error}",
                                   "check the server and its network, then plan again"))
    return probed


def _prober(vip: Vip, probed: list[_Probed]) -> _Probed | None:
    """A logged-in node on the VIP's network, else any logged-in node."""
    alive = [p for p in probed if p.connection is not None]
    on_segment = [p for p in alive if vip.contains(p.node.address)]
    return (on_segment or alive or [None])[0]


def _vip_report(vip: Vip, taken: dict[str, list[str]], probed: list[_Probed]) -> VipReport:
    report = VipReport(vip.name, vip.address, vip.segment, vip.vrid)
    mine = {field: texts for field, texts in taken.items()
            if field.rsplit(".", 1)[0].endswith(f".{vip.name}")}
    if mine:
        report.checks.append(Check("registry", FAILED, "; ".join(
            text for texts in mine.values() for text in texts),
            "choose an address and a VRID no other deployment of this under-cloud holds "
            "(ApiVrid, DbVrid, the VIP addresses), or delete the other deployment"))
    else:
        what = f"address {vip.address}" + (f", VRID {vip.vrid} on segment {vip.segment}"
                                           if vip.vrid is not None else "")
        report.checks.append(Check("registry", PASSED, f"{what}: held by no other deployment"))
    prober = _prober(vip, probed)
    if prober is None:
        report.checks.append(probes.skipped("vip_free", "no node logged in to probe from"))
    else:
        try:
            report.checks.append(probes.vip_in_use(prober.connection, prober.node.resource,
                                                   vip.address))
        except ssh.SSHError as error:
            report.checks.append(Check("vip_free", FAILED, f"probe from {prober.node.resource} "
                                       f"failed: {error}", "check that node, then plan again"))
    return report


def run(nodes: list[PlannedNode], needs: dict[str, NodeNeeds], vips: list[Vip],
        taken: dict[str, list[str]], settings: Settings) -> Report:
    """``needs``: by resource; ``taken``: registry.collisions of ``vips``."""
    report = Report()
    probed: list[_Probed] = []
    try:
        with concurrent.futures.ThreadPoolExecutor(
                max_workers=max(1, min(MAX_PARALLEL, len(nodes)))) as pool:
            futures = [pool.submit(_probe, node, needs.get(node.resource, NodeNeeds([], [])),
                                   settings) for node in nodes]
            for future in futures:      # in plan order
                probed.append(future.result())
        for item in probed:             # read on the deployer: no login needed
            config = needs.get(item.node.resource, NodeNeeds([], [])).config
            if config is not None:
                item.report.checks.append(config)
        report.nodes = [p.report for p in probed]
        report.vips = [_vip_report(vip, taken, probed) for vip in vips]
        report.site = site.checks(report.nodes)
    finally:
        for item in probed:
            if item.connection is not None:
                item.connection.close()
    LOG.info("preflight of %d nodes, %d VIPs: %s", len(nodes), len(vips), report.status)
    return report


def registry_only(vips: list[Vip], taken: dict[str, list[str]], reason: str) -> Report:
    """The report when the node checks are skipped: the registry is still the deployer's."""
    report = Report(skipped=True, reason=reason)
    report.vips = [_vip_report_registry(vip, taken) for vip in vips]
    return report


def _vip_report_registry(vip: Vip, taken: dict[str, list[str]]) -> VipReport:
    report = _vip_report(vip, taken, [])
    report.checks = [c for c in report.checks if c.name == "registry"]
    return report
