"""Config lint of what the cookbooks render, before any node converges:

- options.py: every option of an OpenStack service's file against that service's own
  option schema (the namespaces Debian's packages register);
- timeouts.py: timeouts of one layer against the next (HAProxy, MariaDB, oslo.db,
  oslo.messaging, keepalived), each mismatch with the failure it causes.

``lint(files)`` takes the rendered files by name (``nova.conf``, ``haproxy.cfg``...)
and returns findings; an error fails the lint, a warning is shown.
"""
from __future__ import annotations

from deployer.lint import options, timeouts
from deployer.lint.findings import ERROR, WARNING, Finding

__all__ = ["ERROR", "WARNING", "Finding", "lint"]


def lint(files: dict[str, str]) -> list[Finding]:
    return [*options.check(files), *timeouts.check(files)]
