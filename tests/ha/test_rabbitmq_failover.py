"""RabbitMQ cluster from the rendered configs: kill -9 the queue master, lose no confirmed message.

Three controllers in namespaces run rabbitmq-server with the rendered
rabbitmq.conf, advanced.config and rabbitmq-env.conf and one shared cookie;
the others join the deployer-chosen seed with stop_app / join_cluster /
start_app and the cookbook's set_policy arguments apply the HA policy.  The
publisher uses confirms and the multi-URL failover oslo.messaging builds from
rabbit_hosts; the consumer acks.  The cluster boots once for this module.
"""
from __future__ import annotations

import signal

import kombu
import pytest

from deployer.certify.probes import ConfirmedPublisher, LossUncounted
from tests.ha.amqp_clients import ClientTimeouts, Consumer, Publisher, durable_queue
from tests.ha.cluster_rabbitmq import RABBIT_BIN
from tests.ha.conftest import require_ha
from tests.ha.netlab import call_in_netns
from tests.ha.scenarios import RABBIT_SEED, build_rabbit, fault_queue_master, rabbit_overcloud
from tests.ha.waiting import wait_until

pytestmark = pytest.mark.ha


@pytest.fixture(scope="module")
def rabbit(lab_factory):
    require_ha("epmd", f"{RABBIT_BIN}/rabbitmq-server")
    setup = build_rabbit(lab_factory("havr"), rabbit_overcloud())
    assert setup.cluster.running_nodes(RABBIT_SEED) == set(setup.cluster.node_names.values())
    return setup


def test_killing_the_queue_master_loses_no_confirmed_message(rabbit, record_property):
    cluster = rabbit.cluster
    result = fault_queue_master(rabbit, "ha.kill", signal.SIGKILL, ClientTimeouts())
    record_property("publish_outage_s", round(result.outage, 2))
    print(f"publish outage after kill -9 of the master: {result.outage:.2f} s; "
          f"{len(result.confirmed)} confirmed, "
          f"{result.deliveries - len(result.received)} duplicate deliveries")

    assert result.master_before == [cluster.node_names[RABBIT_SEED]]
    assert not result.confirmed - result.received, "confirmed messages were lost"
    # the killed node comes back into the cluster
    cluster.start_node(RABBIT_SEED)
    cluster.wait_started(RABBIT_SEED)
    wait_until(lambda: cluster.running_nodes("ctl2") == set(cluster.node_names.values()),
               timeout=60, what=f"{RABBIT_SEED} to rejoin the cluster")


def test_restarted_node_gets_a_synchronised_mirror(rabbit):
    cluster = rabbit.cluster
    wait_until(lambda: cluster.running_nodes("ctl2") == set(cluster.node_names.values()),
               timeout=60, what="all nodes running before the fault")
    queue, backlog = durable_queue("ha.sync"), 300
    urls = rabbit.urls(first="ctl2")
    Publisher(cluster.client.netns, urls, queue, ClientTimeouts(), count=backlog).start().join(60)
    victim = next(name for name, node in cluster.node_names.items()
                  if node in cluster.queue_info("ctl2", queue.name)["synchronised"])
    cluster.nodes[victim].kill("rabbit")
    # messages published while the mirror is down exist on the other two nodes only
    Publisher(cluster.client.netns, urls, queue, ClientTimeouts(), first_id=backlog + 1,
              count=backlog).start().join(60)
    cluster.start_node(victim)
    cluster.wait_started(victim)
    survivor = next(name for name in cluster.nodes if name != victim)
    wait_until(lambda: cluster.node_names[victim] in
               cluster.queue_info(survivor, queue.name)["synchronised"],
               timeout=60, what=f"the mirror on {victim} to synchronise (ha-sync-mode automatic)")
    with Consumer(cluster.client.netns, urls, queue, ClientTimeouts()) as consumer:
        wait_until(lambda: len(consumer.received) >= 2 * backlog, timeout=60,
                   what="the whole backlog to be consumed")
    assert consumer.received == set(range(1, 2 * backlog + 1))


def test_killing_the_quorum_queue_leader_loses_no_confirmed_message(rabbit, record_property):
    """queue_type 'quorum' (oslo's rabbit_quorum_queue) gives the same guarantee."""
    cluster = rabbit.cluster
    wait_until(lambda: cluster.running_nodes("ctl2") == set(cluster.node_names.values()),
               timeout=60, what="all nodes running before the fault")
    result = fault_queue_master(rabbit, "qq.kill", signal.SIGKILL, ClientTimeouts(), quorum=True)
    record_property("quorum_publish_outage_s", round(result.outage, 2))
    print(f"publish outage after kill -9 of the quorum leader: {result.outage:.2f} s; "
          f"{len(result.confirmed)} confirmed, {len(result.publisher_errors)} publisher errors")
    assert result.master_before == [cluster.node_names[RABBIT_SEED]]
    assert not result.confirmed - result.received, "confirmed messages were lost"


def test_the_certify_publisher_counts_losses_only_from_a_drained_queue(rabbit):
    """``deployer certify``'s publisher: 0 when every confirmed message is drained, the
    missing ones when the broker says the queue is empty, and no count at all (an
    error saying the queue was not drained) when the drain runs out of time."""
    urls = rabbit.urls(RABBIT_SEED).split(";")

    def publish(name: str, count: int) -> ConfirmedPublisher:
        publisher = ConfirmedPublisher(urls, name, quorum=True)
        publisher.declare()
        for _ in range(count):
            publisher.attempt()
        publisher.close()
        return publisher

    def scenario():
        drained = publish("certify.drained", 300)
        assert drained.lost() == 0

        taken = publish("certify.taken", 50)
        with kombu.Connection(";".join(urls)) as connection:   # someone else consumes 7
            queue = taken._queue(connection.channel())
            for _ in range(7):
                queue.get(no_ack=True)
        assert taken.lost() == 7

        slow = publish("certify.slow", 40)
        with pytest.raises(LossUncounted, match="40 of 40 confirmed messages not received"):
            slow.lost(timeout=0)
        # the queue is gone either way: the next fault's sequence starts clean
        assert publish("certify.slow", 0).lost() == 0

    call_in_netns(rabbit.cluster.client.netns, scenario, timeout=120)
