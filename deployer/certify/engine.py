"""The certification sequence: one fault at a time, measured, restored, whole again.

For each fault: every cluster must be whole first and every probed path
steady (a baseline), the fault is injected on the controller it chooses and
held ``hold`` seconds (long enough for every failover to finish), then undone;
once every cluster is whole again and every path steady again (a cluster can
be whole while its clients still reconnect) the probes stop and the losses
are counted.  Each path's stalls are split by the phase they began in: during
the fault (the row's outage, which the targets judge) or once it was undone
(the rejoin: the restored node's services coming back, a failback).  The
probes run in a process of their own (probe_process).  A fault that
cannot be measured (a cluster never whole, a node that cannot be reached) is
a failed row with its reason, and the sequence stops there: the next fault
would hit a broken cloud.
"""
from __future__ import annotations

import copy
import logging
import secrets
import time
from typing import Callable

from deployer.certify import cluster as cluster_mod
from deployer.certify import faults as faults_mod
from deployer.certify import probe_process, target as target_mod
from deployer.certify.outcome import PATHS, FaultOutcome

LOG = logging.getLogger(__name__)
CERTIFY_DB, CERTIFY_USER = "deployer_certify", "deployer_certify"


class CertifyError(Exception):
    """The deployment cannot be certified (what is missing is in the message)."""


class Settings:
    steady = 3.0           # seconds every path must answer without a failure: before a fault, after whole
    steady_timeout = 120.0  # how long the paths may take to become steady
    hold = 20.0            # seconds a fault lasts
    whole_timeout = 600.0  # undo -> every cluster whole (a server's reboot may take minutes)
    test_node_whole_timeout = 240.0   # a test node boots in seconds; whole took 2-50 s there


def certify(cfg, session_factory, box, deployment_id: str, *, test_nodes: str | None,
            on_outcome: Callable[[FaultOutcome], None],
            should_stop: Callable[[], bool], settings: Settings = Settings()) -> list[FaultOutcome]:
    """Run every fault on the deployment's controllers; ``on_outcome`` gets each row as it ends."""
    from deployer.chef.server import ChefServer
    try:
        with session_factory() as session, ChefServer.from_config(cfg) as chef:
            target = target_mod.resolve(session, box, chef, deployment_id)
    except target_mod.TargetError as exc:
        raise CertifyError(str(exc)) from None
    if test_nodes:
        settings = copy.copy(settings)
        settings.whole_timeout = settings.test_node_whole_timeout
    controllers = cluster_mod.Controllers(target.controllers, target.vips)
    run = _Run(controllers, target, settings)
    try:
        machines = _machines(controllers, target, test_nodes, settings)
        run.prepare()
        outcomes = []
        for fault in faults_mod.faults(controllers, machines):
            if should_stop():
                break
            outcome = run.one(fault, should_stop)
            outcomes.append(outcome)
            on_outcome(outcome)
            if outcome.time_to_whole is None:
                break
        return outcomes
    finally:
        run.cleanup()       # the probe's database, user and queue go, whatever happened
        controllers.close()


def _machines(controllers, target, test_nodes: str | None, settings: Settings):
    addresses = {c.name: c.address for c in target.controllers}
    if test_nodes:
        from deployer.testnodes import TestNodes, TestNodesError
        try:
            return faults_mod.TestNodeMachines(TestNodes.load(test_nodes), addresses)
        except (TestNodesError, ValueError) as exc:
            raise CertifyError(str(exc)) from None

    def interface_of(node: str) -> str:
        route = controllers.run(node, f"ip -o route get {target.vips['api']}")
        return route.split(" dev ", 1)[1].split()[0]
    return faults_mod.ServerMachines(controllers, settings.hold, interface_of)


