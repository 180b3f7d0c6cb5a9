"""Helpers shared by the node-run integration tests."""
from __future__ import annotations

import time

from deployer.bootstrap.contract import FINAL_STATES
from deployer.client import DeployerClient

PASSWORD = "S3cret-Pw-7f1d9c"


def run_spec(node_name: str, *recipes: str, **extra) -> dict:
    """A RunSpec body for the trivial executor (tests/fixtures/api_executors.py)."""
    return {"node_name": node_name, "environment": "production",
            "run_list": ["role[primary]", *(f"recipe[test::{r}]" for r in recipes)],
            "target": {"address": "192.0.2.10", "port": 22, "user": "root",
                       "password": PASSWORD},
            **extra}


def wait_for(client: DeployerClient, run_id: str, statuses=FINAL_STATES,
             timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = client.get_run(run_id)
        if run["status"] in statuses:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} still {run['status']} after {timeout} s: {run}")
        time.sleep(0.2)


def wait_for_phase(client: DeployerClient, run_id: str, phase: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get_run(run_id)
        if run["phase"] == phase:
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} never reached phase {phase}")
