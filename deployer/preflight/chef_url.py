"""The Chef server URL a node will be given, how to test it from the node, and what
to fix when the node cannot reach it.

The URL is the node's ``ChefServerUrl`` when it names one, else what a run writes
into client.rb (deployer.bootstrap.chef_config.node_facing_url): ``[chef] node_url``,
or the deployer's own URL with a loopback or wildcard host replaced by this host's
address on the SSH route to the node.  The latter is the trap: an embedded Chef
server listening on loopback (the default bind_host) is given to nodes as
``http://<this host>:<port>``, where nothing listens.
"""
from __future__ import annotations

import shlex
import urllib.parse

from deployer.bootstrap.chef_config import LOCAL_HOSTS, node_facing_url
from deployer.listeners import is_loopback
from deployer.preflight.settings import Settings

REACHED = "reached"
# curl's exit codes that say why (man curl, EXIT CODES).
_CURL_REASONS = {6: "the host name does not resolve on the node", 7: "connection refused",
                 28: "no answer within 5 s", 35: "the TLS handshake failed",
                 60: "the server's TLS certificate is not trusted by the node"}


def for_node(settings: Settings, explicit: str | None, local_address: str | None) -> str:
    if explicit:
        return explicit.rstrip("/")
    return node_facing_url(settings.chef_server_url, settings.node_url or None, local_address)


def probe_command(url: str, *, verify_tls: bool = True) -> str:
    """Prints REACHED when the node opens an HTTP(S) connection to ``url`` (any HTTP
    status counts: the server answered), else why not; curl when the node has it,
    else a TCP connection with bash's /dev/tcp."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    insecure = "" if verify_tls else "-k "
    tcp = f"exec 3<>/dev/tcp/{host}/{port}"
    return (f"if command -v curl >/dev/null 2>&1; then "
            f"code=$(curl -sS {insecure}-o /dev/null --max-time 5 -w '%{{http_code}}' "
            f"{shlex.quote(url)} 2>/dev/null); rc=$?; "
            f"if [ \"$rc\" = 0 ]; then echo {REACHED} http $code; else echo curl $rc; fi; "
            f"else if timeout 5 bash -c {shlex.quote(tcp)} 2>/dev/null; then echo {REACHED} tcp; "
            f"else echo tcp failed; fi; fi")


def reason(output: str) -> str | None:
    """None when the probe reached the server, else why it did not."""
    words = output.split()
    if words[:1] == [REACHED]:
        return None
    if words[:1] == ["curl"] and len(words) > 1 and words[1].isdigit():
        code = int(words[1])
        return _CURL_REASONS.get(code, f"curl exit status {code}")
    if words[:2] == ["tcp", "failed"]:
        return "no TCP connection within 5 s (refused, filtered or no route)"
    return f"unexpected probe output {output.strip()[:200]!r}"


def fix(settings: Settings, url: str, explicit: str | None) -> str:
    """What to change so that the node reaches the server."""
    if explicit:
        return f"make the Chef server reachable from the node at {url}, or correct the node's " \
               f"ChefServerUrl"
    own = urllib.parse.urlsplit(settings.chef_server_url).hostname or ""
    if settings.node_url:
        return f"make the Chef server reachable from the node at {url}, or correct " \
               f"[chef] node_url"
    if own in LOCAL_HOSTS and settings.chef_mode == "embedded" and is_loopback(
            settings.chef_bind_host or "127.0.0.1"):
        return (f"the embedded Chef server listens on {settings.chef_bind_host} (loopback) "
                f"only, so nodes given {url} find nothing there: set [chef] bind_host = "
                f"0.0.0.0 (or an address the nodes reach) and restart the under-cloud "
                f"(deployer undercloud down/up), or set [chef] node_url to a relay the nodes "
                f"reach")
    if own in LOCAL_HOSTS and settings.chef_mode != "embedded":
        return (f"the deployer reaches the Chef server on this host's loopback "
                f"({settings.chef_server_url}) and nodes are given {url}: make the server "
                f"listen where the nodes reach it, or set [chef] node_url")
    return f"open the way from the node to {url} (routing, firewall), or set [chef] node_url"