class _Run:
    def __init__(self, controllers: cluster_mod.Controllers, target: target_mod.Target, settings: Settings):
        self.controllers, self.target, self.settings = controllers, target, settings
        self.db_password = secrets.token_urlsafe(24)
        self.queue = f"deployer-certify-{secrets.token_hex(4)}"
        self.last_problems: list[str] = []
        self.prepared = False          # something on the nodes to clean up

    def prepare(self) -> None:
        """Whole before anything; the probe's database and user; nova's messaging options."""
        self.prepared = True
        self.wait_whole(self.settings.whole_timeout, "before the first fault")
        writer = self.controllers.galera_writer()
        sql = (f"CREATE DATABASE IF NOT EXISTS {CERTIFY_DB};"
               f"CREATE USER IF NOT EXISTS '{CERTIFY_USER}'@'%' IDENTIFIED BY '{self.db_password}';"
               f"ALTER USER '{CERTIFY_USER}'@'%' IDENTIFIED BY '{self.db_password}';"
               f"GRANT ALL ON {CERTIFY_DB}.* TO '{CERTIFY_USER}'@'%';"
               f"CREATE TABLE IF NOT EXISTS {CERTIFY_DB}.writes (series CHAR(36) NOT NULL, "
               f"seq INT NOT NULL, PRIMARY KEY (series, seq)) ENGINE=InnoDB;")
        # through a file, not the command line: the password stays out of the node's process list
        self.controllers.shell.put_file(writer, sql.encode(), "/root/.deployer-certify.sql")
        self.controllers.run(writer, "mariadb < /root/.deployer-certify.sql; status=$?; "
                                     "rm -f /root/.deployer-certify.sql; exit $status")
        section = target_mod.nova_messaging_section(
            self.controllers.run(self.controllers.names[0], "cat /etc/nova/nova.conf"))
        self.exchange = target_mod.control_exchange(section)
        self.quorum = target_mod.quorum_queues(section)
        self.brokers = target_mod.broker_urls(section)
        self.nova_messaging = section

    def cleanup(self) -> None:
        if not self.prepared:
            return
        try:
            self.controllers.run(self.controllers.galera_writer(),
                                 f"mariadb -e \"DROP USER IF EXISTS '{CERTIFY_USER}'@'%'; "
                                 f"DROP DATABASE IF EXISTS {CERTIFY_DB}\"")
        except Exception as exc:
            LOG.warning("certify: could not drop the probe database: %s", exc)
        try:     # the publisher's queue is deleted after each fault; not after a failed one
            self.controllers.run(self.controllers.names[0], f"rabbitmqctl delete_queue {self.queue} -q || true")
        except Exception as exc:
            LOG.warning("certify: could not delete queue %s: %s", self.queue, exc)

    def wait_whole(self, timeout: float, when: str) -> float | None:
        """Seconds until every cluster is whole; None when it was not within ``timeout``."""
        started = next_report = time.monotonic()
        problems: list[str] = []
        while time.monotonic() - started < timeout:
            problems = self.controllers.problems()
            if not problems:
                return time.monotonic() - started
            if time.monotonic() >= next_report:
                LOG.info("certify: waiting for the clusters to be whole %s: %s", when, "; ".join(problems))
                next_report = time.monotonic() + 30
            time.sleep(2)
        LOG.warning("certify: not whole %s after %.0f s: %s", when, timeout, "; ".join(problems))
        self.last_problems = problems
        return None

    def probe_spec(self) -> dict:
        """What probe_process.build makes the probes from (credentials included: sent over a pipe)."""
        api, db = self.target.vips["api"], self.target.vips["db"]
        return {
            "token": {"auth_url": f"http://{api}:5000/v3", "user": "admin",
                      "password": self.target.admin_password, "project": "admin"},
            "db_write": {"host": db, "port": 3306, "user": CERTIFY_USER, "password": self.db_password,
                         "database": CERTIFY_DB},
            "rpc": {"nova_messaging": self.nova_messaging, "exchange": self.exchange},
            "messages": {"urls": self.brokers, "queue": self.queue, "quorum": self.quorum},
        }

    def one(self, fault: faults_mod.Fault, should_stop: Callable[[], bool]) -> FaultOutcome:
        node, running = "", {}
        prober = probe_process.ProbeProcess(self.probe_spec())
        try:
            if self.wait_whole(self.settings.whole_timeout, f"before {fault.name}") is None:
                return FaultOutcome(fault.name, "", {}, {}, None,
                                    "not whole before the fault: " + "; ".join(self.last_problems))
            node = fault.choose(self.controllers)
            running = prober.start()
            unsteady = self.wait_steady(running)
            if unsteady:
                return FaultOutcome(fault.name, node, {}, {}, None,
                                    f"no baseline: {', '.join(unsteady)} not steady for {self.settings.steady:.0f} s "
                                    f"within {self.settings.steady_timeout:.0f} s: {self._errors(running, unsteady)}")
            LOG.info("certify: %s on %s", fault.name, node)
            fault.inject(node)
            fault_at = time.monotonic()
            self._sleep(self.settings.hold, should_stop)
            undo_at = time.monotonic()
            fault.undo(node)
            whole, error = None, ""
            if self.wait_whole(self.settings.whole_timeout, f"after {fault.name}") is not None:
                # a failback's stall and clients still reconnecting are part of the outage
                unsteady = self.wait_steady(running)
                if unsteady:
                    error = (f"whole, but {', '.join(unsteady)} not steady within "
                             f"{self.settings.steady_timeout:.0f} s: {self._errors(running, unsteady)}")
                else:
                    whole = time.monotonic() - undo_at       # counted from the undo (a boot included)
            lost, uncounted = prober.stop()
            outage = {path: running[path].outage(fault_at, undo_at) for path in PATHS}
            rejoin = {path: running[path].rejoin(undo_at) for path in PATHS}
            error = "; ".join(filter(None, [error, *uncounted]))
            LOG.info("certify: %s on %s: outage %s, rejoin %s, lost %s, whole after %s s; probe errors: %s; "
                     "stalls: %s; rejoin stalls: %s", fault.name, node, outage, rejoin, lost, whole,
                     self._errors(running, list(running)),
                     "; ".join(f"{path}: {running[path].stall_anatomy(fault_at, undo_at)}" for path in PATHS),
                     "; ".join(f"{path}: {running[path].rejoin_anatomy(undo_at)}" for path in PATHS))
            return FaultOutcome(fault.name, node, outage, lost, whole, error[:500], rejoin=rejoin)
        except Exception as exc:
            LOG.exception("certify: %s", fault.name)
            return FaultOutcome(fault.name, node, {}, {}, None, f"{type(exc).__name__}: {exc}"[:500])
        finally:
            prober.close()

    def wait_steady(self, running: dict) -> list[str]:
        """Wait until every path answered for ``steady`` s without a failure; the paths that did not."""
        window = self.settings.steady
        deadline = time.monotonic() + self.settings.steady_timeout
        time.sleep(window)
        while True:
            since = time.monotonic() - window
            unsteady = [name for name, probe in running.items() if not probe.steady_since(since, 3)]
            if not unsteady or time.monotonic() >= deadline:
                return unsteady
            time.sleep(0.5)

    @staticmethod
    def _errors(running: dict, names: list[str]) -> str:
        return "; ".join(f"{name}: {dict(list(running[name].errors.items())[:3])}"
                         for name in names if running[name].errors)

    @staticmethod
    def _sleep(seconds: float, should_stop: Callable[[], bool]) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not should_stop():
            time.sleep(0.5)
