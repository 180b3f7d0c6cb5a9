"""DbReporter: output held back at most FLUSH_SECONDS and written together, phases at once,
nothing lost or reordered, secrets redacted before anything is stored."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from deployer.db import migrate
from deployer.db.models import Run, RunOutput, RunPhase, utcnow
from deployer.db.session import make_engine, make_session_factory
from deployer.runs import reporter as reporter_mod
from deployer.runs.reporter import DbReporter

SECRET = "hunter2-secret"


@pytest.fixture
def factory(tmp_path):
    url = f"sqlite:///{tmp_path / 'deployer.sqlite'}"
    migrate.upgrade_database(url)
    factory = make_session_factory(make_engine(url))
    with factory.begin() as session:
        session.add(Run(id="run-1", node_name="n1", action="converge", status="running",
                        spec_json={}, reason="", created_at=utcnow(), worker_id="worker-1",
                        cancel_requested=False))
    return factory


def reporter_flushing_after(seconds: float, factory, monkeypatch) -> DbReporter:
    monkeypatch.setattr(reporter_mod, "FLUSH_SECONDS", seconds)
    return DbReporter(factory, "run-1", "worker-1", secrets=[SECRET], deadline=time.monotonic() + 60)


def stored(factory) -> list[tuple[int, str, str]]:
    with factory() as session:
        return [(row.seq, row.stream, row.text) for row in session.scalars(
            select(RunOutput).where(RunOutput.run_id == "run-1").order_by(RunOutput.seq))]


def test_output_within_the_window_is_written_once_joined_per_stream(factory, monkeypatch):
    reporter = reporter_flushing_after(60.0, factory, monkeypatch)
    reporter.output("stdout", "one\n")
    reporter.output("stdout", f"two {SECRET}\n")
    reporter.output("stderr", "warn\n")
    reporter.output("stdout", "three\n")
    assert stored(factory) == []                      # held back
    reporter.flush_if_due()
    assert stored(factory) == []                      # not due yet
    reporter.flush()
    assert stored(factory) == [(1, "stdout", "one\ntwo ******\n"), (2, "stderr", "warn\n"),
                               (3, "stdout", "three\n")]
    reporter.output("stdout", "four\n")
    reporter.flush()
    assert stored(factory)[-1] == (4, "stdout", "four\n")


def test_a_phase_change_writes_the_output_before_it_and_quiet_output_is_due_after_the_window(factory, monkeypatch):
    reporter = reporter_flushing_after(0.2, factory, monkeypatch)
    reporter.output("stdout", "connecting\n")
    reporter.phase("connect")
    assert stored(factory) == [(1, "stdout", "connecting\n")]
    with factory() as session:
        assert [phase.name for phase in session.scalars(select(RunPhase))] == ["connect"]
    reporter.output("stdout", "quiet after this\n")
    time.sleep(0.25)
    reporter.flush_if_due()
    assert stored(factory)[-1] == (2, "stdout", "quiet after this\n")


def test_output_after_the_window_is_written_by_the_call_that_brings_it(factory, monkeypatch):
    reporter = reporter_flushing_after(0.0, factory, monkeypatch)
    reporter.output("stdout", "a\n")
    reporter.output("stdout", "b\n")
    assert stored(factory) == [(1, "stdout", "a\n"), (2, "stdout", "b\n")]
