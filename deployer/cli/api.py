"""``deployer api serve|migrate`` and ``deployer worker``.

``api serve`` replaces itself with gunicorn (so a supervisor or the
under-cloud launcher manages the real server process); ``worker`` runs the
node-run worker (which also runs failover certifications) in the foreground
until SIGTERM/SIGINT.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from deployer.config import REPO_ROOT, Config

GUNICORN_CONF_LOCATIONS = (Path("/etc/deployer/gunicorn.conf.py"),
                           REPO_ROOT / "etc" / "deployer" / "gunicorn.conf.py")


def register(subparsers) -> None:
    api = subparsers.add_parser("api", help="the deployer REST API")
    api_commands = api.add_subparsers(dest="api_command", required=True, metavar="ACTION")
    serve = api_commands.add_parser("serve", help="serve the API with gunicorn (foreground)")
    serve.set_defaults(func=serve_api)
    migrate = api_commands.add_parser("migrate", help="create or upgrade the database schema")
    migrate.set_defaults(func=migrate_db)

    from deployer.runs.executor import DEFAULT_FACTORY
    worker = subparsers.add_parser("worker", help="execute node runs and certifications "
                                                 "(foreground)")
    worker.add_argument("--executor", default=DEFAULT_FACTORY, metavar="MODULE:FACTORY",
                        help="factory of the run executor (default: the SSH bootstrap runner)")
    worker.add_argument("--worker-id", help="name in runs and logs (default: host:pid)")
    worker.set_defaults(func=run_worker)


def serve_api(args: argparse.Namespace) -> int:
    cfg: Config = args.config_obj
    conf = next((path for path in GUNICORN_CONF_LOCATIONS if path.is_file()), None)
    from deployer.cli.main import UserError
    if conf is None:
        raise UserError("gunicorn.conf.py not found in "
                        + " or ".join(str(p) for p in GUNICORN_CONF_LOCATIONS))
    from deployer.api.auth import check_settings
    check_settings(cfg)   # one clear line now rather than a gunicorn worker traceback
    env = dict(os.environ, DEPLOYER_STATE_DIR=str(cfg.state_dir))
    if cfg.source:
        env["DEPLOYER_CONFIG"] = cfg.source
    argv = [sys.executable, "-m", "gunicorn", "--config", str(conf)]
    os.execve(sys.executable, argv, env)
    return 0  # not reached


def migrate_db(args: argparse.Namespace) -> int:
    from deployer.db.migrate import upgrade
    cfg: Config = args.config_obj
    upgrade(cfg)
    print(f"database at {_safe_url(cfg.database_url)} is up to date")
    return 0


def run_worker(args: argparse.Namespace) -> int:
    from deployer.cli.main import UserError
    from deployer.db.session import make_engine, make_session_factory
    from deployer.runs.executor import load_executor
    from deployer.secrets import SecretBox
    from deployer.runs.worker import Worker

    cfg: Config = args.config_obj
    # paramiko logs every SFTP channel at INFO; runs report their own progress.
    logging.getLogger("paramiko").setLevel(logging.WARNING)
    try:
        executor = load_executor(args.executor, cfg)
    except (ImportError, AttributeError, ValueError) as exc:
        raise UserError(f"worker: {exc}") from None
    worker = Worker(make_session_factory(make_engine(cfg.database_url)),
                    SecretBox.in_dir(cfg.api_dir), executor, max_runs=cfg.run_slots,
                    timings=cfg.runs, worker_id=args.worker_id, cfg=cfg)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    worker.run(stop)
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)
