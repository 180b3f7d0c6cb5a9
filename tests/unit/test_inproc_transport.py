"""The embedded Heat's ``inproc://`` RPC transport, through oslo.messaging's public API."""
from __future__ import annotations

import threading

import oslo_messaging
import pytest
from oslo_config import cfg

from deployer.undercloud import inproc_transport


class Echo:
    target = oslo_messaging.Target(version="1.0")

    def __init__(self):
        self.casts = []
        self.cast_seen = threading.Event()

    def echo(self, ctxt, value):
        return {"echo": value}

    def remember(self, ctxt, value):
        self.casts.append(value)
        self.cast_seen.set()


def _conf() -> cfg.ConfigOpts:
    # The global config, as Heat uses: oslo.messaging registers its tracing options there only.
    return cfg.CONF


@pytest.fixture
def rpc(monkeypatch):
    # A listener that missed a delivery would only look again after a minute: the
    # calls below return well before that only because delivery wakes it.
    monkeypatch.setattr(inproc_transport, "STOP_CHECK_SECONDS", 60.0)
    conf = _conf()
    transport = oslo_messaging.get_rpc_transport(conf, url="inproc://")
    assert isinstance(transport._driver, inproc_transport.InProcessDriver)
    endpoint = Echo()
    server = oslo_messaging.get_rpc_server(
        transport, oslo_messaging.Target(topic="bench", server="engine"), [endpoint],
        executor="threading")
    server.start()
    client = oslo_messaging.get_rpc_client(transport, oslo_messaging.Target(topic="bench"),
                                           timeout=20)
    yield client, endpoint
    server.stop()
    server.wait()
    transport.cleanup()


def test_call_is_answered_by_the_server_in_this_process(rpc):
    client, _ = rpc
    for value in range(20):
        assert client.call({}, "echo", value=value) == {"echo": value}


def test_cast_is_delivered(rpc):
    client, endpoint = rpc
    client.cast({}, "remember", value="x")
    assert endpoint.cast_seen.wait(20)
    assert endpoint.casts == ["x"]


def test_call_without_a_listener_times_out(monkeypatch):
    conf = _conf()
    transport = oslo_messaging.get_rpc_transport(conf, url="inproc://")
    client = oslo_messaging.get_rpc_client(transport, oslo_messaging.Target(topic="nobody"),
                                           timeout=0.2)
    with pytest.raises(oslo_messaging.MessagingTimeout):
        client.call({}, "echo", value=1)
    transport.cleanup()


def test_stopping_a_server_wakes_its_waiting_listener(monkeypatch):
    monkeypatch.setattr(inproc_transport, "STOP_CHECK_SECONDS", 60.0)
    conf = _conf()
    transport = oslo_messaging.get_rpc_transport(conf, url="inproc://")
    server = oslo_messaging.get_rpc_server(
        transport, oslo_messaging.Target(topic="idle", server="s"), [Echo()], executor="threading")
    server.start()
    stopped = threading.Thread(target=lambda: (server.stop(), server.wait()))
    stopped.start()
    stopped.join(20)
    assert not stopped.is_alive(), "stop() did not wake the listener waiting for messages"
    transport.cleanup()
