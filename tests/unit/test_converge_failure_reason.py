"""A failed converge's reason leads with chef-client's own one-line summary.

Heat keeps only the first 255 characters of an event's reason, so the failing
resource and its cookbook line must come right after "converge failed", not
behind the output tail. The output is the real stand-in's, from a failing run.
"""
from __future__ import annotations

import pytest

from deployer.bootstrap.contract import NodeTarget, RunSpec
from deployer.bootstrap.runner import _NodeRun
from tests.standin_engine.repo import ChefRepo


class Collected:
    def phase(self, name):
        pass

    def output(self, stream, text):
        pass


def node_run() -> _NodeRun:
    spec = RunSpec(node_name="ctl1", target=NodeTarget(address="10.0.0.11", password="pw"),
                   run_list=["recipe[s]"], environment="_default")
    return _NodeRun(spec, Collected(), chef=None)


def test_the_resource_and_its_cookbook_line_lead_the_reason(tmp_path):
    repo = ChefRepo(tmp_path)
    repo.cookbook("s", recipes={"default": """
        file '/nonexistent-dir-for-the-test/x' do
          content 'x'
        end
    """})
    run = repo.run("recipe[s]")
    assert run.returncode == 1, run.output

    runner = node_run()
    runner.phase = "converge"
    runner._report("stdout", run.output)
    cause = runner._converge_failure(run.returncode)
    reason = runner._reason(cause)

    event = reason[:255]   # what a Heat event keeps
    assert event.startswith("node ctl1 (10.0.0.11): converge failed: chef-client exited with status 1: ")
    assert "file[/nonexistent-dir-for-the-test/x]" in event, reason
    assert "s::default line 2" in event, reason
    assert "Stacktrace dumped" not in cause   # the notice stays in the output tail only


@pytest.mark.parametrize("lines, summary", [
    # Real chef-client: the stacktrace notices come first, the summary last.
    (["Chef Infra Client failed. 0 resources updated in 01 seconds",
      "[2026-12-04T10:00:00+00:00] FATAL: Stacktrace dumped to /var/chef/cache/chef-stacktrace.out",
      "[2026-12-04T10:00:00+00:00] FATAL: Please provide the contents of the stacktrace.out file if you file a bug report",
      "[2026-12-04T10:00:00+00:00] FATAL: Mixlib::ShellOut::ShellCommandFailed: execute[x] (c::r line 3) had an error"],
     "Mixlib::ShellOut::ShellCommandFailed: execute[x] (c::r line 3) had an error"),
    # FATAL lines of an earlier attempt do not leak into the summary.
    (["[2026-12-04T10:00:00+00:00] FATAL: an earlier line", "Chef Client failed. 0 resources updated",
      "[2026-12-04T10:00:00+00:00] FATAL: RuntimeError: boom"], "RuntimeError: boom"),
    (["Chef Infra Client failed. 0 resources updated in 01 seconds"], None),
])
def test_summary_is_the_closing_fatal_lines(lines, summary):
    runner = node_run()
    runner._report("stdout", "\n".join(lines) + "\n")
    cause = runner._converge_failure(1)
    assert cause == "chef-client exited with status 1" + (f": {summary}" if summary else "")
