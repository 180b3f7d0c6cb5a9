"""The three HA fault scenarios, built from rendered configs; shared by tests/ha and bench/.

Each scenario has an over-cloud description (``*_overcloud``: controllers,
VIPs and the attributes a variant changes), a builder that brings the daemons
up in a Lab (Galera also on the shared test nodes), and a fault run that
returns what the client saw.  Tests assert on
the results; bench/failover.py prints them.
"""
from __future__ import annotations

import secrets
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql

from tests.ha.amqp_clients import ClientTimeouts, Consumer, Publisher, durable_queue
from tests.ha.cluster_galera import GaleraCluster, Member, Writer, lab_members
from tests.ha.cluster_rabbitmq import RabbitCluster
from tests.ha.cluster_vip import VipCluster
from tests.ha.netlab import Lab, call_in_netns
from tests.ha.poller import HttpPoller, PollLog
from tests.ha.rendered import SMALL_GALERA_NODE, Overcloud, deep_merge, vip, vrrp_secrets
from deployer.certify.timeline import outage
from tests.ha.waiting import wait_until

CLIENT_IP = "10.252.0.50"
API_VIP, DB_VIP = "10.252.0.100", "10.252.0.101"
THREE_CONTROLLERS = {"ctl1": "10.252.0.11", "ctl2": "10.252.0.12", "ctl3": "10.252.0.13"}
TWO_CONTROLLERS = {"ctl1": "10.252.0.11", "ctl2": "10.252.0.12"}
VIPS = {"api": vip(API_VIP, 51, "vrrp_api"), "db": vip(DB_VIP, 52, "vrrp_db")}

# The origin's haproxy server checks, and faster ones a site can set in its environment.
ORIGIN_CHECKS = {"inter": 2000, "rise": 2, "fall": 5}
TUNED_CHECKS = {"inter": 500, "rise": 2, "fall": 3}
# Fast enough that a surviving haproxy drops a dead controller (fall x (inter + connect
# timeout, which is min(timeout connect, inter)) = about 1.25 s) before VRRP can move
# the VIP (3 x advert_int - 1 s at the earliest), so no request reaches the dead node.
FAST_CHECKS = {"inter": 250, "rise": 2, "fall": 2}


def haproxy_checks(checks: dict[str, int]) -> dict[str, Any]:
    return {"deployer": {"haproxy": {"check": checks}}}


# ---------------------------------------------------------------- Galera + haproxy

@dataclass
class GaleraSetup:
    cluster: GaleraCluster
    db_vip: str
    port: int            # the nova listener: writer = first controller, the others backup
    password: str


@dataclass
class WriteFault:
    acked: set[int]
    outage: float                        # longest stall of acknowledged writes around the kill
    client_errors: int
    missing: dict[str, set[int]]         # survivor -> acked ids it lacks
    writer_before: str
    writer_after: str


# Galera evicts a silent member after evs.suspect_timeout (Galera's default PT5S); until
# then the survivors cannot commit, whatever haproxy does.  The cookbook ships FAST_EVICTION
# (deployer_galera's provider_options); ORIGIN_EVICTION is Galera's own defaults.
ORIGIN_EVICTION = {"evs.keepalive_period": "PT1S", "evs.suspect_timeout": "PT5S",
                   "evs.inactive_check_period": "PT1S", "evs.inactive_timeout": "PT15S"}
FAST_EVICTION = {"evs.keepalive_period": "PT0.5S", "evs.suspect_timeout": "PT1.5S",
                 "evs.inactive_check_period": "PT0.5S", "evs.inactive_timeout": "PT3S"}


def galera_overcloud(checks: dict[str, int] = ORIGIN_CHECKS,
                     provider_options: dict[str, str] = ORIGIN_EVICTION,
                     controllers: dict[str, str] = THREE_CONTROLLERS,
                     vips: dict[str, dict[str, Any]] = VIPS) -> Overcloud:
    # the deployer chooses the bootstrap node; not simply the first controller
    galera: dict[str, Any] = {"bootstrap_node": list(controllers)[1]}
    if provider_options:
        galera["provider_options"] = provider_options
    return Overcloud(
        controllers, vips=vips,
        attributes=deep_merge({"deployer": {"galera": galera}}, haproxy_checks(checks)),
        node_attributes=SMALL_GALERA_NODE, secrets=vrrp_secrets("vrrp_api", "vrrp_db"))


def build_galera(lab: Lab, oc: Overcloud) -> GaleraSetup:
    """The Galera scenario on lab hosts, with the client on its own lab host."""
    client = lab.add_host("client", CLIENT_IP)
    return build_galera_on(lab_members(lab, oc.controllers), oc, client.netns)


