"""Node runs end to end: real goiardi, real sshd test nodes, the chef-client stand-in.

Each test bootstraps a bare test node with ``deployer.bootstrap.runner.execute``
and then looks at the result where it lands: the Chef server (node object,
client and its key), the node's disk, and what the runner reported.  Nothing is
mocked; the one stand-in is chef-client itself (tests/standin/README.md).

The nodes live in network namespaces and cannot reach goiardi on the host's
loopback, so a socat relay listens on the node bridge's host address and
forwards to goiardi; client.rb points at the relay (``chef_server_url``).
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import http.server
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from deployer.bootstrap.contract import (
    CANCELLED, FAILED, PHASES, SUCCEEDED, ChefInstallSource, NodeTarget, RunSpec)
from deployer.bootstrap.runner import execute
from deployer.bootstrap.ssh import Liveness
from deployer.chef.cookbooks import upload_cookbook
from deployer.chef.errors import ChefAuthError
from deployer.chef.server import ChefServer
from deployer.undercloud.process import free_port
from tests.fixtures.chef import relay_for_nodes
from tests.fixtures.chef_proxy import ChefProxy
from tests.fixtures.common import require_root_and
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.timeout(300)

STANDIN = Path(__file__).resolve().parent.parent / "standin" / "chef-client"
ENV = "bs_prod"
SLOW_ENV = "bs_slow"
QUIET_ENV = "bs_quiet"          # a converge that prints nothing for longer than FAST_LIVENESS's idle timeout
FAST_LIVENESS = Liveness(keepalive_interval=1.0, idle_timeout=5.0)
ROLE = "bs_primary"


class Collect:
    """A RunReporter that keeps everything in memory; can request a cancel."""

    def __init__(self, cancel_when: str | None = None):
        self.phases: list[str] = []
        self.chunks: list[tuple[str, str]] = []
        self.cancel_when = cancel_when

    def phase(self, name):
        self.phases.append(name)

    def output(self, stream, text):
        self.chunks.append((stream, text))

    def cancelled(self):
        return bool(self.cancel_when) and self.cancel_when in self.text

    @property
    def text(self) -> str:
        return "".join(text for _, text in self.chunks)


# -- fixtures -------------------------------------------------------------------
@pytest.fixture(scope="module")
def node_set(test_nodes_factory):
    require_root_and("socat")
    node_set = test_nodes_factory(8)
    yield node_set
    test_nodes_factory.discard(node_set)


@pytest.fixture(scope="module")
def nodes(node_set):
    return node_set.nodes()


@pytest.fixture(scope="module")
def gateway(node_set) -> str:
    """The host's address on the nodes' bridge."""
    return f"{node_set.subnet}.1"


@pytest.fixture(scope="module")
def node_chef_url(chef_server, gateway):
    """A socat relay gateway:port -> goiardi, the Chef server URL as nodes see it."""
    with relay_for_nodes(chef_server.url, gateway) as url:
        yield url


@pytest.fixture(scope="module")
def admin(chef_server, tmp_path_factory):
    """The admin client, with a tiny cookbook, a role and two environments on the server."""
    chef = chef_server.admin()
    cookbook = tmp_path_factory.mktemp("cookbooks") / "bs_probe"
    (cookbook / "recipes").mkdir(parents=True)
    (cookbook / "metadata.rb").write_text("name 'bs_probe'\nversion '0.3.0'\n")
    (cookbook / "recipes" / "default.rb").write_text("log 'bs_probe default'\n")
    (cookbook / "recipes" / "db.rb").write_text("log 'bs_probe db'\n")
    upload_cookbook(chef, cookbook)
    chef.upsert_environment({"name": ENV, "default_attributes": {"site": {"vip": "10.0.0.100"}}})
    chef.upsert_environment({"name": SLOW_ENV, "default_attributes": {"standin": {"sleep": 120}}})
    chef.upsert_environment({"name": QUIET_ENV, "default_attributes": {"standin": {"sleep": 12}}})
    chef.upsert_role({"name": ROLE, "run_list": ["recipe[bs_probe]"],
                      "env_run_lists": {ENV: ["recipe[bs_probe]", "recipe[bs_probe::db]"]}})
    yield chef
    chef.close()


def spec_for(node, name: str, node_chef_url: str, **changes) -> RunSpec:
    target = dict(address=node.ip, port=node.port, user=node.username, password=node.password,
                  host_key_fingerprint=node.host_key_fingerprint, connect_timeout=5.0)
    target.update(changes.pop("target", {}))
    spec = dict(node_name=name, target=NodeTarget(**target), run_list=[f"role[{ROLE}]"],
                environment=ENV, chef_server_url=node_chef_url,
                install=ChefInstallSource(kind="copy", location=str(STANDIN)), timeout=120.0)
    spec.update(changes)
    return RunSpec(**spec)


def assert_no_secret(reporter: Collect, result, *secrets: str) -> None:
    for secret in secrets:
        if secret:
            assert secret not in reporter.text
            assert secret not in result.reason


def assert_not_registered(admin: ChefServer, name: str) -> None:
    assert not admin.node_exists(name), f"Chef node {name} was left behind"
    assert not admin.client_exists(name), f"Chef client {name} was left behind"


# -- successful runs -----------------------------------------------------------------
def test_password_run_bootstraps_and_converges(nodes, admin, chef_server, node_chef_url):
    node, name = nodes[0], "bs-password"
    reporter = Collect()
    result = execute(spec_for(node, name, node_chef_url), reporter, admin)

    assert result.status == SUCCEEDED, result.reason
    assert result.exit_code == 0
    assert reporter.phases == list(PHASES)
    assert "STAND-IN" in reporter.text                  # the copied program converged
    assert "Recipe: bs_probe::db" in reporter.text      # env_run_lists of the role honoured
    assert node.host_key_fingerprint in reporter.text
    assert_no_secret(reporter, result, node.password)

    chef_node = admin.get_node(name)
    assert chef_node["run_list"] == [f"role[{ROLE}]"]
    assert chef_node["chef_environment"] == ENV
    assert chef_node["automatic"]["ipaddress"] == node.ip
    assert chef_node["automatic"]["recipes"] == ["bs_probe", "bs_probe::db"]
    assert chef_node["automatic"]["roles"] == [ROLE]

    client_rb = node.read_file("/etc/chef/client.rb")
    assert f"chef_server_url  '{node_chef_url}'" in client_rb
    assert "node_name        'bs-password'" in client_rb
    assert "client_key       '/etc/chef/client.pem'" in client_rb
    assert '"run_list"' in node.read_file("/etc/chef/first-boot.json")
    assert node.exec("stat -c '%a %U' /etc/chef/client.pem").stdout.strip() == "600 root"

    # The key on the node is the client's own, and it authenticates as that client.
    key = node.read_file("/etc/chef/client.pem")
    assert key not in reporter.text
    with chef_server.client(name, key) as own:
        assert own.get_node(name)["name"] == name


def test_key_run_then_rerun_rekeys_one_client_and_keeps_the_node(nodes, admin, chef_server, node_chef_url):
    node, name = nodes[1], "bs-key"
    spec = spec_for(node, name, node_chef_url, target={"password": None, "key_file": str(node.key_file)})
    first = execute(spec, Collect(), admin)
    assert first.status == SUCCEEDED, first.reason
    old_key = node.read_file("/etc/chef/client.pem")
    node_before = admin.get_node(name)
    node_before["normal"]["operator_note"] = "kept across re-runs"
    admin.update_node(node_before)

    clients_before = set(admin.get("/clients"))
    reporter = Collect()
    second = execute(spec, reporter, admin)
    assert second.status == SUCCEEDED, second.reason
    assert "already installed" in reporter.text and "rekeyed" in reporter.text

    new_key = node.read_file("/etc/chef/client.pem")
    assert new_key != old_key
    assert set(admin.get("/clients")) == clients_before       # rekeyed, no second client
    with pytest.raises(ChefAuthError):
        with chef_server.client(name, old_key) as stale:
            stale.get_node(name)
    with chef_server.client(name, new_key) as fresh:
        after = fresh.get_node(name)
    assert after["normal"]["operator_note"] == "kept across re-runs"
    assert after["automatic"]["ohai_time"] > node_before["automatic"]["ohai_time"]


def test_non_root_user_with_nopasswd_sudo(nodes, admin, node_chef_url):
    node, name = nodes[2], "bs-sudo-nopasswd"
    password = "Deploy-nopw-7c1"
    create_user(node, "deploy", password, "NOPASSWD: ALL")
    reporter = Collect()
    result = execute(spec_for(node, name, node_chef_url,
                              target={"user": "deploy", "password": password, "sudo": True}),
                     reporter, admin)
    assert result.status == SUCCEEDED, result.reason
    assert "root through sudo" in reporter.text
    assert node.exec("stat -c '%a %U' /etc/chef/client.pem").stdout.strip() == "600 root"
    assert admin.get_node(name)["automatic"]["ipaddress"] == node.ip
    assert_no_secret(reporter, result, password)


def test_non_root_user_with_password_sudo_never_shows_the_password(nodes, admin, node_chef_url):
    node, name = nodes[3], "bs-sudo-password"
    password = "Deploy-pw-4e9"
    create_user(node, "deploy2", password, "ALL")
    reporter = Collect()
    result = execute(spec_for(node, name, node_chef_url,
                              target={"user": "deploy2", "password": password, "sudo": True}),
                     reporter, admin)
    assert result.status == SUCCEEDED, result.reason
    assert_no_secret(reporter, result, password)
    assert "__deployer_ready_" not in reporter.text      # the no-echo handshake stays invisible
    assert "Chef Infra Client finished" in reporter.text
    assert admin.get_node(name)["chef_environment"] == ENV


def create_user(node, user: str, password: str, sudo_rule: str) -> None:
    script = (f"useradd -m -s /bin/sh {user} && echo '{user}:{password}' | chpasswd && "
              f"echo '{user} ALL=(ALL) {sudo_rule}' > /etc/sudoers.d/{user} && "
              f"chmod 0440 /etc/sudoers.d/{user}")
    result = node.exec(script)
    assert result.returncode == 0, result.stderr


@contextlib.contextmanager
def serving(directory: Path, address: str):
    """A plain HTTP server for ``directory`` on ``address`` (nodes reach the bridge's host side)."""
    port = free_port(address)
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(directory), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer((address, port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{address}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_install_from_url_runs_the_installer_script(nodes, admin, node_chef_url, gateway, tmp_path):
    """kind=url: the node downloads an omnitruck-style install.sh and runs it."""
    node, name = nodes[4], "bs-url-install"
    shutil.copy(STANDIN, tmp_path / "chef-client")
    with serving(tmp_path, gateway) as base:
        (tmp_path / "install.sh").write_text(
            "#!/bin/sh\nset -e\n"
            f"curl -fsSL -o /usr/local/bin/chef-client {base}/chef-client\n"
            "chmod 0755 /usr/local/bin/chef-client\necho installed chef-client\n")
        reporter = Collect()
        result = execute(spec_for(node, name, node_chef_url, install=ChefInstallSource(
            kind="url", location=f"{base}/install.sh")), reporter, admin)
    assert result.status == SUCCEEDED, result.reason
    assert "installed chef-client" in reporter.text


def test_parallel_runs_on_several_nodes(nodes, chef_server, admin, node_chef_url):
    """As the worker does: one thread and one Chef client per run, all at once."""
    targets = {f"bs-parallel-{node.index}": node for node in nodes[1:4]}

    def run(name):
        with chef_server.admin() as own_admin:
            return execute(spec_for(targets[name], name, node_chef_url), Collect(), own_admin)

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(targets)) as pool:
        results = dict(zip(targets, pool.map(run, targets)))
    for name, result in results.items():
        assert result.status == SUCCEEDED, result.reason
        assert admin.get_node(name)["automatic"]["ipaddress"] == targets[name].ip


# -- failures ------------------------------------------------------------------------
def test_wrong_password_fails_in_connect_and_registers_nothing(nodes, admin, node_chef_url):
    node, name = nodes[5], "bs-wrong-password"
    wrong = "definitely-Wrong-pw"
    reporter = Collect()
    result = execute(spec_for(node, name, node_chef_url, target={"password": wrong}), reporter, admin)
    assert result.status == FAILED
    assert result.reason.startswith(f"node {name} ({node.ip}): connect failed: authentication failed")
    assert "\n" not in result.reason
    assert reporter.phases == ["connect"]
    assert_no_secret(reporter, result, wrong)
    assert_not_registered(admin, name)


def test_refused_timeout_hung_and_no_route_are_told_apart(node_set, nodes, admin, node_chef_url):
    node = nodes[6]
    node_set.stop(node.index)
    try:
        refused = execute(spec_for(node, "bs-refused", node_chef_url), Collect(), admin)
    finally:
        node_set.start(node.index)
    node_set.link_down(node.index)
    try:
        started = time.monotonic()
        timed_out = execute(spec_for(node, "bs-timeout", node_chef_url, target={"connect_timeout": 2.0}),
                            Collect(), admin)
        elapsed = time.monotonic() - started
    finally:
        node_set.link_up(node.index)
    node_set.pause(node.index)      # TCP still answers (kernel), sshd does not
    try:
        hung = execute(spec_for(node, "bs-hung", node_chef_url, target={"connect_timeout": 2.0}),
                       Collect(), admin)
    finally:
        node_set.resume(node.index)
    # An address on the nodes' subnet where no node lives: ARP fails, the kernel says no route.
    vacant = f"{node.ip.rsplit('.', 1)[0]}.250"
    unreachable = execute(spec_for(node, "bs-no-route", node_chef_url,
                                   target={"address": vacant, "connect_timeout": 8.0}), Collect(), admin)
    assert unreachable.status == FAILED
    assert f"connect failed: no route to {vacant}:22" in unreachable.reason
    assert refused.status == timed_out.status == hung.status == FAILED
    assert "connect failed: connection refused" in refused.reason
    assert "connect failed: no answer from" in timed_out.reason and "within 2s" in timed_out.reason
    assert elapsed < 10
    assert "connect failed: " in hung.reason and "sent no SSH banner within 2s" in hung.reason
    for name in ("bs-refused", "bs-timeout", "bs-hung", "bs-no-route"):
        assert_not_registered(admin, name)


def test_install_present_fails_without_chef_client_then_command_installs_it(nodes, admin, node_chef_url,
                                                                              gateway, tmp_path):
    node, name = nodes[6], "bs-install-kinds"
    absent = execute(spec_for(node, name, node_chef_url, install=ChefInstallSource(kind="present")),
                     Collect(), admin)
    assert absent.status == FAILED
    assert absent.reason.startswith(f"node {name} ({node.ip}): install failed: chef-client is not installed")
    assert_not_registered(admin, name)

    # an installer that succeeds without installing anything is caught before registering
    pretended = execute(spec_for(node, name, node_chef_url, install=ChefInstallSource(
        kind="command", location="echo pretending to install")), Collect(), admin)
    assert pretended.status == FAILED
    assert pretended.reason.startswith(f"node {name} ({node.ip}): install failed: chef-client is still not "
                                       "on the PATH after installing it"), pretended.reason
    assert_not_registered(admin, name)

    # kind=command: a site's own install command, run as root on the node; here it
    # fetches the stand-in from a site mirror (the checkout may sit where nodes see
    # nothing, e.g. /tmp, and the bundle is too big to carry in a command line).
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copy(STANDIN, mirror / "chef-client")
    with serving(mirror, gateway) as base:
        command = (f"curl -fsS -o /usr/local/bin/chef-client {base}/chef-client && "
                   f"chmod 0755 /usr/local/bin/chef-client && echo site-installer-done")
        reporter = Collect()
        installed = execute(spec_for(node, name, node_chef_url,
                                     install=ChefInstallSource(kind="command", location=command)),
                            reporter, admin)
    assert installed.status == SUCCEEDED, installed.reason
    assert "site-installer-done" in reporter.text


def test_unknown_environment_fails_in_register_before_creating_anything(nodes, admin, node_chef_url):
    node, name = nodes[5], "bs-no-env"
    result = execute(spec_for(node, name, node_chef_url, environment="bs_no_such_env"), Collect(), admin)
    assert result.status == FAILED
    assert result.reason == (f"node {name} ({node.ip}): register failed: Chef environment bs_no_such_env "
                             "does not exist on the Chef server; last output: (none)")
    assert_not_registered(admin, name)


def test_unusable_login_key_is_reported_as_such(nodes, admin, node_chef_url, tmp_path):
    node = nodes[5]
    encrypted = tmp_path / "id_encrypted"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "a-passphrase", "-f", str(encrypted)],
                   check=True)
    results = {
        "encrypted": execute(spec_for(node, "bs-key-encrypted", node_chef_url,
                                      target={"password": None, "key_file": str(encrypted)}), Collect(), admin),
        "missing": execute(spec_for(node, "bs-key-missing", node_chef_url,
                                    target={"password": None, "key_file": str(tmp_path / "nope")}),
                           Collect(), admin),
    }
    assert all(result.status == FAILED for result in results.values())
    assert f"connect failed: the SSH key file {encrypted} is encrypted" in results["encrypted"].reason
    assert f"connect failed: cannot read the SSH key file {tmp_path / 'nope'}" in results["missing"].reason


