"""RabbitMQ cluster from the rendered configs: kill -9 the queue master, lose no confirmed message.

Three controllers in namespaces run rabbitmq-server with the rendered
rabbitmq.conf, advanced.config and rabbitmq-env.conf and one shared cookie;
the others join the deployer-chosen seed with stop_app / join_cluster /
start_app and the cookbook's set_policy arguments apply the HA policy.  The
publisher uses confirms and the multi-URL failover oslo.messaging builds from
rabbit_hosts; the consumer acks.  The cluster boots once for this module.
"""
from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest

from tests.ha.amqp_clients import ClientTimeouts, Consumer, Publisher
from tests.ha.cluster_rabbitmq import RABBIT_BIN, RabbitCluster
from tests.ha.conftest import require_ha
from tests.ha.rendered import Overcloud
from tests.ha.waiting import wait_until

pytestmark = pytest.mark.ha

CONTROLLERS = {"ctl1": "10.252.0.11", "ctl2": "10.252.0.12", "ctl3": "10.252.0.13"}
CLIENT_IP = "10.252.0.50"
SEED = "ctl1"
TEMPLATES = ("rabbitmq.conf", "advanced.config", "rabbitmq-env.conf")
HELPERS = "DeployerRabbitmq::Helpers"


def overcloud() -> Overcloud:
    # long names: Erlang node names carry the address, so namespaces need no DNS
    return Overcloud(CONTROLLERS, attributes={"deployer": {"rabbitmq": {
        "seed_node": SEED, "use_longname": True}}})


def rendered_nodes(oc: Overcloud) -> dict[str, tuple[str, str, dict[str, str]]]:
    nodes = {}
    for name, address in CONTROLLERS.items():
        config_dir = oc.merged("deployer_rabbitmq", name)["deployer"]["rabbitmq"]["config_dir"]
        node_name = oc.helper("deployer_rabbitmq", f"{HELPERS}.node_name", name,
                              {"name": name, "address": address})
        files = {f"{config_dir}/{template}": oc.render("deployer_rabbitmq", template, name)
                 for template in TEMPLATES}
        nodes[name] = (address, node_name, files)
    return nodes


@pytest.fixture(scope="module")
def rabbit(lab_factory):
    require_ha("epmd", f"{RABBIT_BIN}/rabbitmq-server")
    oc = overcloud()
    cluster = RabbitCluster(lab_factory("havr"), rendered_nodes(oc),
                            cookie=secrets.token_hex(16), client_ip=CLIENT_IP)
    policy_args = oc.helper("deployer_rabbitmq", f"{HELPERS}.set_policy_args", SEED)
    assert policy_args, "the classic_mirrored default must render an HA policy"
    cluster.form(SEED, policy_args)
    password = secrets.token_urlsafe(12)
    cluster.add_user("nova", password)
    assert cluster.running_nodes(SEED) == set(cluster.node_names.values())
    return cluster, password


def is_beam(pid: int) -> bool:
    return Path(f"/proc/{pid}/comm").read_text().strip() == "beam.smp"


def test_killing_the_queue_master_loses_no_confirmed_message(rabbit, record_property):
    cluster, password = rabbit
    timeouts = ClientTimeouts()
    queue = "ha.kill"
    publisher = Publisher(cluster.client.netns, cluster.amqp_urls("nova", password, first=SEED),
                          queue, timeouts).start()
    try:
        wait_until(lambda: len(publisher.log.confirmed) >= 100, timeout=30,
                   what="confirmed publishes before the fault")
        info = cluster.queue_info("ctl2", queue)
        assert info["master"] == [cluster.node_names[SEED]], info
        assert set(info["synchronised"]) == {cluster.node_names["ctl2"],
                                             cluster.node_names["ctl3"]}, info
        with Consumer(cluster.client.netns, cluster.amqp_urls("nova", password, first="ctl3"),
                      queue, timeouts) as consumer:
            wait_until(lambda: consumer.received, timeout=30, what="the consumer to receive")
            victim = cluster.nodes[SEED]
            assert is_beam(victim.processes["rabbit"].pid)
            killed_at = time.monotonic()
            victim.kill("rabbit")
            wait_until(lambda: sum(t > killed_at for t in publisher.log.confirmed.values()) >= 300,
                       timeout=60, what="publishes to be confirmed again after the kill")
            publisher.stop()
            confirmed = set(publisher.log.confirmed)
            wait_until(lambda: confirmed <= consumer.received, timeout=60,
                       what="the consumer to receive every confirmed message")
    finally:
        publisher.stop()
    outage = publisher.log.first_confirm_after(killed_at) - killed_at
    record_property("publish_outage_s", round(outage, 2))
    print(f"publish outage after kill -9 of the master: {outage:.2f} s; {len(confirmed)} "
          f"confirmed, {consumer.deliveries - len(consumer.received)} duplicate deliveries")
    assert not confirmed - consumer.received

    # the killed node comes back into the cluster
    cluster.start_node(SEED)
    cluster.wait_started(SEED)
    wait_until(lambda: cluster.running_nodes("ctl2") == set(cluster.node_names.values()),
               timeout=60, what=f"{SEED} to rejoin the cluster")


def test_restarted_node_gets_a_synchronised_mirror(rabbit):
    cluster, password = rabbit
    queue, backlog = "ha.sync", 300
    urls = cluster.amqp_urls("nova", password, first="ctl2")
    Publisher(cluster.client.netns, urls, queue, ClientTimeouts(), count=backlog).start().join(60)
    victim = next(name for name, node in cluster.node_names.items()
                  if node in cluster.queue_info("ctl2", queue)["synchronised"])
    cluster.nodes[victim].kill("rabbit")
    # messages published while the mirror is down exist on the other two nodes only
    Publisher(cluster.client.netns, urls, queue, ClientTimeouts(), first_id=backlog + 1,
              count=backlog).start().join(60)
    cluster.start_node(victim)
    cluster.wait_started(victim)
    survivor = next(name for name in cluster.nodes if name != victim)
    wait_until(lambda: cluster.node_names[victim] in
               cluster.queue_info(survivor, queue)["synchronised"],
               timeout=60, what=f"the mirror on {victim} to synchronise (ha-sync-mode automatic)")
    with Consumer(cluster.client.netns, urls, queue, ClientTimeouts()) as consumer:
        wait_until(lambda: len(consumer.received) >= 2 * backlog, timeout=60,
                   what="the whole backlog to be consumed")
    assert consumer.received == set(range(1, 2 * backlog + 1))
