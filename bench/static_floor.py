"""The floor for bench/api_latency.py: a bare Flask app that serves stored bytes.

gunicorn runs it with the same worker/thread layout as the deployer API; it
answers GET /v1/deployments and GET /v1/deployments/<id> with the exact JSON
the API gave (files list.json and detail.json in $BENCH_FLOOR_DIR), so the
difference is everything the API does beyond HTTP, Flask and the bytes.
"""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response

_dir = Path(os.environ["BENCH_FLOOR_DIR"])
_list = (_dir / "list.json").read_bytes()
_detail = (_dir / "detail.json").read_bytes()

app = Flask(__name__)


@app.get("/v1/deployments")
def deployments():
    return Response(_list, mimetype="application/json")


@app.get("/v1/deployments/<deployment_id>")
def deployment(deployment_id):
    return Response(_detail, mimetype="application/json")