def test_host_key_mismatch_is_detected(nodes, admin, node_chef_url):
    node, name = nodes[5], "bs-hostkey"
    pinned = "SHA256:" + "A" * 43
    result = execute(spec_for(node, name, node_chef_url, target={"host_key_fingerprint": pinned}),
                     Collect(), admin)
    assert result.status == FAILED
    assert "connect failed: host key mismatch" in result.reason
    assert pinned in result.reason and node.host_key_fingerprint in result.reason
    assert_not_registered(admin, name)


def test_unresolvable_run_list_fails_in_converge_with_the_clients_message(nodes, admin, node_chef_url):
    node, name = nodes[5], "bs-unresolvable"
    result = execute(spec_for(node, name, node_chef_url,
                              run_list=["recipe[bs_probe]", "recipe[bs_not_uploaded::server]"]),
                     Collect(), admin)
    assert result.status == FAILED
    assert result.exit_code == 1
    assert result.reason.startswith(f"node {name} ({node.ip}): converge failed: chef-client exited with status 1")
    assert "Missing Cookbooks: bs_not_uploaded" in result.reason
    # A converge failure keeps the registration: the next run rekeys and retries.
    assert admin.node_exists(name) and admin.client_exists(name)


def test_configure_failure_on_a_first_run_removes_what_register_created(nodes, admin, node_chef_url):
    node, name = nodes[7], "bs-configure-fails"
    assert node.exec("rm -rf /etc/chef && touch /etc/chef").returncode == 0   # a file where the dir goes
    try:
        result = execute(spec_for(node, name, node_chef_url), Collect(), admin)
    finally:
        node.exec("rm -f /etc/chef")
    assert result.status == FAILED
    assert f"node {name} ({node.ip}): configure failed:" in result.reason
    assert "mkdir" in result.reason          # the node's own complaint is in the tail
    assert_not_registered(admin, name)


