"""The real embedded Heat: stacks in HOT and CFN, the openstack CLI, restarts, clear failures."""
from __future__ import annotations

import configparser
import json
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy
from heatclient import exc as heat_exc
from heatclient.common import template_utils

from deployer.config import REPO_ROOT
from deployer.undercloud.heat import EmbeddedHeat
from deployer.undercloud.process import ProcessError, free_port
from tests.fixtures.heat import PLUGIN_DIR, client_for
from tests.fixtures.mariadb import private_mariadb
from tests.fixtures.waiting import wait_stack, wait_until

pytestmark = pytest.mark.integration

OPENSTACK_CLI = Path(sys.executable).parent / "openstack"
STACK_TIMEOUT = 60.0

HOT = {
    "heat_template_version": "2021-04-16",
    "parameters": {"greeting": {"type": "string", "default": "hello"},
                   "db_password": {"type": "string", "hidden": True}},
    "resources": {
        "token": {"type": "OS::Heat::RandomString", "properties": {"length": 12}},
        "marker": {"type": "OS::Heat::None", "depends_on": "token"},
    },
    "outputs": {
        "greeting": {"value": {"get_param": "greeting"}},
        "token": {"value": {"get_attr": ["token", "value"]}},
        "password_echo": {"value": {"get_param": "db_password"}},
    },
}

CFN = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Description": "seed-style CFN JSON",
    "Parameters": {"EnableOSDebug": {"Type": "String", "Default": "false",
                                     "AllowedValues": ["true", "false"]},
                   "AdminPassword": {"Type": "String", "NoEcho": "true"}},
    "Resources": {"control": {"Type": "OS::Heat::None"},
                  "standby": {"Type": "OS::Heat::None", "DependsOn": "control"}},
    "Outputs": {"ENABLE_DEBUG": {"Value": {"Ref": "EnableOSDebug"}},
                "STACK_NAME": {"Value": {"Ref": "AWS::StackName"}}},
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_for(client, stack_id: str, timeout: float = STACK_TIMEOUT):
    return wait_stack(client, stack_id, timeout, interval=0.2)


def wait_deleted(client, stack_id: str, timeout: float = STACK_TIMEOUT) -> str:
    stack = wait_stack(client, stack_id, timeout, gone_ok=True, interval=0.2)
    return "DELETE_COMPLETE" if stack is None else stack.stack_status


def create(client, name: str, template: dict | str, files=None, **parameters) -> str:
    created = client.stacks.create(stack_name=name, template=template, files=files or {},
                                   parameters=parameters)
    return created["stack"]["id"]


def openstack(heat: EmbeddedHeat, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(OPENSTACK_CLI), "--os-auth-type", "none", "--os-endpoint", heat.endpoint, *args],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture
def private_heat(tmp_path):
    """A Heat of this test's own (for restarts), with a plugin dir holding only __init__.py
    and an empty one: the engine must start with either."""
    only_init = tmp_path / "plugins-init"
    only_init.mkdir()
    (only_init / "__init__.py").write_text("")
    empty = tmp_path / "plugins-empty"
    empty.mkdir()
    heat = EmbeddedHeat(tmp_path / "heat", port=free_port(), plugin_dirs=[only_init, empty])
    try:
        yield heat
    finally:
        heat.stop()


def test_hot_stack_create_outputs_events_delete(embedded_heat):
    client = embedded_heat.client
    stack_id = create(client, unique("hot"), HOT, greeting="hi there", db_password="pw-1")
    stack = wait_for(client, stack_id)
    assert stack.stack_status == "CREATE_COMPLETE", stack.stack_status_reason

    outputs = {o["output_key"]: o["output_value"] for o in stack.outputs}
    assert outputs["greeting"] == "hi there"
    assert len(outputs["token"]) == 12 and outputs["token"].isalnum()
    resources = {r.resource_name: r.resource_status for r in client.resources.list(stack_id)}
    assert resources == {"token": "CREATE_COMPLETE", "marker": "CREATE_COMPLETE"}

    events = [(e.resource_name, e.resource_status)
              for e in client.events.list(stack_id, sort_dir="asc")]
    assert ("token", "CREATE_COMPLETE") in events and ("marker", "CREATE_COMPLETE") in events
    # depends_on holds: marker starts only after token completed
    assert events.index(("token", "CREATE_COMPLETE")) < events.index(("marker", "CREATE_IN_PROGRESS"))

    client.stacks.delete(stack_id)
    assert wait_deleted(client, stack_id) == "DELETE_COMPLETE"


