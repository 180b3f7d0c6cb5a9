"""``deployer undercloud up|down|status``: the embedded under-cloud by hand."""
from __future__ import annotations

import time

from deployer.undercloud.manager import Undercloud


def register(subparsers) -> None:
    parser = subparsers.add_parser("undercloud", help="start, stop or inspect the embedded under-cloud")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser("up", help="start the Chef server, the deployer API and worker, and Heat")
    up.add_argument("--no-sync", action="store_true",
                    help="do not upload the shipped cookbooks and roles to the Chef server")
    up.set_defaults(func=_up)
    actions.add_parser("down", help="stop everything 'up' started").set_defaults(func=_down)
    actions.add_parser("status", help="what runs where").set_defaults(func=_status)
    purge = actions.add_parser("purge-deleted",
                               help="remove deleted stacks' rows (templates, events) from Heat's database")
    purge.add_argument("--age", type=int, default=0, help="only stacks deleted at least this long ago")
    purge.add_argument("--granularity", choices=("days", "hours", "minutes", "seconds"), default="days")
    purge.set_defaults(func=_purge_deleted)


def _up(args) -> int:
    cfg = args.config_obj
    undercloud = Undercloud(cfg)
    started = time.monotonic()
    undercloud.up(sync_content=not args.no_sync)   # parts start side by side: wall time, not a sum
    print(f"under-cloud up in {time.monotonic() - started:.1f} s (state in {cfg.state_dir})")
    _print_status(undercloud)
    print(f"\nTry: openstack --os-auth-type none --os-endpoint {cfg.heat.embedded_endpoint} stack list")
    return 0


def _down(args) -> int:
    Undercloud(args.config_obj).down()
    return 0


def _purge_deleted(args) -> int:
    from deployer.cli.main import UserError
    if args.age < 0:
        raise UserError("--age: expected 0 or more")
    undercloud = Undercloud(args.config_obj)
    if args.config_obj.heat.mode != "embedded":
        raise UserError("purge-deleted works on the embedded Heat; for a remote Heat run "
                        "heat-manage purge_deleted where it runs")
    heat = undercloud.heat()
    if not heat.conf_file.is_file():
        raise UserError(f"no embedded Heat in {args.config_obj.state_dir} (run 'deployer undercloud up' once)")
    print(f"purged {heat.purge_deleted(args.age, args.granularity)} deleted stack(s)")
    return 0


def _status(args) -> int:
    rows = Undercloud(args.config_obj).status()
    _print_rows(rows)
    return 0 if all(row.running for row in rows) else 3


def _print_status(undercloud: Undercloud) -> None:
    _print_rows(undercloud.status())


def _print_rows(rows) -> None:
    print(f"{'COMPONENT':<26} {'STATE':<8} {'PID':>7} {'RSS MB':>7}  ENDPOINT")
    for row in rows:
        state = row.note or ("running" if row.running else "stopped")
        pid = str(row.pid) if row.pid else "-"
        rss = f"{row.rss_bytes / 2**20:.0f}" if row.rss_bytes else "-"
        print(f"{row.name:<26} {state:<8} {pid:>7} {rss:>7}  {row.endpoint}")
