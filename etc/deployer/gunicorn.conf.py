"""Gunicorn settings for the deployer API (``deployer api serve`` uses them).

Bind address and worker count come from the deployer configuration
([api] bind_host, port, workers); command-line options override them.
"""
import os as _os

from deployer import config as _config
from deployer.listeners import exposed as _exposed

_cfg = _config.load()

wsgi_app = "deployer.wsgi:application"
bind = [f"{_cfg.api.bind_host}:{_cfg.api.port}"]
workers = _cfg.api.workers
# 8 threads, but the hot reads compute one at a time (post_worker_init below): the
# bench measured 2x8 about equal to 2x1, both 2-4x the throughput of 2x4 without it; the
# other threads serve long polls and requests that wait on Heat.
# gthread, answering gunicorn's own refusals (414, 431, 400) as problem+json.
worker_class = "deployer.api.gunicorn_worker.ProblemThreadWorker"
threads = 8
timeout = 60
graceful_timeout = 20
# Access log: method, path and status only; request bodies (passwords) never.
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss rid=%({x-request-id}o)s'
errorlog = "-"
loglevel = "info"
# The control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl),
# shared by every gunicorn on the machine; the deployer does not use it.
control_socket_disable = True


def when_ready(server):
    """Refuse to serve the unauthenticated API on an address other machines reach.

    Runs after gunicorn has bound its sockets and before any worker starts, so
    ``--bind`` from GUNICORN_CMD_ARGS or the command line is checked too.
    """
    if _cfg.api.auth_strategy != "noauth":
        return
    bound = [listener.sock.getsockname() for listener in server.LISTENERS] or server.cfg.address
    outside = _exposed(bound)
    if outside:
        server.log.error(
            "refusing to serve: [api] auth_strategy = noauth, but gunicorn is bound to %s, which "
            "other machines can reach; bind to 127.0.0.1 or set auth_strategy = keystone",
            ", ".join(outside))
        server.halt(reason="unauthenticated API bound off loopback", exit_status=3)


def post_fork(server, worker):
    """Tell the app its thread count (command-line options included): at most half
    of a worker's threads wait in long polls (deployer/api/watching.py)."""
    _os.environ["DEPLOYER_API_THREADS"] = str(server.cfg.threads)


def post_worker_init(worker):
    """One request computes at a time per worker; the other threads wait without
    contending for the GIL, or serve long polls (deployer/api/watching.py)."""
    from deployer.api.watching import OneAtATime
    worker.wsgi = OneAtATime(worker.wsgi)
