"""deployer_rabbitmq: rendered rabbitmq.conf, advanced.config and rabbitmq-env.conf booted by a
real, throwaway RabbitMQ node (loopback, free ports, private HOME and epmd), which then takes
the HA policy and a service user the way the cookbook's resources apply them."""
from __future__ import annotations

import json
import os
import signal
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from deployer.undercloud.process import free_port
from tests.chef_render import RenderError, call_helper, node_attributes, render
from tests.cookbooks.conftest import CONTROLLERS, SECRETS, controller_node, sample_environment, sample_role

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
ROLE = sample_role(run_list=["recipe[deployer_roles::messaging]"])
LOOPBACK = [{"name": "ctl1", "address": "127.0.0.1"}]
TEMPLATES = ("rabbitmq.conf", "advanced.config", "rabbitmq-env.conf")

pytestmark = pytest.mark.skipif(not (RABBIT_BIN / "rabbitmq-server").exists(), reason="rabbitmq-server not installed")


def render_rabbit(template: str, *, index: int = 0, environment: dict | None = None,
                  controllers: list[dict] | None = None) -> str:
    return render("deployer_rabbitmq", template, node=controller_node(index, controllers=controllers), role=ROLE,
                  environment=environment or sample_environment(controllers=controllers), secrets=SECRETS)


def low_free_port() -> int:
    """A free port low enough that RabbitMQ's CLI range (dist port + 10000..10010) stays valid."""
    while (port := free_port()) > 55000:
        pass
    return port