def test_cancel_during_converge_hangs_up_chef_client(nodes, admin, node_chef_url):
    node, name = nodes[6], "bs-cancel"
    reporter = Collect(cancel_when="simulating a long converge")
    started = time.monotonic()
    result = execute(spec_for(node, name, node_chef_url, environment=SLOW_ENV), reporter, admin)
    assert result.status == CANCELLED, result.reason
    assert time.monotonic() - started < 30
    assert f"node {name} ({node.ip}): cancelled during converge" in result.reason
    assert_chef_client_ends(node)


def test_whole_run_timeout_fails_the_run(nodes, admin, node_chef_url):
    node, name = nodes[7], "bs-run-timeout"
    result = execute(spec_for(node, name, node_chef_url, environment=SLOW_ENV, timeout=8.0),
                     Collect(), admin)
    assert result.status == FAILED
    assert "converge failed: the run exceeded its time limit of 8s" in result.reason
    assert_chef_client_ends(node)


def assert_chef_client_ends(node) -> None:
    """Closing the channel hung chef-client up: it is gone from the node soon after."""
    try:
        wait_until(lambda: node.exec(["pgrep", "-f", "chef-client -E"]).returncode, 10,
                   "chef-client gone from the node", until=lambda code: code != 0)
    except AssertionError:
        raise AssertionError("chef-client still runs on the node:\n"
                             + node.exec(["ps", "-ef"]).stdout) from None