def test_cfn_json_template_from_a_file(embedded_heat, tmp_path):
    client = embedded_heat.client
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(CFN, indent=2))
    files, template = template_utils.get_template_contents(str(path))
    name = unique("cfn")
    stack_id = create(client, name, template, files, EnableOSDebug="true", AdminPassword="x")
    stack = wait_for(client, stack_id)
    try:
        assert stack.stack_status == "CREATE_COMPLETE", stack.stack_status_reason
        assert client.stacks.output_show(stack_id, "ENABLE_DEBUG")["output"]["output_value"] == "true"
        assert client.stacks.output_show(stack_id, "STACK_NAME")["output"]["output_value"] == name
        assert stack.parameters["AdminPassword"] == "******"
    finally:
        client.stacks.delete(stack_id)
        wait_deleted(client, stack_id)


def test_bad_template_is_rejected_with_the_reason(embedded_heat):
    broken = {"heat_template_version": "2021-04-16",
              "resources": {"r": {"type": "OS::Heat::NoSuchThing"}}}
    with pytest.raises(heat_exc.HTTPBadRequest, match="OS::Heat::NoSuchThing"):
        embedded_heat.client.stacks.create(stack_name=unique("bad"), template=broken)


def test_openstack_cli_stack_list_and_resource_types(embedded_heat):
    client = embedded_heat.client
    name = unique("osc")
    stack_id = create(client, name, HOT, db_password="pw")
    try:
        wait_for(client, stack_id)
        listed = openstack(embedded_heat, "stack", "list", "-f", "json")
        assert listed.returncode == 0, listed.stderr
        assert name in {row["Stack Name"] for row in json.loads(listed.stdout)}

        types = openstack(embedded_heat, "orchestration", "resource", "type", "list", "-f", "json")
        assert types.returncode == 0, types.stderr
        names = {row["Resource Type"] for row in json.loads(types.stdout)}
        assert {"OS::Heat::RandomString", "OS::Heat::None"} <= names
    finally:
        client.stacks.delete(stack_id)
        wait_deleted(client, stack_id)


def test_restart_keeps_stacks_and_hidden_parameters_are_encrypted_at_rest(private_heat):
    private_heat.configure()
    private_heat.start()
    client = client_for(private_heat)
    secret = "pw-" + uuid.uuid4().hex
    stack_id = create(client, unique("persist"), HOT, db_password=secret)
    assert wait_for(client, stack_id).stack_status == "CREATE_COMPLETE"
    # An update with a new hidden value (stock Heat stores it in clear: our launcher's fix).
    secret = "pw-" + uuid.uuid4().hex
    client.stacks.update(stack_id, template=HOT, parameters={"db_password": secret, "greeting": "hi"})
    assert wait_for(client, stack_id).stack_status == "UPDATE_COMPLETE"
    assert client.stacks.output_show(stack_id, "password_echo")["output"]["output_value"] == secret
    private_heat.stop()
    assert not private_heat.running()
    assert secret.encode() not in private_heat.db_file.read_bytes()

    private_heat.configure()
    assert private_heat.db_sync() is False  # schema already current: no migration on restart
    private_heat.start()
    stack = client.stacks.get(stack_id)
    assert stack.stack_status == "UPDATE_COMPLETE"
    assert client.stacks.output_show(stack_id, "password_echo")["output"]["output_value"] == secret


def test_status_reports_pid_endpoint_and_memory(private_heat):
    assert private_heat.status().running is False
    started = time.monotonic()
    pid = private_heat.start()
    elapsed = time.monotonic() - started
    status = private_heat.status()
    assert status.running and status.pid == pid
    assert status.endpoint == f"http://127.0.0.1:{private_heat.port}/v1/admin"
    assert 50 * 2**20 < status.rss_bytes < 600 * 2**20
    print(f"embedded Heat start (incl. db_sync): {elapsed:.2f} s, rss {status.rss_bytes / 2**20:.0f} MiB")
    assert private_heat.stop() is True
    assert private_heat.status().running is False


def test_port_in_use_is_a_clear_error(embedded_heat, tmp_path):
    other = EmbeddedHeat(tmp_path / "other", port=embedded_heat.port)
    with pytest.raises(ProcessError, match=rf"port 127\.0\.0\.1:{embedded_heat.port} is already in use"):
        other.start()
    assert not other.running()


