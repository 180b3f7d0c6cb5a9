"""``deployer undercloud up|down|status``: the embedded under-cloud by hand."""
from __future__ import annotations

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


def _up(args) -> int:
    cfg = args.config_obj
    undercloud = Undercloud(cfg)
    timings = undercloud.up(sync_content=not args.no_sync)
    print(f"under-cloud up in {sum(timings.values()):.1f} s (state in {cfg.state_dir})")
    _print_status(undercloud)
    print(f"\nTry: openstack --os-auth-type none --os-endpoint {cfg.heat.embedded_endpoint} stack list")
    return 0


def _down(args) -> int:
    Undercloud(args.config_obj).down()
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
