"""The clients a certification measures with, each polling on its own thread.

Every probe records when an attempt succeeded; the outage of its path is the
longest stall between successes around the fault (timeline.outage).  The
writers also remember what was acknowledged, so a loss can be counted once
the clusters are whole again:

- TokenProbe: Keystone token issue (project scoped) through the API VIP.
- DbWriteProbe: INSERT + COMMIT through the DB VIP's HAProxy listener, over one
  connection that is reopened after an error, as a service's pool would.
- RpcProbe: ``ping`` on nova-conductor's RPC server (nova.baserpc, namespace
  ``baseapi``) with oslo.messaging and nova's own messaging options: the reply
  needs the broker and a running conductor.
- ConfirmedPublisher: persistent messages published with publisher confirms to
  a durable queue of the RPC queue type; afterwards every confirmed message
  must still be in the queue (or the loss is reported as not counted).
"""
from __future__ import annotations

import logging
import math
import os
import socket
import tempfile
import threading
import time
import uuid
from typing import Any, Callable

import requests

from deployer.certify.timeline import Stall, anatomy, longest_stall, rejoin_stall

LOG = logging.getLogger(__name__)


class Probe:
    """Polls ``attempt()`` every ``interval`` seconds on a thread until stopped.

    A bare ``Probe(name=...)`` that is never started holds the attempts another
    process made (probe_process): the outage arithmetic is the same."""

    name = "probe"
    listener: Callable[[str, float, float, str], None] | None = None   # told of each attempt

    def __init__(self, interval: float = 0.2, name: str | None = None):
        self.interval = interval
        self.name = name or self.name
        self.successes: list[float] = []
        self.failures: list[float] = []         # when each failed attempt ended
        self.errors: dict[str, int] = {}        # error text -> count (for the log)
        self.attempts: list[tuple[float, float, str]] = []   # (began, ended, error or "")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"certify-{self.name}", daemon=True)

    def start(self) -> "Probe":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.close()

    def close(self) -> None:
        """Release the probe's connection (after its thread ended)."""

    def attempt(self) -> None:
        raise NotImplementedError

    def outage(self, since: float, until: float = math.inf) -> float | None:
        """Longest stall that began from ``since`` to ``until``; None when no attempt succeeded after."""
        return _length(self._stall(since, lambda times, moment: longest_stall(times, moment, until)))

    def rejoin(self, undo_at: float) -> float | None:
        """Longest stall that began after ``undo_at``; None when no attempt succeeded after it."""
        return _length(self._stall(undo_at, rejoin_stall))

    def stall_anatomy(self, since: float, until: float = math.inf) -> str:
        """What this client did during the stall ``outage(since, until)`` measures (for the log)."""
        return self._anatomy(since, self._stall(since, lambda times, moment: longest_stall(times, moment, until)))

    def rejoin_anatomy(self, undo_at: float) -> str:
        """The same for the stall ``rejoin(undo_at)`` measures."""
        return self._anatomy(undo_at, self._stall(undo_at, rejoin_stall))

    def _stall(self, moment: float, find: Callable[[list[float], float], Stall]) -> Stall | None:
        """The stall ``find`` picks around ``moment``; None while no attempt succeeded after it."""
        if not any(t >= moment for t in self.successes):
            return None
        return find(self.successes, moment)

    def _anatomy(self, moment: float, stall: Stall | None) -> str:
        start, end = stall or (moment, time.monotonic())      # never came back: the stall lasts so far
        return f"{end - start:.1f} s stall from +{start - moment:.1f} s: {anatomy(self.attempts, start, end)}"

    def succeeded_since(self, moment: float, count: int = 1) -> bool:
        return sum(t >= moment for t in self.successes) >= count

    def steady_since(self, moment: float, count: int = 1) -> bool:
        """At least ``count`` successes since ``moment`` and no failure."""
        return self.succeeded_since(moment, count) and not any(t >= moment for t in self.failures)

    def record(self, began: float, ended: float, error: str = "") -> None:
        """One attempt: a success when ``error`` is empty."""
        if error:
            self.errors[error] = self.errors.get(error, 0) + 1
            self.failures.append(ended)
        else:
            self.successes.append(ended)
        self.attempts.append((began, ended, error))
        if self.listener is not None:
            self.listener(self.name, began, ended, error)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.attempt()
                self.record(started, time.monotonic())
            except Exception as exc:            # every failure is an outage sample, never fatal
                key = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
                self.record(started, time.monotonic(), key)
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))


