"""The command line: build, version, options, run lock, log file, exit codes.

Follows docs.chef.io/ctl_chef_client/ (-c, -E, -j, -l, -L, -W, -z, -o,
--run-lock-timeout; "a chef-client run waits for a run already in progress"),
Chef RFC 062 (exit codes: 0 success, 1 failure, 2 SIGINT, 3 SIGTERM) and
lib/chef/client.rb (an override run-list is not saved to the node).
"""
import signal
import subprocess
import time

from tests.standin_engine.repo import CHEF_CLIENT, STANDIN_DIR


def test_the_shipped_bundle_is_built_from_the_current_sources():
    check = subprocess.run(["ruby", str(STANDIN_DIR / "build.rb"), "--check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_version_says_stand_in():
    out = subprocess.run([str(CHEF_CLIENT), "--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("Chef Infra Client: 18.0.0-standin (STAND-IN")


def test_unknown_option_fails():
    result = subprocess.run([str(CHEF_CLIENT), "--no-such-option"], capture_output=True, text=True)
    assert result.returncode == 1
    assert "invalid option: --no-such-option" in result.stdout + result.stderr


def test_log_file_and_override_run_list(repo, tmp_path):
    repo.cookbook("c", recipes={"default": "log 'in the log file'\n", "other": "log 'other recipe'\n"})
    log = tmp_path / "client.log"
    first = repo.run("recipe[c]", args=["-L", str(log)])
    assert first.returncode == 0, first.output
    assert "INFO: in the log file" in log.read_text()
    assert "Chef Infra Client finished" in log.read_text()
    override = repo.run("recipe[c]", args=["-o", "c::other"])
    assert override.returncode == 0, override.output
    assert "other recipe" in override.output
    assert "Skipping final node save because override_runlist was given" in override.output


def _slow_repo(repo, seconds):
    repo.environment("slow", default={"standin": {"sleep": seconds}})
    repo.cookbook("c", recipes={"default": "log 'x'\n"})
    attribs = repo.root / "first-boot.json"
    attribs.write_text('{"run_list": ["recipe[c]"]}')
    return [str(CHEF_CLIENT), "-z", "-c", str(repo.client_rb), "-j", str(attribs), "-E", "slow"]


def _started_converging(proc) -> None:
    """Read the run's output until it is converging (it holds the run lock by then)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if "simulating a long converge" in proc.stdout.readline():
            return
    raise AssertionError("the run never started converging")


def test_a_second_run_waits_for_the_lock_or_times_out(repo):
    command = _slow_repo(repo, 8)
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _started_converging(first)
        waiting = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        refused = subprocess.run(command + ["--run-lock-timeout", "0"], capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1
        assert "is running, will wait for it to finish" in refused.stdout
        assert "Unable to acquire lock" in refused.stdout
        out, _ = waiting.communicate(timeout=60)
        assert waiting.returncode == 0, out
        assert "will wait for it to finish and then run" in out
        assert first.poll() is not None, "the waiting run finished before the one holding the lock"
    finally:
        assert first.wait(timeout=60) == 0


def test_exit_codes_for_signals(repo):
    # A converge far longer than the wait: an unnoticed signal cannot pass as a finished run.
    # The wait is generous because a loaded CI host once took over 20 s (not reproduced since);
    # SIGINT back to its default, since a shell runs background jobs with SIGINT ignored.
    command = _slow_repo(repo, 180)
    for sig, code in ((signal.SIGTERM, 3), (signal.SIGINT, 2)):
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            _started_converging(proc)
            proc.send_signal(sig)
            assert proc.wait(timeout=90) == code
        finally:
            proc.kill()
            proc.wait()