def build_galera_on(members: dict[str, Member], oc: Overcloud,
                    client_netns: str | None) -> GaleraSetup:
    """Rendered galera.cnf on the controllers, bootstrap + joins, the cookbook's SQL,
    and the rendered haproxy.cfg on the first controller."""
    first = next(iter(oc.controllers))
    attrs = oc.merged("deployer_galera", first)["deployer"]
    cnf_path = attrs["galera"]["config_file"]
    cluster = GaleraCluster(
        members,
        {name: (cnf_path, oc.render("deployer_galera", "galera.cnf", name))
         for name in oc.controllers},
        lb_name=first, haproxy_cfg=oc.render("deployer_haproxy", "haproxy.cfg", first),
        db_vip=oc.vips["db"]["address"], client_netns=client_netns)
    passwords = {service: secrets.token_urlsafe(12) for service in attrs["databases"]}
    database_sql = oc.helper("deployer_galera", "DeployerGalera::Helpers.database_sql", first,
                             passwords)
    cluster.bootstrap(attrs["galera"]["bootstrap_node"],
                      database_sql["apply"] + "CREATE TABLE nova.writes (id INT PRIMARY KEY);")
    for name in oc.controllers:  # the cookbook's own check query, on every member
        if cluster.sql(name, database_sql["check"]) != [["1"]]:
            raise AssertionError(f"database SQL check failed on {name}")
    cluster.check_haproxy_config()
    cluster.start_haproxy()
    setup = GaleraSetup(cluster, oc.vips["db"]["address"], attrs["databases"]["nova"]["port"],
                        passwords["nova"])
    wait_until(lambda: served_by(setup), timeout=30, what="haproxy to forward the nova listener")
    return setup


def served_by(setup: GaleraSetup) -> str:
    """wsrep node name of the server a new connection through the DB VIP reaches."""
    def ask() -> str:
        with pymysql.connect(host=setup.db_vip, port=setup.port, user="nova",
                             password=setup.password, database="nova", connect_timeout=2,
                             read_timeout=5) as conn:
            with conn.cursor() as cursor:
                cursor.execute("SELECT @@wsrep_node_name")
                return cursor.fetchone()[0]
    return call_in_netns(setup.cluster.client_netns, ask, timeout=15)


def stored_ids(cluster: GaleraCluster, name: str) -> set[int]:
    # wsrep_sync_wait: read only after every replicated write is applied here
    rows = cluster.sql(name, "SET SESSION wsrep_sync_wait=1; SELECT id FROM nova.writes")
    return {int(row[0]) for row in rows}


def kill_galera_writer(setup: GaleraSetup, resume_timeout: float = 90.0) -> WriteFault:
    """Write continuously through the VIP, kill -9 the writer's mariadbd, wait for the
    writes to resume through a backup."""
    cluster = setup.cluster
    writer_before = served_by(setup)
    with Writer(cluster.client_netns, setup.db_vip, setup.port, "nova", setup.password,
                "nova") as writer:
        wait_until(lambda: len(writer.log.acked) >= 200, timeout=30, what="writes before the fault")
        killed_at = time.monotonic()
        cluster.dbs[writer_before].kill("mariadbd")
        wait_until(lambda: sum(t > killed_at for t in writer.log.acked.values()) >= 200,
                   timeout=resume_timeout, what="writes to resume through a backup server")
    acked = set(writer.log.acked)
    survivors = [name for name in cluster.dbs if name != writer_before]
    return WriteFault(acked, outage(writer.log.acked.values(), killed_at),
                      len(writer.log.errors),
                      {name: acked - stored_ids(cluster, name) for name in survivors},
                      writer_before, served_by(setup))


# ---------------------------------------------------------------- RabbitMQ

RABBIT_TEMPLATES = ("rabbitmq.conf", "advanced.config", "rabbitmq-env.conf")
RABBIT_HELPERS = "DeployerRabbitmq::Helpers"
RABBIT_SEED = "ctl1"


@dataclass
class RabbitSetup:
    cluster: RabbitCluster
    password: str

    def urls(self, first: str) -> str:
        return self.cluster.amqp_urls("nova", self.password, first=first)


@dataclass
class PublishFault:
    confirmed: set[int]
    received: set[int]
    deliveries: int
    outage: float                  # longest stall of publisher confirms around the fault
    publisher_errors: list[str] = field(default_factory=list)
    master_before: list[str] = field(default_factory=list)