class TokenProbe(Probe):
    """Issues project-scoped tokens from a token (Keystone's ``token`` method).

    The password is used once, to get the first token: a password check is bcrypt by
    design (about 0.3 s of CPU here), and polling with it would load the controllers
    enough to be the outage being measured.
    """
    name = "token"

    def __init__(self, auth_url: str, user: str, password: str, project: str,
                 timeout: float = 2.0, interval: float = 0.2):
        super().__init__(interval)
        self.url = auth_url.rstrip("/") + "/auth/tokens"
        self.timeout = timeout
        self.scope = {"project": {"name": project, "domain": {"name": "Default"}}}
        self._token = self._issue({"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}})

    def _issue(self, identity: dict) -> str:
        # A fresh connection each time: a client arriving during the fault, not a kept socket.
        response = requests.post(self.url, json={"auth": {"identity": identity, "scope": self.scope}},
                                 timeout=self.timeout, headers={"Connection": "close"})
        token = response.headers.get("X-Subject-Token")
        if response.status_code != 201 or not token:
            raise RuntimeError(f"HTTP {response.status_code}")
        return token

    def attempt(self) -> None:
        self._issue({"methods": ["token"], "token": {"id": self._token}})


class DbWriteProbe(Probe):
    name = "db_write"

    def __init__(self, host: str, port: int, user: str, password: str, database: str,
                 timeout: float = 1.0, interval: float = 0.2):
        super().__init__(interval)
        self._connect_args = dict(host=host, port=port, user=user, password=password,
                                  database=database, connect_timeout=timeout,
                                  read_timeout=timeout, write_timeout=timeout, autocommit=False)
        self.series = str(uuid.uuid4())
        self.acked: set[int] = set()
        self._next = 0
        self._connection: Any = None

    def attempt(self) -> None:
        import pymysql
        if self._connection is None:
            self._connection = pymysql.connect(**self._connect_args)
        self._next += 1
        try:
            with self._connection.cursor() as cursor:
                cursor.execute("INSERT INTO writes (series, seq) VALUES (%s, %s)", (self.series, self._next))
            self._connection.commit()
        except Exception:
            self.close()      # an unknown outcome is not acknowledged; reconnect next time
            raise
        self.acked.add(self._next)

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:
                pass
            self._connection = None

    def lost(self) -> int:
        """Acknowledged writes that are not in the database (read through the VIP)."""
        import pymysql
        connection = pymysql.connect(**{**self._connect_args, "read_timeout": 30})
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT seq FROM writes WHERE series = %s", (self.series,))
                present = {row[0] for row in cursor.fetchall()}
                cursor.execute("DELETE FROM writes WHERE series = %s", (self.series,))
            connection.commit()
        finally:
            connection.close()
        return len(self.acked - present)


def messaging_conf(nova_conf: str):
    """oslo.config options as nova itself reads them: its [DEFAULT] transport_url and
    [oslo_messaging_rabbit] section, parsed from a private copy of nova.conf's text."""
    from oslo_config import cfg
    conf = cfg.ConfigOpts()
    with tempfile.TemporaryDirectory(prefix="deployer-certify-") as private:
        path = os.path.join(private, "nova.conf")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
            handle.write(nova_conf)
        conf(args=[], project="deployer-certify", default_config_files=[path],
             default_config_dirs=[])
        import oslo_messaging
        _register_global_only_options(conf)
        transport = oslo_messaging.get_rpc_transport(conf)
    return conf, transport


def _register_global_only_options(conf) -> None:
    """oslo.messaging >= 17 registers its metrics and tracing options on the global cfg.CONF
    only, then reads them from the ConfigOpts it is given: register them on ours too."""
    import importlib
    for module, group in (("oslo_messaging._metrics.client", "oslo_messaging_metrics"),
                          ("oslo_messaging._tracing.client", "oslo_messaging_tracing")):
        try:
            options = getattr(importlib.import_module(module), group)
        except (ImportError, AttributeError):
            continue        # an oslo.messaging without them
        conf.register_opts(options, group=group)


class RpcProbe(Probe):
    name = "rpc"

    def __init__(self, transport, exchange: str, timeout: float = 1.0, interval: float = 0.2):
        super().__init__(interval)
        import oslo_messaging
        target = oslo_messaging.Target(exchange=exchange, topic="conductor", namespace="baseapi",
                                       version="1.0")
        self._client = oslo_messaging.get_rpc_client(transport, target, timeout=timeout)
        self._seq = 0

    def attempt(self) -> None:
        self._seq += 1
        reply = self._client.call({}, "ping", arg=self._seq)
        if reply.get("arg") != self._seq:
            raise RuntimeError(f"unexpected reply {reply!r}")


class ConfirmedPublisher(Probe):
    name = "messages"

    def __init__(self, urls: list[str], queue: str, quorum: bool, interval: float = 0.05):
        super().__init__(interval)
        self.urls, self.queue_name, self.quorum = urls, queue, quorum
        self.confirmed: set[int] = set()
        self._seq = 0
        self._connection: Any = None
        self._producer: Any = None

    def _queue(self, channel):
        from kombu import Exchange, Queue
        arguments = {"x-queue-type": "quorum"} if self.quorum else {}
        return Queue(self.queue_name, Exchange(""), routing_key=self.queue_name, durable=True,
                     queue_arguments=arguments, channel=channel)

    def _connect(self):
        from kombu import Connection
        connection = Connection(";".join(self.urls), failover_strategy="round-robin",
                                connect_timeout=2, transport_options={"confirm_publish": True})
        connection.connect()
        return connection

    def declare(self) -> None:
        connection = self._connect()
        try:
            self._queue(connection.channel()).declare()
        finally:
            connection.release()

    def attempt(self) -> None:
        if self._connection is None:
            self._connection = self._connect()
            self._producer = self._connection.Producer()
        self._seq += 1
        try:
            # With confirm_publish, publish returns once the broker confirmed the message.
            self._producer.publish({"seq": self._seq}, exchange="", routing_key=self.queue_name,
                                   delivery_mode=2, serializer="json", timeout=2)
        except Exception:
            self.close()
            raise
        self.confirmed.add(self._seq)

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:
                pass
            self._connection = self._producer = None

    def lost(self, timeout: float = 120.0) -> int:
        """Drain the queue, then delete it; confirmed messages not received are lost.

        A consumer with a prefetch window drains it (one ``basic.get`` per message
        took over 60 s for 900 messages on loaded controllers).  Missing messages
        are only a loss once the queue is drained (idle, and the broker reports
        it empty); a drain that runs out of time first raises LossUncounted.
        """
        from kombu import Consumer
        received: set[int] = set()

        def on_message(body, message) -> None:
            # py-amqp also delivers while it waits for another reply (the cancel, the delete):
            # only what arrived in time counts
            if time.monotonic() < deadline:
                received.add(body["seq"])
                message.ack()

        drained = False
        deadline = time.monotonic() + timeout
        connection = self._connect()
        try:
            channel = connection.channel()
            queue = self._queue(channel)
            with Consumer(channel, queues=[queue], callbacks=[on_message], accept=["json"],
                          prefetch_count=500):
                while not self.confirmed <= received:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    try:
                        connection.drain_events(timeout=min(2.0, left))
                    except socket.timeout:
                        if queue.queue_declare(passive=True).message_count == 0:
                            drained = True
                            break
            queue.delete()     # either way: the next fault's sequence starts on an empty queue
        finally:
            connection.release()
        missing = self.confirmed - received
        if missing and not drained:
            raise LossUncounted(f"{len(missing)} of {len(self.confirmed)} confirmed messages not "
                                f"received and the queue not drained within {timeout:.0f} s")
        return len(missing)


def _length(stall: Stall | None) -> float | None:
    return None if stall is None else stall[1] - stall[0]


class LossUncounted(Exception):
    """A loss that could not be counted (the message says why): neither zero nor a number."""
