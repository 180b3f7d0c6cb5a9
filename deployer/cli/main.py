"""Entry point of the ``deployer`` command: one sub-command group per module.

Each module in COMMAND_MODULES exposes ``register(subparsers)`` which adds its
group and sets ``func`` on the parsed arguments.  Errors that are the user's
to fix (configuration, a port in use, a missing package) are printed as one
line naming the cause, with exit status 2; anything else is a bug and keeps
its traceback.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from deployer import config as config_mod

COMMAND_MODULES = (
    "deployer.cli.undercloud",
    "deployer.cli.testnodes",
    "deployer.cli.api",
    "deployer.cli.deployments",
    "deployer.cli.certify",
)


class UserError(Exception):
    """Raised by commands for errors the user can fix; printed without traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deployer",
        description="Under-cloud deployer: Heat + Chef deployments of HA OpenStack over-clouds.")
    parser.add_argument("--config", help="deployer.conf to read (default: $DEPLOYER_CONFIG, "
                        "<state_dir>/deployer.conf, /etc/deployer/deployer.conf)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from deployer.undercloud.process import ProcessError
    try:
        args.config_obj = config_mod.load(args.config)
        return int(args.func(args) or 0)
    except (UserError, config_mod.ConfigError, ProcessError) as exc:
        print(f"deployer: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