def test_node_crash_during_converge_fails_the_run_promptly(node_set, nodes, admin, node_chef_url):
    node, name = nodes[4], "bs-crash"

    class CrashOnLongConverge(Collect):
        def output(self, stream, text):
            super().output(stream, text)
            if "simulating a long converge" in text:
                node_set.crash(node.index)      # power cut while chef-client runs

    started = time.monotonic()
    try:
        result = execute(spec_for(node, name, node_chef_url, environment=SLOW_ENV),
                         CrashOnLongConverge(), admin)
    finally:
        node_set.start(node.index)
    assert result.status == FAILED
    assert time.monotonic() - started < 30
    assert result.reason.startswith(f"node {name} ({node.ip}): converge failed: the SSH connection")
    assert "simulating a long converge" in result.reason      # the tail shows how far it got


# -- a troubled Chef server during register --------------------------------------------
@pytest.fixture
def troubled_chef(chef_server):
    """The deployer's admin client reaching goiardi through a proxy that misbehaves on cue."""
    with ChefProxy(int(chef_server.url.rsplit(":", 1)[1])) as proxy:
        chef = ChefServer(proxy.url, "admin", chef_server.admin_key_path, timeout=1.0,
                          connect_timeout=1.0, retries=2, backoff=0.05)
        yield proxy, chef
        chef.close()


