"""An oslo-like publisher (confirms, multi-URL failover) and an acking consumer, run in a netns.

The publisher publishes ids 1, 2, ... one at a time with publisher confirms;
an id counts as confirmed only once ``publish`` returned, i.e. the broker
confirmed it.  Like oslo.messaging, kombu's ``ensure`` reconnects to the next
URL and re-publishes an unconfirmed message, so duplicates are expected and the
consumer is idempotent (a set of ids).  Retries are bounded by time only.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import kombu
from kombu.mixins import ConsumerMixin

from tests.ha.netlab import NetnsThread


@dataclass
class ClientTimeouts:
    connect: float = 2.0
    socket: float = 10.0     # oslo sets one from heartbeat_timeout_threshold; hangs without it
    confirm: float = 5.0
    reconnect_delay: float = 0.0   # oslo's kombu_reconnect_delay (default 1.0)


def _connection(urls: str, timeouts: ClientTimeouts) -> kombu.Connection:
    return kombu.Connection(urls, failover_strategy="round-robin", connect_timeout=timeouts.connect,
                            transport_options={"confirm_publish": True,
                                               "read_timeout": timeouts.socket,
                                               "write_timeout": timeouts.socket})


def durable_queue(name: str, quorum: bool = False) -> kombu.Queue:
    """A durable queue on the default exchange: classic (mirrored by the HA policy) or quorum."""
    arguments = {"x-queue-type": "quorum"} if quorum else None
    return kombu.Queue(name, exchange=kombu.Exchange(""), routing_key=name, durable=True,
                       queue_arguments=arguments)


@dataclass
class PublishLog:
    confirmed: dict[int, float] = field(default_factory=dict)   # id -> monotonic confirm time
    errors: list[tuple[float, str]] = field(default_factory=list)


class Publisher:
    def __init__(self, netns: str, urls: str, queue: kombu.Queue, timeouts: ClientTimeouts,
                 first_id: int = 1, count: int | None = None, interval: float = 0.002,
                 max_seconds: float = 120.0):
        self.log = PublishLog()
        self._urls, self._queue, self._timeouts = urls, queue, timeouts
        self._first_id, self._count, self._interval = first_id, count, interval
        self._max_seconds = max_seconds
        self._stop = threading.Event()
        self._thread = NetnsThread(netns, self._loop, name="amqp-publisher")

    def _loop(self) -> None:
        deadline = time.monotonic() + self._max_seconds

        def errback(exc: Exception, _interval: float) -> None:
            self.log.errors.append((time.monotonic(), type(exc).__name__))
            if time.monotonic() > deadline or self._stop.is_set():
                raise TimeoutError("publisher gave up: deadline reached") from exc
            time.sleep(self._timeouts.reconnect_delay)

        queue = self._queue
        with _connection(self._urls, self._timeouts) as conn:
            producer = conn.Producer()
            publish = conn.ensure(producer, producer.publish, errback=errback, max_retries=None,
                                  interval_start=0, interval_step=0.1, interval_max=0.5)
            msg_id = self._first_id
            while not self._stop.is_set() and time.monotonic() < deadline:
                publish({"id": msg_id}, routing_key=queue.name, declare=[queue],
                        delivery_mode=2, timeout=self._timeouts.confirm)
                self.log.confirmed[msg_id] = time.monotonic()
                if self._count is not None and msg_id >= self._first_id + self._count - 1:
                    return
                msg_id += 1
                self._stop.wait(self._interval)

    def start(self) -> "Publisher":
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("publisher did not stop")
        if self._thread.error is not None:
            raise self._thread.error

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"publisher did not finish within {timeout:.0f} s")
        if self._thread.error is not None:
            raise self._thread.error


class _AckingConsumer(ConsumerMixin):
    def __init__(self, connection: kombu.Connection, queue: kombu.Queue, sink: "Consumer"):
        self.connection, self._queue, self._sink = connection, queue, sink

    def get_consumers(self, Consumer, channel):
        return [Consumer(queues=[self._queue], callbacks=[self._on_message],
                         prefetch_count=100, accept=["json"])]

    def _on_message(self, body, message) -> None:
        self._sink.deliveries += 1
        self._sink.received.add(body["id"])
        message.ack()


class Consumer:
    """Consumes with manual acks into a set of ids until stopped (kombu reconnects)."""

    def __init__(self, netns: str, urls: str, queue: kombu.Queue, timeouts: ClientTimeouts):
        self.received: set[int] = set()
        self.deliveries = 0
        self._mixin = _AckingConsumer(_connection(urls, timeouts), queue, self)
        self._thread = NetnsThread(netns, self._mixin.run, name="amqp-consumer")

    def __enter__(self) -> "Consumer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._mixin.should_stop = True
        self._thread.join(15)
        self._mixin.connection.release()
