"""deployer.conf's [runs] section: read like every other section, DEPLOYER_RUNS_* wins."""
from __future__ import annotations

import pytest

from deployer import config


@pytest.mark.parametrize("file_values, env, expected", [
    ({}, {}, config.RunSettings()),
    ({"dead_after": "90"}, {}, config.RunSettings(dead_after=90.0)),
    ({"dead_after": "90"}, {"DEPLOYER_RUNS_DEAD_AFTER": "12.5"},
     config.RunSettings(dead_after=12.5)),
    ({}, {"DEPLOYER_RUNS_HEARTBEAT_INTERVAL": "0.5", "DEPLOYER_RUNS_DEAD_AFTER": "3"},
     config.RunSettings(heartbeat_interval=0.5, dead_after=3.0)),
])
def test_runs_section_and_its_overrides(tmp_path, file_values, env, expected):
    path = config.write_file(tmp_path / "deployer.conf",
                             {"DEFAULT": {"state_dir": tmp_path}, "runs": file_values})
    assert config.load(path, env=env).runs == expected


@pytest.mark.parametrize("values, message", [
    ({"dead_after": "soon"}, "[runs] dead_after: expected float, got 'soon'"),
    ({"dead_after": "9", "heartbeat_interval": "5"}, "dead_after must exceed twice"),
    ({"idle_timeout": "10", "keepalive_interval": "10"}, "idle_timeout must exceed keepalive_interval"),
    ({"keepalive_interval": "0"}, "idle_timeout must exceed keepalive_interval"),
    ({"max_runs": "0"}, "[runs] max_runs must be at least 1"),
    ({"register_concurrency": "-1"}, "[runs] register_concurrency must be at least 1"),
])
def test_bad_runs_values_are_named(tmp_path, values, message):
    path = config.write_file(tmp_path / "deployer.conf",
                             {"DEFAULT": {"state_dir": tmp_path}, "runs": values})
    with pytest.raises(config.ConfigError) as refused:
        config.load(path, env={})
    assert message in str(refused.value)


@pytest.mark.parametrize("api, runs, slots", [
    ({}, {}, 100), ({}, {"max_runs": "40"}, 40), ({"run_workers": "3"}, {"max_runs": "40"}, 3)])
def test_worker_slots_come_from_runs_max_runs_unless_api_run_workers_is_set(tmp_path, api, runs, slots):
    path = config.write_file(tmp_path / "deployer.conf",
                             {"DEFAULT": {"state_dir": tmp_path}, "api": api, "runs": runs})
    assert config.load(path, env={}).run_slots == slots


def test_idle_timeout_zero_turns_the_silence_check_off(tmp_path):
    path = config.write_file(tmp_path / "deployer.conf", {"DEFAULT": {"state_dir": tmp_path},
                                                          "runs": {"idle_timeout": "0"}})
    assert config.load(path, env={}).runs.idle_timeout == 0

