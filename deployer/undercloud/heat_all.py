"""Heat engine and Heat API in one process: the embedded under-cloud Heat.

Heat 25 and later ship no ``heat-all``, and ``heat-engine`` forks its worker
through a process launcher, so an in-memory RPC transport (``inproc://``, see
inproc_transport.py) could never connect a separate API process to it.  This launcher therefore starts
``EngineService`` in-process (never ``oslo_service.service.launch``) and
serves the ``heat-api`` paste pipeline from the same process with a threaded
WSGI server (Werkzeug's, already installed with Flask: HTTP/1.1 keep-alive and
chunked bodies, unlike wsgiref).

Run it as ``python -m deployer.undercloud.heat_all --config-file heat.conf``;
``deployer.undercloud.heat.EmbeddedHeat`` does that and writes the file.
SIGTERM or SIGINT stops the API first, then gives the engine
``[heat_api] shutdown_timeout`` seconds to finish its stack threads; stacks
still in progress then are marked FAILED at the next start.

What differs from a stock Heat, all for this single-process set-up: RPC is
in-memory and event-driven (``inproc://``); the schema is migrated here at
start (``_migrate_schema``); SQLite transactions begin IMMEDIATE (see
``_serialize_sqlite_transactions``); orphaned convergence stacks are failed at
start (``_fail_orphaned_stacks``); the noauth API refuses to listen where
other machines reach it (``_refuse_unauthenticated_exposure``); and hidden
parameters are encrypted whenever a template is stored, not only the first time
(``_encrypt_hidden_parameters_on_every_store``).
"""
from __future__ import annotations

import logging as std_logging
import os
import signal
import socket
import sys
import threading
import warnings

# futurist and oslo.service still import eventlet; its deprecation banner is noise here.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from oslo_service import backend  # noqa: E402

backend.init_backend(backend.BackendType.THREADING)

from oslo_config import cfg  # noqa: E402
from oslo_log import log as logging  # noqa: E402
import sqlalchemy  # noqa: E402
from werkzeug import serving  # noqa: E402

from heat import version  # noqa: E402
from heat.common import config as heat_config  # noqa: E402
from heat.common import messaging  # noqa: E402
from heat.engine import template  # noqa: E402
from heat.rpc import api as rpc_api  # noqa: E402

from deployer.listeners import exposed  # noqa: E402
from deployer.undercloud import inproc_transport  # noqa: E402

API_GROUP = "heat_api"
API_OPTS = [
    cfg.HostAddressOpt("bind_host", default="127.0.0.1",
                       help="Address the Heat API listens on."),
    cfg.PortOpt("bind_port", default=8004, help="Port the Heat API listens on."),
    cfg.IntOpt("shutdown_timeout", default=10, min=0,
               help="Seconds the engine may take to stop its stack threads on SIGTERM."),
]

SQLITE_BUSY_TIMEOUT_MS = 30_000
QUIET_LOGGERS = ["werkzeug=WARN", "heat.engine.environment=ERROR"]

LOG = logging.getLogger("heat-all")


class LauncherError(Exception):
    """Start-up failed for a reason the operator can fix; the message says which."""


def _parse_config(argv: list[str]) -> cfg.ConfigOpts:
    conf = cfg.CONF
    conf.register_opts(API_OPTS, group=API_GROUP)
    logging.register_options(conf)
    # Werkzeug logs every request (Heat's request_id middleware already does), and the
    # environment lists ~250 built-in and ~40 hidden resource types at every start.
    logging.set_defaults(default_log_levels=logging.get_default_log_levels() + QUIET_LOGGERS)
    try:
        conf(argv, project="heat", prog="heat-all",
             version=version.version_info.version_string())
    except cfg.Error as exc:
        raise LauncherError(f"configuration: {exc}") from None
    logging.setup(conf, "heat-all")
    return conf


def _check_installation() -> None:
    try:
        names = template._get_template_extension_manager().names()
    except template.TemplatePluginNotRegistered as exc:
        raise LauncherError(str(exc)) from None
    if not names:
        raise LauncherError("no Heat template format plugins are registered; "
                            "is openstack-heat installed in this environment?")


