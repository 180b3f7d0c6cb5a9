"""Heat engine and Heat API in one process: the embedded under-cloud Heat.

Heat 25 and later ship no ``heat-all``, and ``heat-engine`` forks its worker
through a process launcher, so the in-memory ``fake://`` RPC transport could
never connect a separate API process to it.  This launcher therefore starts
``EngineService`` in-process (never ``oslo_service.service.launch``) and
serves the ``heat-api`` paste pipeline from the same process with a threaded
WSGI server (Werkzeug's, already installed with Flask: HTTP/1.1 keep-alive and
chunked bodies, unlike wsgiref).

Run it as ``python -m deployer.undercloud.heat_all --config-file heat.conf``;
``deployer.undercloud.heat.EmbeddedHeat`` does that and writes the file.
SIGTERM or SIGINT stops the API first, then gives the engine
``[heat_api] shutdown_timeout`` seconds to finish its stack threads (stacks
still in progress are failed by Heat itself at the next start).
"""
from __future__ import annotations

import logging as std_logging
import os
import signal
import socket
import sys
import threading
import traceback
import warnings

# futurist and oslo.service still import eventlet; its deprecation banner is noise here.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from oslo_service import backend  # noqa: E402

backend.init_backend(backend.BackendType.THREADING)

from oslo_config import cfg  # noqa: E402
from oslo_log import log as logging  # noqa: E402
from werkzeug import serving  # noqa: E402

from heat import version  # noqa: E402
from heat.common import config as heat_config  # noqa: E402
from heat.common import messaging  # noqa: E402
from heat.engine import template  # noqa: E402
from heat.rpc import api as rpc_api  # noqa: E402

API_GROUP = "heat_api"
API_OPTS = [
    cfg.HostAddressOpt("bind_host", default="127.0.0.1",
                       help="Address the Heat API listens on."),
    cfg.PortOpt("bind_port", default=8004, help="Port the Heat API listens on."),
    cfg.IntOpt("shutdown_timeout", default=10, min=0,
               help="Seconds the engine may take to stop its stack threads on SIGTERM."),
]

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
    conf(argv, project="heat", prog="heat-all",
         version=version.version_info.version_string())
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

    api = conf[API_GROUP]
    server = _bind_api(api.bind_host, api.bind_port)
    engine = engine_service.EngineService(conf.host, rpc_api.ENGINE_TOPIC)
    engine.start()
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
    except Exception:  # noqa: BLE001 - reported, then the process must still exit
        LOG.exception("heat-all failed")
        traceback.print_exc()
        code = 1
    std_logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # Heat's RPC executor threads are not daemons; they must not keep a stopped server alive.
    os._exit(code)


if __name__ == "__main__":
    main()