def test_launcher_reports_a_port_taken_after_the_check(tmp_path):
    """The race ManagedProcess cannot see: the launcher itself fails fast and exits."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        heat = EmbeddedHeat(tmp_path / "heat", port=squatter.getsockname()[1])
        conf = heat.configure()
        result = subprocess.run(
            [sys.executable, "-m", "deployer.undercloud.heat_all", "--config-file", str(conf)],
            capture_output=True, text=True, timeout=120, env=heat.env, cwd=REPO_ROOT)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{heat.port}" in result.stderr


def test_missing_plugin_dir_is_named(tmp_path):
    heat = EmbeddedHeat(tmp_path / "heat", port=free_port(), plugin_dirs=[tmp_path / "nope"])
    with pytest.raises(ProcessError, match="plugin directory .*nope does not exist"):
        heat.configure()


def test_without_heat_installed_start_says_so(tmp_path):
    """Debian's own python3 has no openstack-heat: the error must say that, not crash."""
    system_python = Path("/usr/bin/python3")
    if not system_python.is_file():
        pytest.skip("no system python3")
    probe = ("from pathlib import Path\n"
             "from deployer.undercloud.heat import EmbeddedHeat\n"
             "from deployer.undercloud.process import ProcessError\n"
             f"heat = EmbeddedHeat(Path({str(tmp_path)!r}), port=1)\n"
             "try:\n    heat.start()\nexcept ProcessError as exc:\n    print(exc)\n")
    result = subprocess.run([str(system_python), "-c", probe], capture_output=True, text=True,
                            env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
                            timeout=60)
    if "No module named" in result.stderr:
        pytest.skip(f"system python3 cannot import the deployer: {result.stderr.strip()[-200:]}")
    assert "openstack-heat package is not installed" in result.stdout, result.stderr


def test_many_parallel_resources_on_sqlite_all_complete(embedded_heat):
    """Twenty resources writing at once: with oslo.db's deferred BEGIN, SQLite refused
    most of them ("database is locked"); the launcher's BEGIN IMMEDIATE must prevent that."""
    client = embedded_heat.client
    nodes = [f"n{i}" for i in range(20)]
    # One source and one sink, so that create and delete each start from a single leaf
    # (convergence starts independent leaves one second apart).
    fan_out = {"heat_template_version": "2021-04-16",
               "resources": {"source": {"type": "OS::Heat::None"},
                             "sink": {"type": "OS::Heat::None", "depends_on": nodes},
                             **{name: {"type": "OS::Heat::TestResource", "depends_on": "source",
                                       "properties": {"action_wait_secs": {"create": 1}}}
                                for name in nodes}}}
    stack_id = create(client, unique("fan"), fan_out)
    try:
        stack = wait_for(client, stack_id)
        assert stack.stack_status == "CREATE_COMPLETE", stack.stack_status_reason
        created = [r for r in client.resources.list(stack_id) if r.resource_name in nodes]
        assert len(created) == 20 and all(r.physical_resource_id for r in created)
        assert "database is locked" not in embedded_heat.log_file.read_text()
    finally:
        client.stacks.delete(stack_id)
        wait_deleted(client, stack_id)


def test_heat_on_a_mariadb_keeps_its_stacks_there(tmp_path):
    """[heat] database_connection: the schema is migrated into MariaDB, parallel writers
    complete, the stack rows are in MariaDB and no heat.sqlite is made."""
    with private_mariadb() as url:
        heat = EmbeddedHeat(tmp_path / "heat", port=free_port(), plugin_dirs=[PLUGIN_DIR],
                            database_url=url)
        try:
            heat.start()
            client = client_for(heat)
            fan_out = {"heat_template_version": "2021-04-16",
                       "resources": {f"n{i}": {"type": "OS::Heat::TestResource",
                                               "properties": {"action_wait_secs": {"create": 1}}}
                                     for i in range(10)}}
            stack_id = create(client, unique("maria"), fan_out)
            stack = wait_for(client, stack_id)
            assert stack.stack_status == "CREATE_COMPLETE", stack.stack_status_reason
            database = sqlalchemy.create_engine(url)
            try:
                with database.connect() as db:
                    rows = db.execute(sqlalchemy.text("SELECT COUNT(*) FROM resource WHERE stack_id = :id"),
                                      {"id": stack_id}).scalar_one()
            finally:
                database.dispose()
            assert rows == 10
            assert not heat.db_file.exists()
        finally:
            heat.stop()


