"""The files a bootstrap writes to a node: client.rb, first-boot.json and, for an
environment with secrets, the data bag item secret client.rb names.

client.rb is Ruby; every value goes in as a single-quoted Ruby string literal
(only backslash and quote need escaping there), so no value can inject code.
"""
from __future__ import annotations

import json
import urllib.parse

from deployer.chef import names

CHEF_DIR = "/etc/chef"
CLIENT_RB = f"{CHEF_DIR}/client.rb"
CLIENT_KEY = f"{CHEF_DIR}/client.pem"
FIRST_BOOT = f"{CHEF_DIR}/first-boot.json"
DATA_BAG_SECRET = f"{CHEF_DIR}/encrypted_data_bag_secret"
LOG_DIR = "/var/log/chef"
LOG_FILE = f"{LOG_DIR}/client.log"
CACHE_DIR = "/var/chef/cache"
BACKUP_DIR = "/var/chef/backup"



def _ruby_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render_client_rb(chef_server_url: str, node_name: str, *, verify_tls: bool = True,
                     data_bag_secret: bool = False) -> str:
    """client.rb for ``node_name`` talking to ``chef_server_url`` with its own key;
    ``data_bag_secret``: encrypted data bag items are opened with DATA_BAG_SECRET."""
    settings = [
        ("chef_server_url", _ruby_string(chef_server_url)),
        ("node_name", _ruby_string(names.check_node_name(node_name))),
        ("client_key", _ruby_string(CLIENT_KEY)),
        ("log_location", _ruby_string(LOG_FILE)),
        ("ssl_verify_mode", ":verify_peer" if verify_tls else ":verify_none"),
        ("file_cache_path", _ruby_string(CACHE_DIR)),
        ("file_backup_path", _ruby_string(BACKUP_DIR)),
    ]
    if data_bag_secret:
        settings.append(("encrypted_data_bag_secret", _ruby_string(DATA_BAG_SECRET)))
    width = max(len(key) for key, _ in settings)
    lines = ["# Written by the deployer's bootstrap; rewritten on every node run."]
    lines += [f"{key.ljust(width)} {value}" for key, value in settings]
    return "\n".join(lines) + "\n"


def render_first_boot(run_list: list[str]) -> str:
    """first-boot.json: the run-list chef-client applies with ``-j``."""
    return json.dumps({"run_list": names.normalize_run_list(run_list)}, indent=2) + "\n"


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0", "::")


def node_facing_url(server_url: str, node_url: str | None, local_address: str | None) -> str:
    """The Chef server URL to write into a node's client.rb.

    An explicit ``node_url`` wins.  Otherwise a URL naming this host by a
    loopback or wildcard address is useless on the node, so its host becomes
    ``local_address``: this host's address on the SSH route to the node, which
    the node can reach back.
    """
    if node_url:
        return node_url.rstrip("/")
    parts = urllib.parse.urlsplit(server_url)
    if parts.hostname not in LOCAL_HOSTS or not local_address:
        return server_url.rstrip("/")
    host = f"[{local_address}]" if ":" in local_address else local_address
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc)).rstrip("/")

