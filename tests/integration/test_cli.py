"""The real ``deployer`` command (subprocess) against the real API, Heat, Chef server and test nodes."""
from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from deployer.certify import service as certifications
from deployer.db.session import make_engine, make_session_factory
from deployer.runs import liveness
from deployer.runs import service as runs_service
from deployer.undercloud.process import free_port
from tests.fixtures.waiting import wait_until
from tests.integration.certification_helpers import deployment_row, outcome, recorded_node_set
from tests.integration.deployment_helpers import TEMPLATE, delete_deployment, node_parameters

pytestmark = [pytest.mark.integration]

DEPLOYER = Path(sys.executable).with_name("deployer")
COMMAND_TIMEOUT = 300


def deployer(api_url: str, *argv: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess:
    """Run the CLI with its output captured and no input (so neither is a TTY)."""
    return subprocess.run([str(DEPLOYER), *argv], env=cli_env(api_url), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def cli_env(api_url: str) -> dict:
    env = {**os.environ, "DEPLOYER_API_URL": api_url}
    env.pop("OS_TOKEN", None)
    return env


def parameter_args(parameters: dict[str, str]) -> list[str]:
    return [arg for key, value in parameters.items() for arg in ("-p", f"{key}={value}")]


@pytest.fixture
def api_url(undercloud) -> str:
    return undercloud.cfg.api.url


def test_create_wait_shows_progress_lines_then_outputs_and_the_other_commands_work(
        undercloud, api_url, test_nodes_factory):
    nodes = test_nodes_factory(3).nodes()
    name = f"cli-{uuid.uuid4().hex[:6]}"
    created = deployer(api_url, "create", name, "-t", TEMPLATE, "--wait",
                       *parameter_args(node_parameters(nodes, converge_seconds=3)))
    api = undercloud.api()
    deployment_id = None
    try:
        assert created.returncode == 0, created.stderr + created.stdout
        lines = created.stdout.splitlines()
        deployment_id = re.search(r"id (\S+)", lines[0]).group(1)
        # Line-by-line history (not a TTY): control converging in step 1, then succeeded.
        assert any(re.search(r"step 1 \S+-control \(%s\): converge" % re.escape(nodes[0].ip), line)
                   for line in lines), created.stdout
        succeeded = [line for line in lines if re.search(r"step \d \S+ \([\d.]+\): succeeded", line)]
        assert len(succeeded) == 3, created.stdout
        assert not any("\x1b[" in line for line in lines), "cursor movement on a non-TTY"
        outputs = lines[lines.index("outputs:"):]
        assert outputs[-2:] == [f"  CONTROL_ADDRESS = {nodes[0].ip}",
                                "  NETWORK_MANAGER = nova.network.manager.FlatDHCPManager"], outputs

        listed = deployer(api_url, "list", "--status", "complete")
        assert listed.returncode == 0, listed.stderr
        row = next(line for line in listed.stdout.splitlines() if line.startswith(deployment_id))
        assert name in row and "complete" in row and "CREATE_COMPLETE" in row

        shown = deployer(api_url, "show", name)       # by name
        assert shown.returncode == 0, shown.stderr
        assert "step 1:\n  control:" in shown.stdout and "step 2 (in parallel):" in shown.stdout
        assert "not-shown-anywhere" not in shown.stdout
        as_json = json.loads(deployer(api_url, "show", deployment_id, "--json").stdout)
        assert as_json["id"] == deployment_id and as_json["state"] == "complete"

        events = deployer(api_url, "events", deployment_id)
        assert events.returncode == 0, events.stderr
        assert "compute" in events.stdout and "CREATE_COMPLETE" in events.stdout

        log = deployer(api_url, "logs", deployment_id, "control")
        assert log.returncode == 0, log.stderr
        assert "stand-in" in (log.stdout + log.stderr).lower()

        updated = deployer(api_url, "update", name, "--wait",
                           "-p", "NetworkManager=nova.network.manager.VlanManager")
        assert updated.returncode == 0, updated.stderr + updated.stdout
        assert "UPDATE_COMPLETE" in updated.stdout, updated.stdout
        assert updated.stdout.rstrip().endswith(
            "NETWORK_MANAGER = nova.network.manager.VlanManager"), updated.stdout

        environment = deployer(api_url, "environments", name)
        assert environment.returncode == 0, environment.stderr
        assert json.loads(environment.stdout)["default_attributes"]["network"] == {
            "network_manager": "nova.network.manager.VlanManager"}

        deleted = deployer(api_url, "delete", deployment_id, "--wait")
        assert deleted.returncode == 0, deleted.stderr + deleted.stdout
        assert "delete accepted" in deleted.stdout
        gone = api.get_deployment(deployment_id)
        assert gone["state"] == "deleted"
        gone_environment = deployer(api_url, "environments", name)
        assert gone_environment.returncode == 2 and "HTTP 404" in gone_environment.stderr
    finally:
        if deployment_id:
            delete_deployment(api, deployment_id)


def test_watch_on_a_terminal_redraws_the_view_in_place(undercloud, api_url, test_nodes_factory):
    nodes = test_nodes_factory(3).nodes()
    api = undercloud.api()
    name = f"tty-{uuid.uuid4().hex[:6]}"
    deployment = api.create_deployment({"name": name, "template": TEMPLATE,
                                        "parameters": node_parameters(nodes, converge_seconds=3)})
    try:
        status, screen = run_on_terminal([str(DEPLOYER), "watch", name],
                                         {**os.environ, "DEPLOYER_API_URL": api_url})
        assert status == 0, screen
        assert "\x1b[1A" in screen or "\x1b[2K" in screen, "no in-place redraw"
        last_frame = screen[screen.rindex(f"{name}: "):]
        assert f"{name}: complete (CREATE_COMPLETE), 3/3 nodes done" in last_frame
        assert last_frame.count("succeeded") == 3
        assert re.search(rf"^1 +{name}-control ", last_frame, re.M), last_frame
        assert re.search(rf"^2 +{name}-(compute|standby) ", last_frame, re.M), last_frame
    finally:
        delete_deployment(api, deployment["id"])


def run_on_terminal(argv: list[str], env: dict, answer: str | None = None) -> tuple[int, str]:
    """Run ``argv`` with a pseudo-terminal as stdout; returns (exit status, all output).

    With ``answer``, the terminal is its stdin too and ``answer`` is typed at its [y/N] prompt.
    """
    import pty
    primary, secondary = pty.openpty()
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL if answer is None else secondary,
                               stdout=secondary, stderr=secondary,
                               env={**env, "COLUMNS": "120", "TERM": "xterm"})
    os.close(secondary)
    screen, answered = b"", answer is None
    try:
        while True:
            try:
                data = os.read(primary, 65536)
            except OSError:        # EIO: the child closed the terminal
                break
            if not data:
                break
            screen += data
            if not answered and b"[y/N]" in screen:
                os.write(primary, answer.encode() + b"\n")
                answered = True
        return process.wait(timeout=COMMAND_TIMEOUT), screen.decode(errors="replace")
    finally:
        os.close(primary)
        if process.poll() is None:
            process.kill()


def test_plan_prints_steps_and_the_rendered_environment(api_url, test_nodes_factory):
    nodes = test_nodes_factory(3).nodes()
    result = deployer(api_url, "plan", f"plan-{uuid.uuid4().hex[:6]}", "-t", TEMPLATE,
                      "-p", "NetworkManager=nova.network.manager.VlanManager",
                      *parameter_args(node_parameters(nodes)))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.index("step 1:") < out.index("control") < out.index("step 2 (in parallel):")
    step2 = out[out.index("step 2"):out.index("chef environment:")]
    assert "standby" in step2 and "compute" in step2 and "role[sco-test-compute]" in step2
    environment = json.loads(out[out.index("chef environment:") + len("chef environment:"):])
    assert environment["default_attributes"]["network"]["network_manager"].endswith("VlanManager")


def test_bad_input_is_one_line_naming_the_field(undercloud, api_url, test_nodes_factory):
    nodes = test_nodes_factory(3).nodes()
    result = deployer(api_url, "create", f"bad-{uuid.uuid4().hex[:6]}", "-t", TEMPLATE,
                      "-p", "NetworkManager=nova.network.manager.NoSuchManager",
                      *parameter_args(node_parameters(nodes)))
    assert result.returncode == 2
    assert result.stderr.startswith("deployer: error: parameters.NetworkManager:"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr

    unknown = deployer(api_url, "create", "x", "-t", "no-such-template")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("deployer: error: template:"), unknown.stderr

    malformed = deployer(api_url, "create", "x", "-t", TEMPLATE, "-p", "NoEqualsSign")
    assert malformed.returncode == 2 and "KEY=VALUE" in malformed.stderr

    missing = deployer(api_url, "show", f"none-{uuid.uuid4().hex[:6]}")
    assert missing.returncode == 2 and "no deployment" in missing.stderr


def test_hidden_parameters_never_come_from_argv(api_url, tmp_path):
    """``-p AdminPassword=...`` would show the secret in ps: refused, naming the ways
    that do not (--secret from the environment or a prompt, --secret-file)."""
    secret = f"argv-secret-{uuid.uuid4().hex[:8]}"
    unreachable = {"NodeAddresses": "192.0.2.1,192.0.2.2,192.0.2.3",
                   "NodeKeyFiles": "k,k,k", "NodeFingerprints": ",".join(["SHA256:" + "A" * 43] * 3)}
    name = f"sec-{uuid.uuid4().hex[:6]}"
    refused = deployer(api_url, "plan", name, "-t", TEMPLATE, *parameter_args(unreachable),
                       "-p", f"AdminPassword={secret}")
    assert refused.returncode == 2
    assert "AdminPassword is hidden" in refused.stderr and "--secret" in refused.stderr
    assert secret not in refused.stderr + refused.stdout

    secret_file = tmp_path / "admin-password"
    secret_file.write_text(secret + "\n")
    secret_file.chmod(0o600)
    from_file = deployer(api_url, "plan", name, "-t", TEMPLATE, "--json",
                         *parameter_args(unreachable), "--secret-file",
                         f"AdminPassword={secret_file}")
    assert from_file.returncode == 0, from_file.stderr
    assert json.loads(from_file.stdout)["parameters"]["AdminPassword"] == "******"
    assert secret not in from_file.stdout

    env = {**os.environ, "DEPLOYER_API_URL": api_url, "DEPLOYER_SECRET_AdminPassword": secret}
    from_env = subprocess.run([str(DEPLOYER), "plan", name, "-t", TEMPLATE, "--json",
                               *parameter_args(unreachable), "--secret", "AdminPassword"],
                              env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    assert from_env.returncode == 0, from_env.stderr
    assert secret not in from_env.stdout
    no_source = deployer(api_url, "plan", name, "-t", TEMPLATE, "--secret", "AdminPassword")
    assert no_source.returncode == 2 and "DEPLOYER_SECRET_AdminPassword" in no_source.stderr


def test_templates_show_parameters_with_hidden_defaults_masked(api_url):
    listed = deployer(api_url, "templates")
    assert listed.returncode == 0, listed.stderr
    assert TEMPLATE in [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
    one = deployer(api_url, "templates", TEMPLATE)
    assert one.returncode == 0, one.stderr
    assert "NetworkManager (string)" in one.stdout and "VlanManager" in one.stdout
    assert "not-shown-anywhere" not in one.stdout


def test_environments_lists_the_chef_servers_environments(undercloud, api_url):
    chef = undercloud.chef()
    name = f"cli-listed-{uuid.uuid4().hex[:6]}"
    chef.upsert_environment({
        "name": name, "json_class": "Chef::Environment", "chef_type": "environment",
        "description": "", "default_attributes": {}, "override_attributes": {},
        "cookbook_versions": {}})
    try:
        listed = deployer(api_url, "environments")
        assert listed.returncode == 0, listed.stderr
        assert name in listed.stdout.split() and "_default" in listed.stdout.split()
    finally:
        chef.delete_environment(name)


def test_unreachable_api_is_a_clear_message():
    url = f"http://127.0.0.1:{free_port()}"
    result = deployer(url, "list")
    assert result.returncode == 2
    assert result.stderr.strip() == (f"deployer: error: cannot reach the deployer API at {url} "
                                      f"(is it running? set --api-url or DEPLOYER_API_URL)")


# -- deployer certify: against the real API and its database (refusing, queueing and
# following a certification need no Heat; the worker is stopped and the test records
# what a worker would, through the same service functions) ---------------------------------

WHAT_IT_DOES = ("injects 5 faults on the controllers of {name}: crash, kill -9, link down, "
                "hang; services stall during each")


def test_certify_refuses_an_incomplete_deployment_and_says_what_the_api_refuses(
        deployer_api, tmp_path):
    url, cfg, client = deployer_api.base_url, deployer_api.cfg, deployer_api.client
    deployer_api.processes["worker"].stop()
    _, pending = deployment_row(cfg, state="in_progress")
    refused = deployer(url, "certify", pending, "--yes")
    assert refused.returncode == 2
    assert refused.stderr == (f"deployer: error: deployment {pending} is in_progress; only a "
                              f"complete deployment can be certified\n")

    deployment_id, name = deployment_row(cfg)
    missing = tmp_path / "no-such-set"
    bad_nodes = deployer(url, "certify", name, "--yes", "--test-nodes", str(missing))
    assert bad_nodes.returncode == 2
    assert bad_nodes.stderr == f"deployer: error: test_nodes: {missing} is not a directory\n"

    nodes = recorded_node_set(tmp_path / "set")
    queued = deployer(url, "certify", name, "--yes", "--no-wait", "--test-nodes", nodes)
    assert queued.returncode == 0, queued.stderr
    [certification] = client.list_certifications(deployment_id)["certifications"]
    assert queued.stdout == f"certification {certification['id']} of {name} queued\n"
    assert certification["options"] == {"test_nodes": nodes}
    again = deployer(url, "certify", deployment_id, "--yes", "--no-wait")     # by id
    assert again.returncode == 2
    assert again.stderr == (f"deployer: error: certification {certification['id']} of "
                            f"deployment {name} is queued; certify it again once it has ended (HTTP 409)\n")


def test_certify_asks_first_and_refuses_off_a_terminal_without_yes(deployer_api):
    url, cfg, client = deployer_api.base_url, deployer_api.cfg, deployer_api.client
    deployer_api.processes["worker"].stop()
    deployment_id, name = deployment_row(cfg)
    refused = deployer(url, "certify", name)
    assert refused.returncode == 2
    assert WHAT_IT_DOES.format(name=name) in refused.stdout
    assert refused.stderr.startswith(f"deployer: error: certify: not confirmed: the faults "
                                     f"stall {name}'s services;") and "--yes" in refused.stderr
    assert client.list_certifications(deployment_id)["certifications"] == []

    status, screen = run_on_terminal([str(DEPLOYER), "certify", name, "--no-wait"],
                                     cli_env(url), answer="n")
    assert status == 2 and f"{name} was not certified (not confirmed)" in screen, screen
    assert WHAT_IT_DOES.format(name=name) in screen
    assert client.list_certifications(deployment_id)["certifications"] == []
    status, screen = run_on_terminal([str(DEPLOYER), "certify", name, "--no-wait"],
                                     cli_env(url), answer="y")
    assert status == 0 and f"of {name} queued" in screen, screen
    assert len(client.list_certifications(deployment_id)["certifications"]) == 1



class Lines:
    """A child's stdout read line by line in a thread, so a test can wait for one."""

    def __init__(self, stream):
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=lambda: [self.lines.put(line) for line in stream],
                                       daemon=True)
        self.reader.start()

    def all(self) -> str:
        """Everything printed, once the child has closed its stdout."""
        self.reader.join(30)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return "".join(self.seen)

    def wait_for(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.seen):
            try:
                self.seen.append(self.lines.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"{text!r} never printed; printed: {self.seen}") from None


@pytest.mark.parametrize("verdict", ["failed", "passed"])
def test_certify_prints_each_row_as_it_arrives_then_the_table(deployer_api, verdict):
    url, cfg, client = deployer_api.base_url, deployer_api.cfg, deployer_api.client
    deployer_api.processes["worker"].stop()
    deployment_id, name = deployment_row(cfg)
    sessions = make_session_factory(make_engine(cfg.database_url))
    rows = [outcome("crash-api-vip-holder", "ctl1").to_dict(),
            outcome("kill-rabbitmq-leader", "ctl2",
                    outage={"token": 0.2, "db_write": 0.1,
                            "rpc": None if verdict == "failed" else 2.5}).to_dict()]
    process = subprocess.Popen([str(DEPLOYER), "certify", name, "--yes"], env=cli_env(url),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        out = Lines(process.stdout)
        out.wait_for("queued")
        [queued] = wait_until(lambda: client.list_certifications(deployment_id)[
            "certifications"], 10, "the certification queued")
        with sessions.begin() as session:       # what the worker does, row by row
            runs_service.register_worker(session, "cli-test", liveness.this_process())
            assert certifications.claim_next(session, "cli-test").id == queued["id"]
        for row in rows:
            with sessions.begin() as session:
                assert certifications.append_row(session, queued["id"], "cli-test", row)
            out.wait_for(f"{row['fault']}  ")
        with sessions.begin() as session:
            assert certifications.finish(session, queued["id"], "cli-test")
        status = process.wait(timeout=30)
        stdout, stderr = out.all(), process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
    assert "running since" in stdout
    first, second = (stdout.index(row["fault"]) for row in rows)
    table = client.get_certification(deployment_id, queued["id"])["table"]
    assert first < second < stdout.index(table), stdout          # rows, then the whole table
    if verdict == "failed":
        assert status == 1, stderr
        assert "  never  " in table and table.splitlines()[3].endswith("rpc never came back")
        assert stderr == (f"certification of {name} failed: 1 of 2 faults failed: "
                          f"kill-rabbitmq-leader on ctl2: rpc never came back\n")
    else:
        assert status == 0, stderr
        assert stdout.endswith(f"certification of {name} passed\n") and stderr == ""