def test_register_survives_lost_answers_and_the_node_converges_with_its_own_key(
        nodes, admin, chef_server, node_chef_url, troubled_chef):
    """The server acts on POST /clients and POST /nodes but their answers are lost;
    the retries find both (409) and the run goes on with the key made here."""
    proxy, chef = troubled_chef
    node, name = nodes[2], "bs-lost-answers"
    clients_before = set(admin.get("/clients"))
    proxy.plan("pass", "lose", "pass", "pass", "lose")     # GET env, POST /clients, ..., POST /nodes
    reporter = Collect()
    result = execute(spec_for(node, name, node_chef_url), reporter, chef)
    assert result.status == SUCCEEDED, result.reason
    assert [(m, p) for m, p, a in proxy.seen if a == "lose"] == [("POST", "/clients"), ("POST", "/nodes")]
    assert set(admin.get("/clients")) == clients_before | {name}     # one client, not two
    with chef_server.client(name, node.read_file("/etc/chef/client.pem")) as own:
        assert own.get_node(name)["automatic"]["ipaddress"] == node.ip


@pytest.mark.parametrize("trouble", ["stall", "dead"])
def test_register_against_a_slow_or_dead_chef_server_says_which(nodes, admin, node_chef_url,
                                                                troubled_chef, chef_server, trouble):
    proxy, chef = troubled_chef
    node, name = nodes[2], f"bs-chef-{trouble}"
    if trouble == "stall":
        proxy.always("stall")
    else:
        chef = ChefServer(f"http://127.0.0.1:{free_port()}", "admin", chef_server.admin_key_path,
                          retries=1, backoff=0.05)
    result = execute(spec_for(node, name, node_chef_url), Collect(), chef)
    proxy.clear()
    assert result.status == FAILED
    assert result.reason.startswith(f"node {name} ({node.ip}): register failed: Chef server: ")
    if trouble == "stall":
        assert "accepted the request but sent no answer within 1s (alive but slow or overloaded) " \
               "(3 attempts in" in result.reason
    else:
        assert "refused the connection (not running) (2 attempts in" in result.reason
    assert_not_registered(admin, name)


