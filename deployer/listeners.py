"""The rule that a server without authentication is reachable from this host only.

Checked on the socket a server really bound, not only on its configuration:
gunicorn also takes ``--bind`` from ``GUNICORN_CMD_ARGS`` or its command line,
and a wildcard or outside address would serve the unauthenticated API to every
network the host is on (test nodes included).
"""
from __future__ import annotations

import ipaddress
from typing import Iterable


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposed(addresses: Iterable[object]) -> list[str]:
    """The addresses among ``addresses`` that other machines can reach.

    Each is a socket address as ``getsockname()`` returns it ((host, port, ...)
    for TCP, a path for a Unix socket, which is local by nature) or a
    ``host:port`` string.
    """
    outside = []
    for address in addresses:
        if isinstance(address, (tuple, list)):
            host, port = address[0], address[1]
        elif isinstance(address, str) and not address.startswith(("/", "unix:")):
            host, _, port = address.rpartition(":")
        else:
            continue
        if not is_loopback(str(host)):
            outside.append(f"{host}:{port}")
    return outside
