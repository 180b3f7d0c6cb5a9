"""WSGI entry point: ``gunicorn 'deployer.wsgi:create_application()'``.

Reads the deployer configuration ($DEPLOYER_CONFIG or the default lookup)
and configures logging once per worker process.
"""
from __future__ import annotations

import logging

from flask import Flask


def create_application() -> Flask:
    from deployer.api.app import create_app

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    return create_app()