def rabbit_overcloud(net_ticktime: int | None = None) -> Overcloud:
    # long names: Erlang node names carry the address, so namespaces need no DNS.  The
    # origin's mirroring policy (an environment option; quorum is the default) so both
    # queue types can be measured on the same cluster.
    rabbit: dict[str, Any] = {"seed_node": RABBIT_SEED, "use_longname": True,
                              "queue_type": "classic_mirrored"}
    if net_ticktime is not None:
        rabbit["net_ticktime"] = net_ticktime
    return Overcloud(THREE_CONTROLLERS, attributes={"deployer": {"rabbitmq": rabbit}})


def build_rabbit(lab: Lab, oc: Overcloud) -> RabbitSetup:
    """Rendered configs, shared cookie, join_cluster to the seed, the rendered policy, a user."""
    nodes = {}
    for name, address in oc.controllers.items():
        config_dir = oc.merged("deployer_rabbitmq", name)["deployer"]["rabbitmq"]["config_dir"]
        node_name = oc.helper("deployer_rabbitmq", f"{RABBIT_HELPERS}.node_name", name,
                              {"name": name, "address": address})
        files = {f"{config_dir}/{template}": oc.render("deployer_rabbitmq", template, name)
                 for template in RABBIT_TEMPLATES}
        nodes[name] = (address, node_name, files)
    cluster = RabbitCluster(lab, nodes, cookie=secrets.token_hex(16), client_ip=CLIENT_IP)
    policy_args = oc.helper("deployer_rabbitmq", f"{RABBIT_HELPERS}.set_policy_args", RABBIT_SEED)
    if not policy_args:
        raise AssertionError("queue_type classic_mirrored must render an HA policy")
    cluster.form(RABBIT_SEED, policy_args)
    password = secrets.token_urlsafe(12)
    cluster.add_user("nova", password)
    return RabbitSetup(cluster, password)


def is_beam(pid: int) -> bool:
    return Path(f"/proc/{pid}/comm").read_text().strip() == "beam.smp"


def fault_queue_master(setup: RabbitSetup, name: str, sig: signal.Signals,
                       timeouts: ClientTimeouts, resume_timeout: float = 60.0,
                       quorum: bool = False) -> PublishFault:
    """Publish with confirms through the seed first, consume via ctl3, signal the master's beam.

    The queue is declared through the seed, so its master (classic) or leader
    (quorum) lives there.  A SIGSTOPped node stays stopped (the Lab kills it at
    the end).
    """
    cluster = setup.cluster
    queue = durable_queue(name, quorum)
    publisher = Publisher(cluster.client.netns, setup.urls(RABBIT_SEED), queue, timeouts,
                          max_seconds=resume_timeout + 60).start()
    try:
        wait_until(lambda: len(publisher.log.confirmed) >= 100, timeout=30,
                   what="confirmed publishes before the fault")
        master_before = cluster.queue_info("ctl2", name)["master"]
        with Consumer(cluster.client.netns, setup.urls("ctl3"), queue, timeouts) as consumer:
            wait_until(lambda: consumer.received, timeout=30, what="the consumer to receive")
            victim = cluster.nodes[RABBIT_SEED]
            if not is_beam(victim.processes["rabbit"].pid):
                raise AssertionError("the spawned PID is not the node's beam.smp")
            fault_at = time.monotonic()
            if sig == signal.SIGKILL:
                victim.kill("rabbit")
            else:
                victim.send("rabbit", sig)
            wait_until(lambda: sum(t > fault_at for t in publisher.log.confirmed.values()) >= 300,
                       timeout=resume_timeout, what="publishes to be confirmed again", interval=0.5)
            publisher.stop()
            confirmed = set(publisher.log.confirmed)
            wait_until(lambda: confirmed <= consumer.received, timeout=resume_timeout,
                       what="the consumer to receive every confirmed message", interval=0.5)
    finally:
        publisher.stop(timeout=resume_timeout)
    return PublishFault(confirmed, set(consumer.received), consumer.deliveries,
                        outage(publisher.log.confirmed.values(), fault_at),
                        [error for _, error in publisher.log.errors], master_before)


# ---------------------------------------------------------------- keepalived VIP

@dataclass
class VipSetup:
    cluster: VipCluster
    port: int                      # keystone's listener on the API VIP
    keepalived: dict[str, Any]     # merged node['deployer']['keepalived']


