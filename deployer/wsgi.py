"""WSGI entry point: ``gunicorn deployer.wsgi:application``.

Gunicorn imports this module in each worker after forking, so every worker
builds its own app (and its own database connections).  The configuration
comes from $DEPLOYER_CONFIG / $DEPLOYER_STATE_DIR or the default lookup.
"""
from __future__ import annotations

import logging

from deployer.api.app import create_app

logging.basicConfig(level=logging.INFO,
                    format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
application = create_app()
