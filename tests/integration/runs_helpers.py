"""Helpers shared by the node-run integration tests."""
from __future__ import annotations

from deployer.bootstrap.contract import FINAL_STATES
from deployer.client import DeployerClient
from tests.fixtures.waiting import wait_until

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
    return wait_until(lambda: client.get_run(run_id), timeout, f"run {run_id} in {statuses}",
                      until=lambda run: run["status"] in statuses)


def wait_for_phase(client: DeployerClient, run_id: str, phase: str, timeout: float = 30.0):
    return wait_until(lambda: client.get_run(run_id), timeout, f"run {run_id} in phase {phase}",
                      until=lambda run: run["phase"] == phase, interval=0.1)
