"""A why-run node run: connect, then chef-client -W with an override run-list; nothing is
installed, registered or written (the SSH connection is a fake that records what is asked)."""
from __future__ import annotations

import pytest

from deployer.bootstrap import runner
from deployer.bootstrap.contract import FAILED, SUCCEEDED, WHY_RUN, NodeTarget, RunSpec


class FakeConnection:
    host_key_fingerprint = "SHA256:" + "A" * 43
    needs_sudo = False
    local_address = "10.0.0.1"

    def __init__(self, answers):
        self.answers = answers
        self.commands: list[str] = []

    def run(self, command, *, on_output=None, timeout=None, pty=False, should_cancel=None):
        self.commands.append(command)
        rc, text = self.answers(command)
        if on_output and text:
            on_output("stdout", text)
        return rc

    def put_file(self, *_args):
        raise AssertionError("a why-run writes no file")

    def close(self):
        pass


class NoChef:
    url = "https://chef.example:443"

    def __getattr__(self, name):
        raise AssertionError(f"a why-run asks the Chef server nothing ({name})")


class Collect:
    def __init__(self):
        self.phases, self.text = [], []

    def phase(self, name):
        self.phases.append(name)

    def output(self, stream, text):
        self.text.append(text)

    def cancelled(self):
        return False


def spec() -> RunSpec:
    return RunSpec(node_name="aio1", target=NodeTarget(address="10.0.0.11", password="pw"),
                   run_list=["role[allinone]", "recipe[extra]"], environment="_whyrun-0123456789ab",
                   action=WHY_RUN)


def run_with(monkeypatch, answers):
    connection = FakeConnection(answers)
    monkeypatch.setattr(runner.SSHConnection, "open", classmethod(lambda cls, *a, **k: connection))
    reporter = Collect()
    return runner.execute(spec(), reporter, NoChef()), reporter, connection


def test_a_why_run_runs_chef_client_W_with_the_override_run_list_and_nothing_else(monkeypatch):
    result, reporter, connection = run_with(monkeypatch, lambda command: (0, "Chef Infra Client "
                                            "finished, 0/3 resources would have been updated\n"))
    assert result.status == SUCCEEDED, result.reason
    assert reporter.phases == ["connect", "converge"]
    assert connection.commands[-1] == ("chef-client -W -E _whyrun-0123456789ab "
                                       "-o 'role[allinone],recipe[extra]' --no-color")
    assert not any("install" in c or "rm " in c or "mkdir" in c for c in connection.commands)
    assert "nothing was changed" in "".join(reporter.text)


def test_a_node_that_was_never_converged_fails_before_chef_client_runs(monkeypatch):
    result, _, connection = run_with(monkeypatch, lambda command: (1, ""))
    assert result.status == FAILED
    assert "never converged" in result.reason and "converge failed" in result.reason
    assert not any(c.startswith("chef-client") for c in connection.commands)


@pytest.mark.parametrize("rc", [1, 3])
def test_a_failed_why_run_names_chef_client_W_and_its_summary(monkeypatch, rc):
    def answers(command):
        if command.startswith("chef-client"):
            return rc, ("Chef Infra Client failed. 0 resources updated in 01 seconds\n"
                        "FATAL: Standin::NotImplemented: why-run of x is not implemented\n")
        return 0, ""
    result, _, _ = run_with(monkeypatch, answers)
    assert result.status == FAILED and result.exit_code == rc
    assert f"chef-client -W exited with status {rc}: Standin::NotImplemented" in result.reason
