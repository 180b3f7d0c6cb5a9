"""Every option an OpenStack service's file sets, checked against that service's
own option schema: the oslo.config namespaces the Debian 12 packages register
(the sets their oslo-config-generator files name, Zed), read by Debian's Python
with the loader oslo-config-validator uses (option_schema.py).

An option no namespace defines is an error (removed, or never existed: oslo.config
ignores it silently, so the setting does nothing); an option deprecated for
removal, or set under a deprecated name, is a warning naming its replacement.
"""
from __future__ import annotations

import configparser
import functools
import hashlib
import json
import os
import subprocess
from pathlib import Path

from deployer.lint.findings import ERROR, WARNING, Finding

DEBIAN_PYTHON = "/usr/bin/python3"
DPKG_STATUS = "/var/lib/dpkg/status"
SCHEMA_SCRIPT = Path(__file__).with_name("option_schema.py")
OSLO = ["oslo.log", "oslo.messaging", "oslo.db", "oslo.policy", "oslo.concurrency",
        "oslo.middleware", "oslo.cache", "keystonemiddleware.auth_token"]
# The namespaces each file's readers register.
NAMESPACES = {
    "keystone.conf": ["keystone", *OSLO],
    "glance-api.conf": ["glance.api", "glance.store", "glance.multi_store", *OSLO],
    "placement.conf": ["placement.conf", *OSLO],
    "nova.conf": ["nova.conf", "os_vif", "oslo.privsep", "oslo.service.service",
                  "oslo.service.periodic_task", *OSLO],
    "neutron.conf": ["neutron", "neutron.agent", "neutron.base.agent", "neutron.db",
                     "neutron.extensions", "nova.auth", "placement.auth", "ironic.auth", *OSLO],
    "ml2_conf.ini": ["neutron.ml2", "neutron.ml2.ovn"],
    "cinder.conf": ["cinder", *OSLO],
    "nova-compute.conf": ["nova.conf"],
    "neutron_ovn_metadata_agent.ini": ["neutron.ovn.metadata.agent", "neutron.ml2.ovn",
                                       "neutron.agent", "neutron.base.agent", *OSLO],
}


class SchemaUnavailable(RuntimeError):
    """Debian's Python or the packages' namespaces are missing on this host."""


@functools.cache
def schema(namespaces: tuple[str, ...]) -> dict[str, dict[str, dict]]:
    """{group: {option: {...}}} of ``namespaces`` (option_schema.py's output), kept on disk
    until a package changes: loading every namespace takes Debian's Python some 20 s, too
    long for each plan."""
    if not Path(DEBIAN_PYTHON).exists():
        raise SchemaUnavailable(f"{DEBIAN_PYTHON} is missing")
    cached = _cache_file(namespaces)
    try:
        return json.loads(cached.read_text())
    except (OSError, ValueError):
        pass
    done = subprocess.run([DEBIAN_PYTHON, str(SCHEMA_SCRIPT), *namespaces],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise SchemaUnavailable(f"option schema of {', '.join(namespaces)}: "
                                f"{done.stderr.strip().splitlines()[-1:]}")
    found = json.loads(done.stdout)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(f"{cached.name}.{os.getpid()}")
        partial.write_text(done.stdout)
        partial.replace(cached)         # readers see a whole file or none
    except OSError:
        pass                            # no cache: the next plan loads it again
    return found


def _cache_file(namespaces: tuple[str, ...]) -> Path:
    """Named by the namespaces and the state of the installed packages (dpkg's status
    file changes with every install, upgrade or removal)."""
    try:
        status = Path(DPKG_STATUS).stat()
        installed = f"{status.st_mtime_ns}:{status.st_size}"
    except OSError:
        installed = "unknown"
    key = hashlib.sha256(json.dumps([namespaces, installed]).encode()).hexdigest()[:24]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "deployer" / "option-schemas" / f"{key}.json"


def check(files: dict[str, str]) -> list[Finding]:
    findings = []
    for name, text in sorted(files.items()):
        if name in NAMESPACES:
            findings += check_file(name, text, schema(tuple(NAMESPACES[name])))
    return findings


def check_file(name: str, text: str, known: dict[str, dict[str, dict]]) -> list[Finding]:
    parser = configparser.RawConfigParser(strict=False, default_section="\0",
                                          interpolation=None)
    parser.read_string(text)
    # A deprecated name answers for its replacement: (group, old name) -> (group, option).
    renamed = {tuple(old): (group, option) for group, opts in known.items()
               if not group.startswith("__")
               for option, spec in opts.items() for old in spec["deprecated_names"]}
    findings = []
    for section in parser.sections():
        # keystoneauth's options exist once the group's auth_type plugin is loaded.
        auth = set(known.get("__auth_type__", {}).get(
            parser.get(section, "auth_type", fallback=""), ()))
        for option in parser[section]:
            where = f"[{section}] {option}"
            spec = (known.get(section) or {}).get(option)
            if option in auth:
                continue
            if spec is not None:
                if spec["deprecated_for_removal"]:
                    findings.append(Finding(WARNING, name, where, "deprecated for removal: "
                                            f"{spec['reason'] or 'no replacement named'}"))
            elif (section, option) in renamed:
                group, new = renamed[(section, option)]
                findings.append(Finding(WARNING, name, where,
                                        f"deprecated name: use [{group}] {new}"))
            else:
                findings.append(Finding(ERROR, name, where,
                                        "unknown option: no namespace of this service "
                                        f"({', '.join(NAMESPACES[name])}) defines it, so "
                                        "the service ignores it (removed or misspelt)"))
    return findings
