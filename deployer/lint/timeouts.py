"""Timeouts of one layer checked against the next, each mismatch with the failure it
causes.  Unset values count at the daemons' own defaults (below).

- oslo.db ``connection_recycle_time`` must be below HAProxy's client/server timeout
  on the database listeners and below MariaDB's ``wait_timeout``: whichever closes an
  idle pooled connection first, the service's next query on it fails;
- oslo.messaging ``heartbeat_timeout_threshold`` must be below HAProxy's timeouts on
  a RabbitMQ listener (when the brokers are reached through HAProxy);
- keepalived moves a VIP in 3 x ``advert_int``; HAProxy marks a dead backend down after
  ``inter`` x ``fall``: when that is longer, the new master keeps sending requests to
  the dead controller for the difference (a warning: a trade against flapping).
"""
from __future__ import annotations

import configparser
import re

from deployer.lint.findings import ERROR, WARNING, Finding

MARIADB_WAIT_TIMEOUT = 28800            # MariaDB 10.11 default, seconds
OSLO_DB_RECYCLE = 3600                  # oslo.db connection_recycle_time default
OSLO_HEARTBEAT_THRESHOLD = 60           # oslo.messaging heartbeat_timeout_threshold default
HAPROXY_INTER_MS, HAPROXY_FALL = 2000, 3
DB_SECTIONS = ("database", "api_database", "placement_database")
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}


def check(files: dict[str, str]) -> list[Finding]:
    haproxy = parse_haproxy(files["haproxy.cfg"]) if "haproxy.cfg" in files else {}
    findings = []
    db = {name: listener for name, listener in haproxy.items() if listener["database"]}
    wait_timeout = _wait_timeout(files)
    for name, text in sorted(files.items()):
        if not name.endswith((".conf", ".ini")) or name in ("keepalived.conf",):
            continue
        conf = _ini(text)
        if conf is None:
            continue
        for section in DB_SECTIONS:
            if conf.has_option(section, "connection"):
                findings += _recycle(name, conf, section, db, wait_timeout)
        if conf.has_section("oslo_messaging_rabbit") or conf.has_option("DEFAULT", "transport_url"):
            findings += _heartbeat(name, conf, haproxy)
    if "keepalived.conf" in files and haproxy:
        findings += _failover(files["keepalived.conf"], haproxy)
    return findings


def _recycle(name, conf, section, db_listeners, wait_timeout) -> list[Finding]:
    recycle = float(conf.get(section, "connection_recycle_time", fallback=OSLO_DB_RECYCLE))
    where = f"[{section}] connection_recycle_time = {recycle:g}"
    found = []
    for listener, spec in sorted(db_listeners.items()):
        idle = min(spec["client"], spec["server"])
        if recycle >= idle:
            found.append(Finding(ERROR, name, where,
                                 f"HAProxy listener {listener} closes connections idle for "
                                 f"{idle:g} s (timeout client/server) before oslo.db recycles "
                                 f"them: the next query on such a pooled connection fails "
                                 f"('Lost connection to MySQL server', DBConnectionError)"))
    if recycle >= wait_timeout:
        found.append(Finding(ERROR, name, where,
                             f"MariaDB closes connections idle for wait_timeout = "
                             f"{wait_timeout:g} s before oslo.db recycles them: the next query "
                             f"on such a pooled connection fails ('MySQL server has gone away')"))
    return found


def _heartbeat(name, conf, haproxy) -> list[Finding]:
    threshold = float(conf.get("oslo_messaging_rabbit", "heartbeat_timeout_threshold",
                               fallback=OSLO_HEARTBEAT_THRESHOLD))
    found = []
    for listener, spec in sorted(haproxy.items()):
        if not spec["rabbitmq"]:
            continue
        idle = min(spec["client"], spec["server"])
        if threshold <= 0 or threshold >= idle:
            beat = "heartbeats are off" if threshold <= 0 else \
                f"heartbeats only every {threshold:g} s"
            found.append(Finding(ERROR, name,
                                 f"[oslo_messaging_rabbit] heartbeat_timeout_threshold = "
                                 f"{threshold:g}",
                                 f"HAProxy listener {listener} cuts AMQP connections idle for "
                                 f"{idle:g} s and {beat}: idle services lose their broker "
                                 f"connection, RPC replies are lost (MessagingTimeout) and "
                                 f"every cut reconnects"))
    return found


def _failover(text: str, haproxy) -> list[Finding]:
    adverts = [float(v) for v in re.findall(r"^\s*advert_int\s+([\d.]+)", text, re.M)] or [1.0]
    failover = 3 * max(adverts)
    found = []
    for listener, spec in sorted(haproxy.items()):
        if spec["detect"] > failover:
            found.append(Finding(WARNING, "keepalived.conf", f"advert_int = {max(adverts):g}",
                                 f"the VIP moves in {failover:g} s (3 x advert_int) but HAProxy "
                                 f"listener {listener} marks a dead backend down only after "
                                 f"{spec['detect']:g} s (inter x fall): for "
                                 f"{spec['detect'] - failover:g} s the new master still sends "
                                 f"requests to the dead controller"))
    return found


# -- parsing --------------------------------------------------------------------------

def seconds(text: str) -> float:
    """An HAProxy time (``90m``, ``5s``, ``2000``: milliseconds without a unit)."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h|d)?", text.strip())
    if match is None:
        raise ValueError(f"not an HAProxy time: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2) or "ms"]


def parse_haproxy(text: str) -> dict[str, dict]:
    """{listener: {client, server (s), detect (inter x fall, s), database, rabbitmq}}."""
    defaults: dict[str, float] = {}
    listeners: dict[str, dict] = {}
    current: dict | None = None
    defaults_block: dict | None = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        words = line.split()
        if not words:
            continue
        if words[0] in ("defaults", "listen", "frontend", "backend", "global"):
            current = None
            if words[0] == "defaults":
                current = defaults_block = {"timeouts": defaults}
            elif words[0] == "listen" and len(words) > 1:
                current = listeners[words[1]] = {"timeouts": {}, "detect": 0.0,
                                                 "database": False, "rabbitmq": False}
            continue
        if current is None:
            continue
        if words[0] == "timeout" and len(words) >= 3:
            current["timeouts"][words[1]] = seconds(words[2])
        elif current is not defaults_block:
            if line.startswith("option mysql-check") or ":3306" in line:
                current["database"] = True
            if ":5672" in line or line.startswith("option amqp"):
                current["rabbitmq"] = True
            if words[0] == "server" and "check" in words:
                inter = _server_setting(words, "inter", HAPROXY_INTER_MS) / 1000
                fall = _server_setting(words, "fall", HAPROXY_FALL)
                current["detect"] = max(current["detect"], inter * fall)
    for spec in listeners.values():
        for kind in ("client", "server"):
            spec[kind] = spec["timeouts"].get(kind, defaults.get(kind, float("inf")))
    return listeners


def _server_setting(words: list[str], key: str, default: float) -> float:
    if key in words and words.index(key) + 1 < len(words):
        value = words[words.index(key) + 1]
        return seconds(value) * 1000 if key == "inter" else float(value)
    return default


def _wait_timeout(files: dict[str, str]) -> float:
    for name in ("galera.cnf", "my.cnf", "mysql.cnf"):
        match = re.search(r"^\s*wait_timeout\s*=\s*(\d+)", files.get(name, ""), re.M)
        if match:
            return float(match.group(1))
    return MARIADB_WAIT_TIMEOUT


def _ini(text: str) -> configparser.RawConfigParser | None:
    parser = configparser.RawConfigParser(strict=False, default_section="\0",
                                          interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    return parser
