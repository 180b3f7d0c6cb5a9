"""Gunicorn settings for the deployer API (``deployer api serve`` uses them).

Bind address and worker count come from the deployer configuration
([api] bind_host, port, workers); command-line options override them.
"""
from deployer import config as _config

_cfg = _config.load()

wsgi_app = "deployer.wsgi:application"
bind = [f"{_cfg.api.bind_host}:{_cfg.api.port}"]
workers = _cfg.api.workers
# Threads let one worker serve polls while another request waits on the DB.
worker_class = "gthread"
threads = 4
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
