"""deployer_haproxy: haproxy.cfg rendered for a 3-controller active-active cloud, checked by the real haproxy."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.chef_render import RenderError, render
from tests.cookbooks.conftest import CONTROLLERS, SECRETS, VIPS, controller_node, sample_environment, sample_role

pytestmark = pytest.mark.skipif(not shutil.which("haproxy"), reason="haproxy not installed")

ROLE = sample_role(run_list=["recipe[deployer_roles::loadbalancer]"])


def render_haproxy(index: int = 0, **env_kwargs) -> str:
    return render("deployer_haproxy", "haproxy.cfg", node=controller_node(index), role=ROLE,
                  environment=sample_environment(**env_kwargs), secrets=SECRETS)


def sections(config: str) -> dict[str, list[str]]:
    """'listen <name>' / 'frontend <name>' -> its directive lines."""
    result: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in config.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not raw.startswith((" ", "\t")):
            current = result.setdefault(line, [])
        elif current is not None:
            current.append(line)
    return result


def servers(block: list[str]) -> list[list[str]]:
    return [line.split()[1:] for line in block if line.startswith("server ")]


def haproxy_check(config: str, tmp_path) -> subprocess.CompletedProcess:
    path = tmp_path / "haproxy.cfg"
    path.write_text(config)
    return subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True, text=True, timeout=30)


def test_rendered_config_passes_haproxy_check(tmp_path):
    result = haproxy_check(render_haproxy(), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration file is valid" in result.stdout + result.stderr


def test_haproxy_check_rejects_what_the_verify_guards_against(tmp_path):
    """The template's `verify` uses the same check: a bad timeout value must fail it."""
    env = sample_environment(override_attributes={"deployer": {"haproxy": {"defaults": {"timeouts": {"client": "soon"}}}}})
    config = render("deployer_haproxy", "haproxy.cfg", node=controller_node(0), role=ROLE,
                    environment=env, secrets=SECRETS)
    assert "timeout client soon" in config
    assert haproxy_check(config, tmp_path).returncode != 0


def test_galera_listeners_have_one_writer_each_rotated_over_controllers():
    blocks = sections(render_haproxy())
    db_vip = VIPS["db"]["address"]
    writers = {}
    for name, block in blocks.items():
        if not name.startswith("listen mysql-cluster"):
            continue
        assert "mode tcp" in block and "option tcpka" in block and "balance leastconn" in block
        assert "option mysql-check user haproxy_check" in block
        assert "option redispatch" not in block, "one writer: a failed connection must not move"
        assert "timeout client 90m" in block and "timeout server 90m" in block
        lines = servers(block)
        assert len(lines) == len(CONTROLLERS)
        assert all("on-marked-down shutdown-sessions" in " ".join(s) for s in lines)
        # no failback: the current writer sticks (shared by the controllers' HAProxies)
        assert "stick-table type ip size 2 nopurge peers galera_writers" in block
        assert "stick on dst" in block
        assert not any("on-marked-up" in " ".join(s) for s in lines)
        active = [s for s in lines if "backup" not in s]
        assert len(active) == 1, f"{name} must have exactly one non-backup server: {lines}"
        port = next(line for line in block if line.startswith("bind ")).split(":")[-1]
        assert next(line for line in block if line.startswith("bind ")) == f"bind {db_vip}:{port}"
        writers[int(port)] = active[0][0]
    assert writers[3306] == "ctl1"
    assert [writers[3307], writers[3308], writers[3309]] == ["ctl1", "ctl2", "ctl3"]
    assert len({writers[3307], writers[3308], writers[3309]}) == 3