class ThrowawayBroker:
    """One RabbitMQ node started from rendered configs under tmp_path; owns its epmd."""

    def __init__(self, tmp_path: Path, configs: dict[str, str], nodename: str):
        self.base = tmp_path
        self.nodename = nodename
        home = tmp_path / "home"
        home.mkdir()
        cookie = home / ".erlang.cookie"
        cookie.write_text(SECRETS["deployer_secrets"]["rabbitmq"]["erlang_cookie"])
        cookie.chmod(0o400)
        for name, text in configs.items():
            (tmp_path / name).write_text(text)
        self.epmd_port = low_free_port()
        self.env = {**os.environ, "HOME": str(home), "ERL_EPMD_ADDRESS": "127.0.0.1",
                    "ERL_EPMD_PORT": str(self.epmd_port),
                    "RABBITMQ_CONF_ENV_FILE": str(tmp_path / "rabbitmq-env.conf"),
                    "RABBITMQ_CONFIG_FILE": str(tmp_path / "rabbitmq.conf"),
                    "RABBITMQ_ADVANCED_CONFIG_FILE": str(tmp_path / "advanced.config"),
                    "RABBITMQ_MNESIA_BASE": str(tmp_path / "mnesia"), "RABBITMQ_LOG_BASE": str(tmp_path / "log"),
                    "RABBITMQ_PID_FILE": str(tmp_path / "rabbit.pid"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(tmp_path / "enabled_plugins")}
        self.epmd: subprocess.Popen | None = None
        self.server: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> None:
        self.epmd = subprocess.Popen(["epmd", "-address", "127.0.0.1", "-port", str(self.epmd_port)],
                                     env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(self.base / "server.out", "wb") as out:
            self.server = subprocess.Popen([str(RABBIT_BIN / "rabbitmq-server")], env=self.env, stdout=out,
                                           stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        # await_startup fails at once until the node has registered with epmd: retry.
        while self.ctl("await_startup", "--timeout", "30", check=False).returncode != 0:
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("RabbitMQ did not boot:\n" + (self.base / "server.out").read_text()[-3000:])
            time.sleep(1)

    def ctl(self, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run([str(RABBIT_BIN / "rabbitmqctl"), "-n", self.nodename, *args], env=self.env,
                                input=input, capture_output=True, text=True, timeout=90)
        if check:
            assert result.returncode == 0, f"rabbitmqctl {args[0]}: {result.stdout}{result.stderr}"
        return result

    def stop(self) -> None:
        if self.server and self.server.poll() is None:
            self.ctl("stop", check=False)
            try:
                self.server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait()
        if self.epmd and self.epmd.poll() is None:
            self.epmd.terminate()
            self.epmd.wait(timeout=10)


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    if not shutil.which("epmd"):
        pytest.skip("epmd not installed")
    amqp_port, dist_port = low_free_port(), low_free_port()
    environment = sample_environment(controllers=LOOPBACK, override_attributes={"deployer": {"rabbitmq": {
        "use_longname": True, "port": amqp_port, "dist_port": dist_port}}})
    configs = {t: render_rabbit(t, environment=environment, controllers=LOOPBACK) for t in TEMPLATES}
    node = ThrowawayBroker(tmp_path_factory.mktemp("rabbit"), configs, "rabbit@127.0.0.1")
    try:
        node.start()
        yield node, environment, amqp_port, dist_port
    finally:
        node.stop()


def test_rendered_configs_boot_a_real_node_with_those_settings(broker):
    node, _, amqp_port, dist_port = broker
    environment = node.ctl("environment").stdout
    # One broker (fewer than 3): autoheal, the default that never pauses a lone survivor.
    assert "{cluster_partition_handling,autoheal}" in environment
    assert node.ctl("eval", "net_kernel:get_net_ticktime().").stdout.strip() == "15"
    status = json.loads(node.ctl("status", "--formatter", "json").stdout)
    listeners = {(item["protocol"], item["interface"], item["port"]) for item in status["listeners"]}
    assert ("amqp", "127.0.0.1", amqp_port) in listeners
    assert ("clustering", "127.0.0.1", dist_port) in listeners
    cluster = json.loads(node.ctl("cluster_status", "--formatter", "json").stdout)
    assert "rabbit@127.0.0.1" in cluster["running_nodes"]
    # The join guard's reading of the same output: a member, and not a member of another seed's cluster.
    assert call_helper("deployer_rabbitmq", "DeployerRabbitmq::Helpers.cluster_member?", cluster, "rabbit@127.0.0.1")
    assert not call_helper("deployer_rabbitmq", "DeployerRabbitmq::Helpers.cluster_member?", cluster, "rabbit@10.0.0.9")


def test_the_grow_guard_reads_quorum_queue_members_from_the_real_broker(broker):
    """The join's `rabbitmq-queues grow` runs only when a quorum queue lacks this broker: the guard
    reads `list_queues name type members` as this RabbitMQ prints it (classic queues ignored)."""
    from kombu import Connection, Exchange, Queue
    node, _, amqp_port, _ = broker
    with Connection(f"amqp://guest:guest@127.0.0.1:{amqp_port}//") as connection:
        channel = connection.channel()
        Queue("grow-quorum", Exchange(""), durable=True, queue_arguments={"x-queue-type": "quorum"},
              channel=channel).declare()
        Queue("grow-classic", Exchange(""), durable=True, channel=channel).declare()
    queues = json.loads(node.ctl("list_queues", "name", "type", "members", "--formatter", "json", "-q").stdout)
    without = "DeployerRabbitmq::Helpers.quorum_queues_without"
    assert call_helper("deployer_rabbitmq", without, queues, "rabbit@127.0.0.1") == []
    assert call_helper("deployer_rabbitmq", without, queues, "rabbit@10.0.0.9") == ["grow-quorum"]


def test_ha_policy_arguments_are_accepted_by_rabbitmqctl(broker):
    """The origin's mirroring policy (queue_type classic_mirrored, an environment option)."""
    node, environment, _, _ = broker
    environment = {**environment, "override_attributes": {"deployer": {"rabbitmq": {"queue_type": "classic_mirrored"}}}}
    attributes = node_attributes("deployer_rabbitmq", node=controller_node(0, controllers=LOOPBACK), role=ROLE,
                                 environment=environment)
    args = call_helper("deployer_rabbitmq", "DeployerRabbitmq::Helpers.set_policy_args", attributes)

    def listed() -> list[dict]:
        return json.loads(node.ctl("list_policies", "--formatter", "json").stdout)

    def current() -> bool:
        return call_helper("deployer_rabbitmq", "DeployerRabbitmq::Helpers.policy_current?", attributes, listed())

    node.ctl(*args[:-1], '{"ha-mode":"exactly","ha-params":2}')  # a stale definition under the same name
    assert current() is False, "the resource's guard must see a different definition"
    node.ctl(*args)
    assert current() is True, "the resource's guard must see the policy in place (re-runs change nothing)"
    policies = listed()
    policy = next(p for p in policies if p["name"] == "ha-all")
    assert policy["pattern"] == r"^(?!amq\.).*"
    assert policy["apply-to"] == "queues"
    assert json.loads(policy["definition"]) == {"ha-mode": "all", "ha-sync-mode": "automatic"}


def test_service_user_password_goes_through_stdin(broker):
    node, _, _, _ = broker
    password = SECRETS["deployer_secrets"]["mq_passwords"]["nova"]
    node.ctl("add_user", "nova", input=password)
    node.ctl("set_permissions", "-p", "/", "nova", ".*", ".*", ".*")
    assert node.ctl("authenticate_user", "nova", input=password, check=False).returncode == 0
    assert node.ctl("authenticate_user", "nova", input="wrong", check=False).returncode != 0


def test_rendered_files_match_the_attributes():
    conf = render_rabbit("rabbitmq.conf", index=1)
    assert f"listeners.tcp.default = {CONTROLLERS[1]['address']}:5672" in conf
    # quorum queues (the default): autoheal, which rejoins a controller that was hung past net_ticktime
    assert "cluster_partition_handling = autoheal" in conf and "loopback_users.guest = true" in conf
    mirrored = sample_environment(override_attributes={"deployer": {"rabbitmq": {"queue_type": "classic_mirrored"}}})
    assert "cluster_partition_handling = pause_minority" in render_rabbit("rabbitmq.conf", environment=mirrored)
    advanced = render_rabbit("advanced.config", index=1)
    assert "{net_ticktime, 15}" in advanced and "{inet_dist_use_interface, {10,81,25,195}}" in advanced
    env = render_rabbit("rabbitmq-env.conf", index=1)
    assert "NODENAME=rabbit@ctl2" in env and "USE_LONGNAME" not in env
    tuned = sample_environment(override_attributes={"deployer": {"rabbitmq": {"net_ticktime": 60}}})
    assert "{net_ticktime, 60}" in render_rabbit("advanced.config", environment=tuned)
    two = render("deployer_rabbitmq", "rabbitmq.conf", node=controller_node(0),
                 environment=sample_environment(controllers=CONTROLLERS[:2]), secrets=SECRETS)
    assert "cluster_partition_handling = autoheal" in two, "S7: pause_minority would pause a 2-node survivor"
    with pytest.raises(RenderError, match=r"\['cluster_partition_handling'\] must be one of"):
        render_rabbit("rabbitmq.conf", environment=sample_environment(
            override_attributes={"deployer": {"rabbitmq": {"cluster_partition_handling": "hope"}}}))


# oslo.messaging's reconnection as the cookbook sets it (attributes/default.rb says why).
CLIENT_RECONNECTION = {"kombu_reconnect_delay": 0.2, "rabbit_retry_interval": 1,
                       "rabbit_retry_backoff": 1, "rabbit_interval_max": 5,
                       "heartbeat_timeout_threshold": 20}


def test_oslo_messagings_own_reconnection_defaults_are_one_environment_attribute_away():
    environment = sample_environment(
        override_attributes={"deployer": {"rabbitmq": {"client": False}}})
    attributes = node_attributes("deployer_rabbitmq", node=controller_node(0), role=ROLE,
                                 environment=environment)
    assert call_helper("deployer_rabbitmq", "DeployerRabbitmq::Helpers.messaging_options",
                       attributes) == {"rabbit_ha_queues": False, "rabbit_quorum_queue": True}


def test_broker_list_and_queue_type_helpers():
    attributes = node_attributes("deployer_rabbitmq", node=controller_node(0), role=ROLE, environment=sample_environment())
    hosts = call_helper("deployer_rabbitmq", "DeployerRabbitmq::Helpers.rabbit_hosts", attributes)
    assert hosts == ",".join(f"{c['address']}:5672" for c in CONTROLLERS)
    url = call_helper("deployer_rabbitmq", "DeployerRabbitmq::Helpers.transport_url", attributes, "nova", "pw")
    assert url == "rabbit://" + ",".join(f"nova:pw@{c['address']}:5672" for c in CONTROLLERS) + "/"
    assert call_helper("deployer_rabbitmq", "DeployerRabbitmq::Helpers.messaging_options", attributes) == \
        {"rabbit_ha_queues": False, "rabbit_quorum_queue": True, **CLIENT_RECONNECTION}, \
        "quorum queues by default"
    assert call_helper("deployer_rabbitmq", "DeployerRabbitmq::Helpers.set_policy_args", attributes) is None
    seed = call_helper("deployer_rabbitmq", "DeployerRabbitmq::Helpers.seed", attributes)
    assert seed == CONTROLLERS[0]

    mirrored = node_attributes("deployer_rabbitmq", node=controller_node(0), role=ROLE, environment=sample_environment(
        override_attributes={"deployer": {"rabbitmq": {"queue_type": "classic_mirrored"}}}))
    assert call_helper("deployer_rabbitmq", "DeployerRabbitmq::Helpers.messaging_options", mirrored) == \
        {"rabbit_ha_queues": True, "rabbit_quorum_queue": False, **CLIENT_RECONNECTION}
    assert call_helper("deployer_rabbitmq", "DeployerRabbitmq::Helpers.set_policy_args", mirrored) is not None

    unseeded = sample_environment()
    unseeded["default_attributes"]["deployer"]["rabbitmq"]["seed_node"] = None
    attributes = node_attributes("deployer_rabbitmq", node=controller_node(0), role=ROLE, environment=unseeded)
    with pytest.raises(RenderError, match=r"\['seed_node'\] is not set"):
        call_helper("deployer_rabbitmq", "DeployerRabbitmq::Helpers.seed", attributes)