def _bind_api(host: str, port: int) -> serving.BaseWSGIServer:
    """Bind before the engine starts, so a taken port fails fast and cleanly.

    Werkzeug would print and sys.exit() on a bind error, so the socket is bound
    here and handed over by file descriptor.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(serving.LISTEN_QUEUE)
        except OSError as exc:
            raise LauncherError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        # Werkzeug duplicates the descriptor; ours is closed when this block ends.
        return serving.ThreadedWSGIServer(host, port, app=None, fd=sock.fileno())


def _refuse_unauthenticated_exposure(conf: cfg.ConfigOpts, server: serving.BaseWSGIServer) -> None:
    """The noauth pipeline trusts every caller: it may only be reachable from this host."""
    if conf.paste_deploy.flavor != "noauth":
        return
    outside = exposed([server.socket.getsockname()])
    if outside:
        raise LauncherError(
            f"the Heat API runs without authentication ([paste_deploy] flavor = noauth) and "
            f"would listen on {', '.join(outside)}, which other machines (test nodes included) "
            f"reach; bind it to 127.0.0.1 ([heat] bind_host) or run a Heat with Keystone")


def _serialize_sqlite_transactions() -> None:
    """Make Heat's SQLite transactions take the write lock when they begin.

    oslo.db begins SQLite transactions with a deferred ``BEGIN``; when two
    engine threads both read and then write, SQLite refuses one of them at
    once with "database is locked" (deadlock avoidance: no busy wait), and Heat
    then loses writes such as a resource's physical id.  ``BEGIN IMMEDIATE``
    makes the later transaction wait for the earlier one instead.  oslo.db's
    own begin listener is replaced (it cannot be ordered after ours); its
    commit/rollback listeners still clear ``conn.info["in_transaction"]``.
    """
    from heat.db import api as db_api

    engine = db_api.get_engine()
    if engine.dialect.name != "sqlite":
        return
    oslo_begin = [fn for fn in engine.dispatch.begin
                  if getattr(fn, "__name__", "") == "_sqlite_emit_begin"]
    if len(oslo_begin) != 1:
        LOG.warning("oslo.db's SQLite begin listener not found; keeping deferred transactions")
        return
    sqlalchemy.event.remove(engine, "begin", oslo_begin[0])

    @sqlalchemy.event.listens_for(engine, "connect")
    def _wait_for_the_lock(dbapi_connection, _record):
        dbapi_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")

    @sqlalchemy.event.listens_for(engine, "begin")
    def _begin_immediate(connection):
        if "in_transaction" not in connection.info:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            connection.info["in_transaction"] = True


def _fail_orphaned_stacks(engine) -> None:
    """Fail convergence stacks left IN_PROGRESS by a previous run of this process.

    Heat resets such stacks only for the legacy engine.  With an in-memory transport this
    process is the only engine there can be, so at start nothing is working on
    them: without this they would stay IN_PROGRESS until someone cancels them.
    """
    from heat.common import context
    from heat.engine import stack as parser
    from heat.objects import stack as stack_object

    admin = context.get_admin_context()
    orphans = stack_object.Stack.get_all(
        admin, filters={"status": parser.Stack.IN_PROGRESS, "convergence": True},
        show_nested=True)
    for db_stack in orphans:
        stack = parser.Stack.load(context.get_admin_context(), stack_id=db_stack.id)
        if stack.status != stack.IN_PROGRESS:  # already failed with its root stack
            continue
        LOG.warning("stack %s (%s) was %s_IN_PROGRESS when Heat stopped; marking it FAILED",
                    stack.name, stack.id, stack.action)
        engine.worker_service.stop_traversal(stack)
        stack.reset_stack_and_resources_in_progress(
            f"Heat restarted during stack {stack.action}")


def _migrate_schema() -> None:
    """Bring Heat's schema to the installed head before the engine touches it.

    Done here rather than by a separate ``heat-manage db_sync`` process, which
    would import Heat a second time on every cold start; at the head it is a
    version check only.  Runs before the engine starts and before
    ``_serialize_sqlite_transactions`` (alembic holds one connection's
    transaction while it opens another, which BEGIN IMMEDIATE would lock out).
    """
    from heat.db import migration
    try:
        migration.db_sync()
    except Exception as exc:  # noqa: BLE001 - any failure stops the start, with its cause
        raise LauncherError(f"database migration failed: {exc}") from exc


def _encrypt_hidden_parameters_on_every_store() -> None:
    """Stock Heat encrypts hidden parameters only when a stack's first template is stored
    (Stack.store); an update stores the merged parameters again in clear
    (Stack._merge_user_param_template), so a new SSH password would sit in heat.sqlite.
    One idempotent encryption now runs at Heat's own place and before every template
    store: a value already encrypted (crypt.encrypt's (method, data) pair) is left as it
    is, where Heat's own would encrypt it twice; the name list is no guide, a template
    loaded from the database keeps it over decrypted values.  Stored templates are
    decrypted when loaded, as before."""
    from heat.common import crypt
    from heat.objects import raw_template

    def encrypted(value) -> bool:
        return (isinstance(value, (list, tuple)) and len(value) == 2
                and value[0] in ("cryptography_decrypt_v1", "oslo_decrypt_v1"))

    def encrypt_hidden_parameters(tmpl) -> None:
        if not cfg.CONF.encrypt_parameters_and_properties:
            return
        schemata = tmpl.param_schemata()
        env = tmpl.env
        for name, value in list(env.params.items()):
            schema = schemata.get(name)
            if schema is None or not schema.hidden:
                continue
            if not encrypted(value):
                env.params[name] = crypt.encrypt(value)
            if name not in env.encrypted_param_names:
                env.encrypted_param_names.append(name)

    original_store = template.Template.store

    def store(self, context):
        encrypt_hidden_parameters(self)
        return original_store(self, context)

    raw_template.RawTemplate.encrypt_hidden_parameters = classmethod(
        lambda _cls, tmpl: encrypt_hidden_parameters(tmpl))
    template.Template.store = store


def _stop_engine(engine, timeout: float) -> None:
    stopper = threading.Thread(target=engine.stop, name="engine-stop", daemon=True)
    stopper.start()
    stopper.join(timeout)
    if stopper.is_alive():
        LOG.warning("engine did not stop within %s s; exiting anyway", timeout)


def run(argv: list[str]) -> int:
    conf = _parse_config(argv)
    _check_installation()
    messaging.setup()
    # Importing the engine service registers options (auth_encryption_key, ...)
    # that the sanity check reads.
    from heat.engine import service as engine_service
    heat_config.startup_sanity_check()
    _migrate_schema()
    _serialize_sqlite_transactions()
    _encrypt_hidden_parameters_on_every_store()

    api = conf[API_GROUP]
    server = _bind_api(api.bind_host, api.bind_port)
    _refuse_unauthenticated_exposure(conf, server)
    engine = engine_service.EngineService(conf.host, rpc_api.ENGINE_TOPIC)
    engine.start()
    if conf.transport_url.startswith(inproc_transport.SCHEMES):
        _fail_orphaned_stacks(engine)
    server.app = heat_config.load_paste_app("heat-api")

    def request_stop(signum, _frame):
        LOG.info("signal %s received, stopping", signum)
        # shutdown() waits for serve_forever() to return, which runs in this very thread.
        threading.Thread(target=server.shutdown, name="api-stop", daemon=True).start()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    LOG.info("Heat %s engine and API listening on http://%s:%s",
             version.version_info.version_string(), api.bind_host, server.port)
    server.serve_forever()
    _stop_engine(engine, api.shutdown_timeout)
    messaging.cleanup()
    LOG.info("stopped")
    return 0


def main(argv: list[str] | None = None) -> None:
    try:
        code = run(sys.argv[1:] if argv is None else argv)
    except LauncherError as exc:
        LOG.error("%s", exc)
        print(f"heat-all: {exc}", file=sys.stderr)
        code = 2
    except Exception as exc:  # noqa: BLE001 - reported, then the process must still exit
        LOG.exception("heat-all failed")
        print(f"heat-all: failed: {exc!r} (traceback in the Heat log)", file=sys.stderr)
        code = 1
    std_logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # Heat's RPC executor threads are not daemons; they must not keep a stopped server alive.
    os._exit(code)


if __name__ == "__main__":
    main()
