"""How ``deployer plan`` and ``deployer create`` print a preflight report: a line per
check, failures with what to fix, grouped by node, VIP and site."""
from __future__ import annotations

from typing import TextIO

MARKS = {"passed": "ok", "failed": "FAILED", "warning": "warning", "skipped": "skipped"}


def _check(check: dict, out: TextIO, indent: str) -> None:
    mark = MARKS.get(check.get("status"), check.get("status"))
    print(f"{indent}{mark:<8} {check.get('name')}: {check.get('detail')}", file=out)
    if check.get("status") in ("failed", "warning") and check.get("fix"):
        print(f"{indent}{'':<8} fix: {check['fix']}", file=out)


def print_report(report: dict, out: TextIO) -> None:
    status = report.get("status")
    reason = f" ({report['reason']})" if report.get("reason") else ""
    print(f"preflight: {status}{reason}", file=out)
    for node in report.get("nodes") or []:
        fingerprint = node.get("host_key_fingerprint")
        print(f"  node {node.get('resource')} ({node.get('address') or '-'})"
              + (f" host key {fingerprint}" if fingerprint else ""), file=out)
        for check in node.get("checks") or []:
            _check(check, out, "    ")
    for vip in report.get("vips") or []:
        vrid = f", VRID {vip['vrid']}" if vip.get("vrid") is not None else ""
        print(f"  VIP {vip.get('name')} {vip.get('address')} (segment {vip.get('segment')}"
              f"{vrid})", file=out)
        for check in vip.get("checks") or []:
            _check(check, out, "    ")
    site = [c for c in report.get("site") or [] if c.get("status") != "passed"]
    if site:
        print("  site", file=out)
        for check in site:
            _check(check, out, "    ")
