"""What the worker calls to execute one run, and how it is chosen.

An executor is ``execute(spec, reporter) -> RunResult``.  Production uses the
SSH bootstrap runner with a Chef server client built from the configuration;
``deployer worker --executor module:factory`` selects another factory (tests
use a trivial one that walks the phases without SSH).
"""
from __future__ import annotations

import importlib
from typing import Callable

from deployer.bootstrap.contract import RunReporter, RunResult, RunSpec
from deployer.config import Config

Executor = Callable[[RunSpec, RunReporter], RunResult]
ExecutorFactory = Callable[[Config], Executor]

DEFAULT_FACTORY = "deployer.runs.executor:bootstrap_executor"


def bootstrap_executor(cfg: Config) -> Executor:
    from deployer.bootstrap import runner
    from deployer.bootstrap.ssh import Liveness
    from deployer.chef.server import ChefServer

    liveness = Liveness(cfg.runs.keepalive_interval, cfg.runs.idle_timeout)
    throttles = runner.Throttles.of(cfg.runs.ssh_connect_concurrency, cfg.runs.register_concurrency)

    def execute(spec: RunSpec, reporter: RunReporter) -> RunResult:
        # One client per run: runs execute concurrently on a thread pool.
        return runner.execute(spec, reporter, ChefServer.from_config(cfg),
                              node_url=cfg.chef.node_url or None, liveness=liveness,
                              throttles=throttles)
    return execute


def load_executor(reference: str, cfg: Config) -> Executor:
    """``module:factory`` -> the executor the factory builds for ``cfg``."""
    module_name, _, attr = reference.partition(":")
    if not module_name or not attr:
        raise ValueError(f"executor {reference!r}: expected 'module:factory'")
    factory: ExecutorFactory = getattr(importlib.import_module(module_name), attr)
    return factory(cfg)