# -- liveness: a node that drops off mid-converge --------------------------------------
def test_a_quiet_converge_longer_than_the_idle_timeout_is_kept_alive_by_keepalives(nodes, admin,
                                                                                   node_chef_url):
    """12 s without a byte of output against a 5 s idle timeout: the node's sshd
    answering the keepalives is what tells a busy node from a silent one."""
    node, name = nodes[3], "bs-quiet"
    reporter = Collect()
    result = execute(spec_for(node, name, node_chef_url, environment=QUIET_ENV), reporter, admin,
                     liveness=FAST_LIVENESS)
    assert result.status == SUCCEEDED, result.reason
    assert "simulating a long converge (12s)" in reporter.text


class FaultOnLongConverge(Collect):
    """Injects ``fault`` once chef-client is inside its long converge."""

    def __init__(self, fault):
        super().__init__()
        self.fault, self.injected = fault, False

    def output(self, stream, text):
        super().output(stream, text)
        if not self.injected and "simulating a long converge" in self.text:
            self.injected = True
            self.fault()


@pytest.mark.parametrize("fault, heal", [("link_down", "link_up"), ("pause", "resume")])
def test_a_node_dropping_off_mid_converge_fails_the_run_on_the_idle_timeout(
        node_set, nodes, admin, node_chef_url, fault, heal):
    """Link down (packets dropped) or host frozen (the kernel still ACKs TCP): no
    TCP error ever comes, so only the unanswered keepalives can end the run; the
    reason names the node, the phase and the silence, not the run's time limit."""
    node, name = nodes[7], f"bs-silent-{fault}"
    reporter = FaultOnLongConverge(lambda: getattr(node_set, fault)(node.index))
    try:
        result = execute(spec_for(node, name, node_chef_url, environment=SLOW_ENV, timeout=240.0),
                         reporter, admin, liveness=FAST_LIVENESS)
    finally:
        getattr(node_set, heal)(node.index)
        node.exec(["pkill", "-f", "chef-client -E"])     # the orphaned converge; nobody hung it up
    assert reporter.injected
    assert result.status == FAILED
    assert result.reason.startswith(
        f"node {name} ({node.ip}): converge failed: no sign of life from {node.ip}:{node.port} "
        f"for 5s (SSH keepalives unanswered)"), result.reason
    assert "simulating a long converge" in result.reason      # the tail shows how far it got
    assert admin.node_exists(name)                    # a converge failure keeps the registration


