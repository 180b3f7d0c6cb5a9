"""Chef registration that scales and survives a troubled Chef server.

Real goiardi behind a small real proxy (tests/fixtures/chef_proxy.py) that
loses answers, stalls or answers 503 on cue: registration with a key pair made
on the deployer side is idempotent when a request's answer was lost (the
server acted, the client timed out and sent it again), retried on 5xx, and the
errors tell a slow server from a dead one.
"""
from __future__ import annotations

import socket
import uuid

import pytest

from deployer.chef.errors import ChefAuthError, ChefTimeout, ChefUnavailable
from deployer.chef.keys import generate_client_key
from deployer.chef.server import ChefServer
from tests.fixtures.chef_proxy import ChefProxy

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def name():
    return f"reg-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def proxy(chef_server):
    with ChefProxy(int(chef_server.url.rsplit(":", 1)[1])) as proxy:
        yield proxy


def through(proxy: ChefProxy, chef_server, **options) -> ChefServer:
    """The admin client talking through the proxy, with short limits and no backoff wait."""
    options = {"timeout": 1.0, "connect_timeout": 1.0, "retries": 2, "backoff": 0.05, **options}
    return ChefServer(proxy.url, "admin", chef_server.admin_key_path, **options)


def authenticates(chef_server, name: str, private_pem: str) -> bool:
    try:
        with chef_server.client(name, private_pem) as own:
            return own.get_node(name)["name"] == name
    except ChefAuthError:
        return False


def test_a_deployer_made_key_registers_and_a_second_registration_rekeys(chef_server, name):
    first, second = generate_client_key(), generate_client_key()
    with chef_server.admin() as admin:
        assert admin.register_client(name, first.public_pem) is True
        assert admin.register_node(name, "_default", ["recipe[a]"]) is True
        assert authenticates(chef_server, name, first.private_pem)
        clients = set(admin.get("/clients"))
        assert admin.register_client(name, second.public_pem) is False
        assert admin.register_node(name, "_default", ["recipe[b]"]) is False
        assert set(admin.get("/clients")) == clients             # the same client, a new key
        assert admin.get_node(name)["run_list"] == ["recipe[b]"]
        assert authenticates(chef_server, name, second.private_pem)
        assert not authenticates(chef_server, name, first.private_pem)
        admin.remove_node(name)
    assert "PRIVATE" not in repr(first)


def test_registration_is_idempotent_after_answers_are_lost(chef_server, proxy, name):
    """The server creates the client and the node, but both answers are lost: the
    retries find them (409) and converge on the same state, one client with our key."""
    keys = generate_client_key()
    chef = through(proxy, chef_server)
    proxy.plan("lose")
    assert chef.register_client(name, keys.public_pem) is False      # created by the lost POST
    proxy.plan("lose")
    assert chef.register_node(name, "_default", ["recipe[x]"]) is False
    actions = [(method, path, action) for method, path, action in proxy.seen]
    assert actions[:2] == [("POST", "/clients", "lose"), ("POST", "/clients", "pass")]
    assert ("PUT", f"/clients/{name}", "pass") in actions
    assert ("POST", "/nodes", "lose") in actions
    with chef_server.admin() as admin:
        assert sorted(c for c in admin.get("/clients") if c == name) == [name]
        assert admin.get_node(name)["run_list"] == ["recipe[x]"]
        assert authenticates(chef_server, name, keys.private_pem)
        admin.remove_node(name)


def test_5xx_answers_are_retried_with_backoff(chef_server, proxy, name):
    keys = generate_client_key()
    chef = through(proxy, chef_server)
    proxy.plan("503", "503")
    assert chef.register_client(name, keys.public_pem) is True
    assert [a for _, _, a in proxy.seen] == ["503", "503", "pass"]
    proxy.always("503")
    with pytest.raises(ChefUnavailable) as failure:
        chef.register_node(name, "_default", [])
    assert failure.value.status == 503                 # the server's own last answer
    assert len(proxy.seen) == 3 + 3                    # one try and two retries
    proxy.clear()
    with chef_server.admin() as admin:
        assert not admin.node_exists(name)
        admin.remove_node(name)


def test_a_slow_server_is_told_from_a_dead_one(chef_server, proxy, name):
    proxy.always("stall")                              # accepts, never answers
    with pytest.raises(ChefTimeout) as slow:
        through(proxy, chef_server).register_client(name, generate_client_key().public_pem)
    assert "accepted the request but sent no answer within 1s (alive but slow or overloaded)" \
        in str(slow.value)
    assert "(3 attempts in" in str(slow.value)
    # The retry budget stops new attempts: two 1 s timeouts fit in 1.9 s, a third does not start.
    with pytest.raises(ChefTimeout) as budgeted:
        through(proxy, chef_server, retries=10, retry_budget=1.9).get_node(name)
    assert "(2 attempts in" in str(budgeted.value)
    proxy.clear()

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))                      # a port nothing listens on
    dead_url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    try:
        with pytest.raises(ChefUnavailable) as dead:
            ChefServer(dead_url, "admin", chef_server.admin_key_path, retries=1,
                       backoff=0.01).get_node(name)
    finally:
        closed.close()
    assert not isinstance(dead.value, ChefTimeout)
    assert f"the Chef server at {dead_url} refused the connection (not running) (2 attempts" \
        in str(dead.value)
