"""Deleted stacks can be purged from the embedded Heat's SQLite database.

heat-manage purge_deleted fails there (Heat reads a closed cursor); ours must
remove the soft-deleted stack with its raw template, whose parameters held a
hidden value, while Heat keeps running.
"""
from __future__ import annotations

import json
import sqlite3
import urllib.request

import pytest

from deployer.undercloud.heat import EmbeddedHeat
from deployer.undercloud.process import free_port
from tests.fixtures.waiting import wait_until

STACK_TIMEOUT = 60.0

pytestmark = [pytest.mark.integration]

TEMPLATE = {"heat_template_version": "2018-08-31",
            "parameters": {"secret": {"type": "string", "hidden": True}},
            "resources": {"r": {"type": "OS::Heat::None"}}}


def _call(url: str, method: str = "GET", body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        text = response.read()
    return json.loads(text) if text else {}


def _rows(db, sql: str) -> list:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def heat(tmp_path):
    heat = EmbeddedHeat(tmp_path / "heat", port=free_port())
    heat.start()
    yield heat
    heat.stop()


def _create(root: str, name: str, secret: str) -> str:
    created = _call(f"{root}/stacks", "POST", {"stack_name": name, "template": TEMPLATE,
                                               "parameters": {"secret": secret}})
    stack_id = created["stack"]["id"]
    wait_until(lambda: _call(f"{root}/stacks/{name}/{stack_id}")["stack"]["stack_status"] == "CREATE_COMPLETE",
               STACK_TIMEOUT, f"{name} CREATE_COMPLETE")
    return stack_id


def _delete(root: str, name: str, stack_id: str) -> None:
    _call(f"{root}/stacks/{name}/{stack_id}", "DELETE")
    wait_until(lambda: all(s["stack_name"] != name for s in _call(f"{root}/stacks")["stacks"]),
               STACK_TIMEOUT, f"{name} gone from the stack list")


def test_purge_removes_a_deleted_stack_and_its_templates_while_heat_runs(heat):
    root = heat.endpoint
    stack_id = _create(root, "gone", "s3cret-value")
    _create(root, "kept", "other")
    _delete(root, "gone", stack_id)
    soft_deleted = _rows(heat.db_file, "SELECT id, raw_template_id FROM stack WHERE deleted_at IS NOT NULL")
    assert [row[0] for row in soft_deleted] == [stack_id], "Heat keeps deleted stacks' rows until purged"
    raw_template_id = soft_deleted[0][1]

    assert heat.purge_deleted(age=0) == 1

    assert _rows(heat.db_file, f"SELECT id FROM stack WHERE id = '{stack_id}'") == []
    assert _rows(heat.db_file, f"SELECT id FROM raw_template WHERE id = {raw_template_id}") == []
    assert _rows(heat.db_file, f"SELECT count(*) FROM event WHERE stack_id = '{stack_id}'") == [(0,)]
    # The other stack and Heat itself are untouched.
    assert [s["stack_name"] for s in _call(f"{root}/stacks")["stacks"]] == ["kept"]
    assert heat.purge_deleted(age=0) == 0


def test_purge_keeps_stacks_deleted_more_recently_than_the_age(heat):
    root = heat.endpoint
    _delete(root, "recent", _create(root, "recent", "x"))
    assert heat.purge_deleted(age=1, granularity="days") == 0
    assert len(_rows(heat.db_file, "SELECT id FROM stack WHERE deleted_at IS NOT NULL")) == 1


def test_state_files_are_private(heat):
    for path in (heat.db_file, heat.log_file, heat.conf_file, heat.key_file):
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"