@dataclass
class VipFault:
    log: PollLog
    fault_at: float
    repair_at: float

    @property
    def takeover(self) -> float:
        """Fault -> first successful poll after it."""
        return self.log.first_ok_after(self.fault_at).at - self.fault_at

    def failures_after_takeover(self) -> list:
        """Failed polls between the takeover and the repair."""
        return [p for p in self.log.failures_after(self.fault_at + self.takeover)
                if p.at < self.repair_at]

    def failures_after_repair(self) -> list:
        return self.log.failures_after(self.repair_at)

    def last_failure_before_repair(self) -> float:
        """Fault -> start of the last failed poll before the repair (0 when none failed)."""
        failed = [p for p in self.log.failures_after(self.fault_at) if p.at < self.repair_at]
        return failed[-1].at - self.fault_at if failed else 0.0


# The origin's VRRP: version 2, whole-second adverts, priority 100 (0.6 s of skew).
ORIGIN_VRRP = {"vrrp_version": 2, "advert_int": 1, "base_priority": 100}


def vip_overcloud(checks: dict[str, int], keepalived: dict | None = None) -> Overcloud:
    """keepalived: attribute overrides (ORIGIN_VRRP); None keeps the cookbook's defaults, but
    preempt: these scenarios measure the failback to ctl1 as well as the takeover."""
    attributes = deep_merge(haproxy_checks(checks),
                            {"deployer": {"keepalived": {"nopreempt": False, **(keepalived or {})}}})
    return Overcloud(TWO_CONTROLLERS, vips=VIPS, attributes=attributes,
                     secrets=vrrp_secrets("vrrp_api", "vrrp_db"))


def build_vip(lab: Lab, oc: Overcloud) -> VipSetup:
    attrs = oc.merged("deployer_keepalived", "ctl1")["deployer"]
    port = attrs["haproxy"]["services"]["keystone"]["port"]
    cluster = VipCluster(
        lab, API_VIP,
        {name: (address, oc.render("deployer_keepalived", "keepalived.conf", name),
                oc.render("deployer_haproxy", "haproxy.cfg", name))
         for name, address in oc.controllers.items()},
        backend_port=port, client_ip=CLIENT_IP)
    cluster.check_configs()
    cluster.start()
    setup = VipSetup(cluster, port, attrs["keepalived"])
    settle_vip(setup, "ctl1")
    return setup


def settle_vip(setup: VipSetup, master: str) -> None:
    """Wait until ``master`` alone holds the VIP and the API answers through it."""
    cluster = setup.cluster
    wait_until(lambda: cluster.vip_holders() == [master], timeout=30,
               what=f"{master} (highest priority) to hold the VIP alone")
    with HttpPoller(cluster.client.netns, API_VIP, setup.port) as poller:
        wait_until(lambda: sum(p.ok for p in poller.log.polls[-10:]) == 10, timeout=30,
                   what="10 good polls in a row through the VIP")


def fault_vip_master(setup: VipSetup, fault: str, after_takeover: float = 2.0,
                     poll_timeout: float = 0.2) -> VipFault:
    """Poll the API VIP through ``fault`` ('link' or 'haproxy') on ctl1 and its repair.

    Polling goes on ``after_takeover`` seconds on the backup, then through the
    repair until the VIP is back on ctl1 (preempt) plus two seconds.  A failed
    poll lasts up to ``poll_timeout``, which bounds the timing resolution.
    """
    cluster = setup.cluster
    master = cluster.lbs["ctl1"]
    inject, repair = {
        "link": (lambda: master.link(False), lambda: master.link(True)),
        "haproxy": (lambda: master.kill("haproxy"), lambda: cluster.start_haproxy(master)),
    }[fault]
    with HttpPoller(cluster.client.netns, API_VIP, setup.port, timeout=poll_timeout) as poller:
        wait_until(lambda: len(poller.log.polls) >= 20, timeout=10, what="baseline polls")
        inject()
        # taken once the fault is in effect: a poll started while `ip link` or
        # the kill was still running may be served by ctl1 and would read as a
        # takeover at 0 s, making the real outage look like failures after it
        fault_at = time.monotonic()
        wait_until(lambda: cluster.vip_holders() == ["ctl2"], timeout=30,
                   what="the backup to take the VIP", interval=0.1)
        wait_until(lambda: poller.log.first_ok_after(fault_at), timeout=30,
                   what="a poll to succeed after the fault", interval=0.1)
        time.sleep(after_takeover)
        repair_at = time.monotonic()
        repair()
        wait_until(lambda: cluster.vip_holders() == ["ctl1"], timeout=30,
                   what="the VIP to return to ctl1 (preempt)", interval=0.1)
        time.sleep(2)
    return VipFault(poller.log, fault_at, repair_at)