def test_a_node_frozen_while_chef_client_is_copied_fails_install_on_the_idle_timeout(
        node_set, nodes, admin, node_chef_url):
    """The file transfer (SFTP) is bounded too: a node frozen as the copy starts
    fails the install phase instead of hanging the run."""
    node, name = nodes[5], "bs-silent-install"
    assert node.exec("rm -f /usr/local/bin/chef-client").returncode == 0

    class FreezeOnInstall(Collect):
        def output(self, stream, text):
            super().output(stream, text)
            if "chef-client missing; installing it" in text:
                node_set.pause(node.index)

    try:
        result = execute(spec_for(node, name, node_chef_url, timeout=240.0), FreezeOnInstall(), admin,
                         liveness=FAST_LIVENESS)
    finally:
        node_set.resume(node.index)
    assert result.status == FAILED
    assert result.reason.startswith(f"node {name} ({node.ip}): install failed: no answer from "
                                    f"{node.ip}:{node.port}"), result.reason
    assert_not_registered(admin, name)


# -- delete ---------------------------------------------------------------------------
def test_delete_removes_node_client_and_the_nodes_key(nodes, admin, node_chef_url):
    node, name = nodes[0], "bs-delete"
    assert execute(spec_for(node, name, node_chef_url), Collect(), admin).status == SUCCEEDED
    reporter = Collect()
    result = execute(spec_for(node, name, node_chef_url, action="delete"), reporter, admin)
    assert result.status == SUCCEEDED, result.reason
    assert_not_registered(admin, name)
    assert node.exec("test -e /etc/chef/client.pem").returncode != 0
    # Deleting again with the node unreachable: Chef side is already clean, node clean-up is best effort.
    again_reporter = Collect()
    again = execute(spec_for(node, name, node_chef_url, action="delete",
                             target={"port": 1}), again_reporter, admin)
    assert again.status == SUCCEEDED, again.reason
    assert f"the Chef node {name} was already gone" in again_reporter.text
    assert "connection refused" in again_reporter.text