def test_api_listeners_follow_the_origin_layout():
    blocks = sections(render_haproxy())
    api_vip = VIPS["api"]["address"]
    expected = {"keystone": (5000, "roundrobin"), "glance-api": (9292, "roundrobin"), "placement-api": (8778, "roundrobin"),
                "nova-api": (8774, "roundrobin"), "nova-metadata": (8775, "roundrobin"),
                "nova-novncproxy": (6080, "source"), "neutron-server": (9696, "roundrobin"),
                "cinder-api": (8776, "roundrobin")}
    for name, (port, balance) in expected.items():
        block = blocks[f"listen {name}"]
        assert f"bind {api_vip}:{port}" in block
        assert f"balance {balance}" in block
        assert "option tcpka" in block and "option tcplog" in block
        assert "option redispatch" in block, "a refused connection retries on another controller"
        assert [s[:2] for s in servers(block)] == [[c["name"], f"{c['address']}:{port}"] for c in CONTROLLERS]
        assert all(" ".join(s[2:]).startswith("check inter 500 rise 2 fall 3") for s in servers(block))
        assert all("backup" not in s for s in servers(block)), "API services are active-active"
    assert "option httpchk" in blocks["listen keystone"]
    assert "option httpchk GET /" in blocks["listen placement-api"], "placement answers OPTIONS / with 405"
    # Only what the roles deploy (S10): no Keystone v2 admin port, glance-registry, Heat or Horizon.
    assert {name for name in blocks if name.startswith("listen ") and "mysql" not in name} == \
        {f"listen {name}" for name in expected} | {"listen stats"}
    assert not any("5672" in line for block in blocks.values() for line in block), "RabbitMQ is not behind HAProxy"


def test_stats_and_monitor_endpoints():
    blocks = sections(render_haproxy(1))
    stats = blocks["listen stats"]
    assert f"bind {CONTROLLERS[1]['address']}:1936" in stats
    assert "stats enable" in stats and "stats uri /haproxy?stats" in stats and "stats refresh 10s" in stats
    assert blocks["frontend monitor"][:3] == ["bind 127.0.0.1:8404", "mode http", "monitor-uri /healthz"]


def test_check_timings_and_per_node_settings_are_overridable(tmp_path):
    env = sample_environment(override_attributes={"deployer": {"haproxy": {"check": {"inter": 1000, "rise": 3, "fall": 2}}}})
    node = controller_node(0, normal={"deployer": {"haproxy": {
        "monitor": {"port": 18404}, "global": {"chroot": False, "stats_socket": False, "user": False, "group": False}}}})
    config = render("deployer_haproxy", "haproxy.cfg", node=node, role=ROLE, environment=env, secrets=SECRETS)
    blocks = sections(config)
    assert all(" ".join(s[2:]).startswith("check inter 1000 rise 3 fall 2")
               for block in blocks.values() for s in servers(block))
    assert "bind 127.0.0.1:18404" in blocks["frontend monitor"]
    assert not any(line.startswith(("chroot", "user ", "stats socket")) for line in blocks["global"])
    assert haproxy_check(config, tmp_path).returncode == 0


def test_invalid_attributes_are_named_in_the_error():
    env = sample_environment(override_attributes={"deployer": {"haproxy": {"services": {"keystone": {"balance": "random-ish"}}}}})
    with pytest.raises(RenderError, match=r"services'\]\['keystone'\]\['balance'\]"):
        render("deployer_haproxy", "haproxy.cfg", node=controller_node(0), role=ROLE, environment=env, secrets=SECRETS)
    with pytest.raises(RenderError, match=r"vips'\]\['db'\] is not defined"):
        render_haproxy(vips={"api": VIPS["api"]})
    with pytest.raises(RenderError, match="not in node\\['deployer'\\]\\['cluster'\\]\\['controllers'\\]"):
        render("deployer_haproxy", "haproxy.cfg", node={"name": "stranger", "ipaddress": "10.0.0.9"},
               role=ROLE, environment=sample_environment(), secrets=SECRETS)


def test_the_galera_writers_are_shared_between_the_controllers_haproxies_or_fail_back_as_the_origin(tmp_path):
    config = render_haproxy(1)
    blocks = sections(config)
    assert "localpeer ctl2" in blocks["global"]
    assert blocks["peers galera_writers"] == [f"peer {c['name']} {c['address']}:1937" for c in CONTROLLERS]
    assert haproxy_check(config, tmp_path).returncode == 0

    origin = render_haproxy(1, override_attributes={"deployer": {"haproxy": {"galera": {"failback": True}}}})
    blocks = sections(origin)
    assert "peers galera_writers" not in blocks and not any("localpeer" in line for line in blocks["global"])
    writer = next(s for s in servers(blocks["listen mysql-cluster"]) if "backup" not in s)
    assert "on-marked-up shutdown-backup-sessions" in " ".join(writer)
    assert not any(line.startswith("stick") for line in blocks["listen mysql-cluster"])
    assert haproxy_check(origin, tmp_path).returncode == 0
