"""``inproc://``: oslo.messaging's in-memory transport without its 50 ms poll.

The embedded Heat runs its API and engine in one process, so RPC goes through
oslo.messaging's ``fake://`` driver.  That driver's listener looks at its queues
and, when they are empty, sleeps 50 ms before looking again
(``oslo_messaging/_drivers/impl_fake.py``), so every API -> engine call waits
for the next tick.  This driver keeps ``fake://``'s queues and semantics and
changes only the waiting: delivery notifies a condition the listeners wait on,
so a message is picked up as soon as it is queued.

Registered as the ``inproc`` entry point of ``oslo.messaging.drivers``
(setup.cfg); ``etc/heat/heat.conf.tmpl`` selects it with ``transport_url =
inproc://``.  Like ``fake://`` it only connects threads of one process.
"""
from __future__ import annotations

import threading
import time

import oslo_messaging
from oslo_messaging._drivers import base
from oslo_messaging._drivers import impl_fake

# Listeners re-check their stop flag at least this often (stop() also wakes them).
STOP_CHECK_SECONDS = 1.0
SCHEMES = ("fake://", "inproc://")   # in-memory transports: this process is the only engine


class _SignallingExchange(impl_fake.FakeExchange):
    """A fake exchange that wakes the listeners whenever it queues a message."""

    def __init__(self, name: str, arrived: threading.Condition):
        super().__init__(name)
        self._arrived = arrived

    def deliver_message(self, *args, **kwargs):
        super().deliver_message(*args, **kwargs)
        with self._arrived:
            self._arrived.notify_all()


class _SignallingExchangeManager(impl_fake.FakeExchangeManager):
    # Exchanges are per process, as in fake:// (a class attribute there too).
    _exchanges: dict[str, _SignallingExchange] = {}
    arrived = threading.Condition()

    def get_exchange(self, name):
        if name is None:
            name = self._default_exchange
        with self._exchanges_lock:
            if name not in self._exchanges:
                self._exchanges[name] = _SignallingExchange(name, self.arrived)
            return self._exchanges[name]


class _WaitingListener(impl_fake.FakeListener):
    """Takes the next message for its targets, waiting on the condition when there is none."""

    @base.batch_poll_helper
    def poll(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        arrived = self._exchange_manager.arrived
        with arrived:   # held from the look to the wait: a delivery cannot slip in between
            while not self._stopped.is_set():
                message = self._take()
                if message is not None:
                    return message
                wait = STOP_CHECK_SECONDS
                if deadline is not None:
                    wait = min(wait, deadline - time.monotonic())
                    if wait <= 0:
                        return None
                arrived.wait(wait)
        return None

    def _take(self):
        for target in self._targets:
            exchange = self._exchange_manager.get_exchange(target.exchange)
            ctxt, message, reply_q, requeue = exchange.poll(target, self._pool)
            if message is not None:
                return impl_fake.FakeIncomingMessage(ctxt, message, reply_q, requeue)
        return None

    def stop(self):
        super().stop()
        arrived = self._exchange_manager.arrived
        with arrived:
            arrived.notify_all()


class InProcessDriver(impl_fake.FakeDriver):
    """``fake://`` semantics, event-driven delivery."""

    def __init__(self, conf, url, default_exchange=None, allowed_remote_exmods=None):
        super().__init__(conf, url, default_exchange, allowed_remote_exmods)
        self._exchange_manager = _SignallingExchangeManager(default_exchange)

    def listen(self, target, batch_size, batch_timeout):
        exchange = target.exchange or self._default_exchange
        targets = [oslo_messaging.Target(topic=target.topic, server=target.server, exchange=exchange),
                   oslo_messaging.Target(topic=target.topic, exchange=exchange)]
        listener = _WaitingListener(self._exchange_manager, targets)
        return base.PollStyleListenerAdapter(listener, batch_size, batch_timeout)

    def listen_for_notifications(self, targets_and_priorities, pool, batch_size, batch_timeout):
        targets = [oslo_messaging.Target(topic=f"{target.topic}.{priority}", exchange=target.exchange)
                   for target, priority in targets_and_priorities]
        listener = _WaitingListener(self._exchange_manager, targets, pool)
        return base.PollStyleListenerAdapter(listener, batch_size, batch_timeout)

    def cleanup(self):
        self._exchange_manager.cleanup()