def test_a_database_url_with_a_dollar_reaches_heat_unchanged(tmp_path):
    """oslo.config reads $name as another option: the rendered file escapes it."""
    from oslo_config import cfg as oslo_cfg
    url = "mysql+pymysql://heat:pa$word@db.example/heat?charset=utf8"
    heat = EmbeddedHeat(tmp_path / "heat", port=18124, plugin_dirs=[PLUGIN_DIR], database_url=url)
    conf = oslo_cfg.ConfigOpts()
    conf.register_opt(oslo_cfg.StrOpt("connection", secret=True), group="database")
    conf(args=["--config-file", str(heat.configure())], project="heat-test",
         default_config_files=[], default_config_dirs=[])
    assert conf.database.connection == url
    assert heat.conf_file.stat().st_mode & 0o077 == 0


def test_restart_during_a_stack_fails_it_with_a_reason_and_update_recovers(tmp_path):
    heat = EmbeddedHeat(tmp_path / "heat", port=free_port(), plugin_dirs=[PLUGIN_DIR],
                        extra_conf={"heat_api": {"shutdown_timeout": "1"}})
    slow = {"heat_template_version": "2021-04-16",
            "resources": {"slow": {"type": "OS::Heat::TestResource",
                                   "properties": {"action_wait_secs": {"create": 300}}}}}
    quick = {"heat_template_version": "2021-04-16",
             "resources": {"slow": {"type": "OS::Heat::TestResource",
                                    "properties": {"value": "v2"}}}}
    try:
        heat.start()
        client = client_for(heat)
        stack_id = create(client, unique("inflight"), slow)
        wait_until(lambda: client.resources.get(stack_id, "slow").resource_status, 30,
                   "resource slow started", until=lambda status: status == "CREATE_IN_PROGRESS")
        heat.stop()
        heat.start()
        stack = client.stacks.get(stack_id)
        assert (stack.stack_status, stack.stack_status_reason) == \
            ("CREATE_FAILED", "Heat restarted during stack CREATE")
        assert client.resources.get(stack_id, "slow").resource_status == "CREATE_FAILED"

        client.stacks.update(stack_id, template=quick)
        assert wait_for(client, stack_id).stack_status == "UPDATE_COMPLETE"
    finally:
        heat.stop()


def test_configure_renders_extra_conf_and_keeps_the_key(tmp_path):
    heat = EmbeddedHeat(tmp_path / "heat", port=18123, plugin_dirs=[PLUGIN_DIR],
                        extra_conf={"deployer": {"api_url": "http://127.0.0.1:18100"},
                                    "DEFAULT": {"debug": "true"}})
    conf = configparser.ConfigParser(interpolation=None, default_section="-")
    conf.read(heat.configure())
    assert conf["deployer"]["api_url"] == "http://127.0.0.1:18100"
    assert conf["DEFAULT"]["debug"] == "true"  # overridden, not duplicated
    assert conf["DEFAULT"]["transport_url"] == "inproc://"
    assert conf["DEFAULT"]["plugin_dirs"] == str(PLUGIN_DIR)
    assert Path(conf["DEFAULT"]["environment_dir"], "default.yaml").is_file()
    assert conf["heat_api"]["bind_port"] == "18123"
    assert conf["database"]["connection"] == f"sqlite:///{heat.db_file}"
    token = json.loads(heat.token_file.read_text())["token"]
    heat_urls = {e["url"] for s in token["catalog"] if s["type"] == "orchestration"
                 for e in s["endpoints"]}
    assert heat_urls == {"http://127.0.0.1:18123/v1/admin"}
    for private in (heat.conf_file, heat.key_file, heat.token_file):
        assert private.stat().st_mode & 0o077 == 0, private
    key = conf["DEFAULT"]["auth_encryption_key"]
    assert len(key) == 32 and heat.key_file.read_text().strip() == key
    heat.configure()
    assert heat.key_file.read_text().strip() == key  # stable: stored secrets stay readable


@pytest.mark.parametrize("extra_conf,named", [
    ({"database": "sqlite://"}, "extra_conf['database']"),
    ({"DEFAULT": {"debug": "true\n[evil]"}}, "extra_conf['DEFAULT']['debug']"),
    ({"bad]": {}}, "bad section name"),
])
def test_bad_extra_conf_is_named(tmp_path, extra_conf, named):
    with pytest.raises(ValueError) as err:
        EmbeddedHeat(tmp_path, extra_conf=extra_conf)
    assert named in str(err.value)
