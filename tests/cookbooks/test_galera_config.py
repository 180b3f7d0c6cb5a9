"""deployer_galera: the Galera my.cnf fragment checked by the real mariadbd, and the
database/user SQL applied to a throwaway MariaDB server."""
from __future__ import annotations

import shutil
import subprocess
import time

import pytest
import requests

from deployer.undercloud.process import free_port
from tests.chef_render import RenderError, call_helper, node_attributes, render
from tests.cookbooks.conftest import CONTROLLERS, SECRETS, SERVICES, controller_node, sample_environment, sample_role
from tests.fixtures.mariadb import running_mariadbd

pytestmark = pytest.mark.skipif(not shutil.which("mariadbd"), reason="mariadb-server not installed")

ROLE = sample_role(run_list=["recipe[deployer_roles::database]"])


def render_cnf(index: int = 0, *, environment: dict | None = None, normal: dict | None = None) -> str:
    return render("deployer_galera", "galera.cnf", node=controller_node(index, normal=normal), role=ROLE,
                  environment=environment or sample_environment(), secrets=SECRETS)


def mariadbd_view(config: str, tmp_path) -> tuple[int, dict[str, str], str]:
    """mariadbd's own reading of the fragment: (exit status, effective option values, stderr)."""
    path = tmp_path / "galera.cnf"
    path.write_text(config)
    result = subprocess.run(["mariadbd", f"--defaults-file={path}", "--help", "--verbose"],
                            capture_output=True, text=True, timeout=60)
    values = {}
    for line in result.stdout.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and not line.startswith(" "):
            values[parts[0]] = parts[1].strip()
    return result.returncode, values, result.stderr


@pytest.mark.parametrize("index", range(len(CONTROLLERS)))
def test_fragment_is_accepted_by_mariadbd_with_the_origin_settings(tmp_path, index):
    status, values, stderr = mariadbd_view(render_cnf(index), tmp_path)
    assert status == 0, stderr
    me = CONTROLLERS[index]["address"]
    assert values["wsrep-on"] == "TRUE"
    assert values["wsrep-provider"] == "/usr/lib/galera/libgalera_smm.so"
    assert values["wsrep-cluster-address"] == "gcomm://" + ",".join(f"{c['address']}:4567" for c in CONTROLLERS)
    assert values["wsrep-node-address"] == f"{me}:4567"
    assert values["wsrep-node-name"] == CONTROLLERS[index]["name"]
    assert values["wsrep-sst-method"] == "rsync"
    assert values["bind-address"] == me
    assert values["binlog-format"] == "ROW"
    assert values["default-storage-engine"] == "InnoDB"
    assert values["innodb-autoinc-lock-mode"] == "2"
    assert values["max-connections"] == "1000"
    assert values["key-buffer-size"] == str(2048 * 1024**2)
    assert values["innodb-buffer-pool-size"] == str(4096 * 1024**2)
    assert values["thread-cache-size"] == "32"
    assert values["table-open-cache"] == "1024"


def test_mariadbd_rejects_what_the_verify_guards_against(tmp_path):
    env = sample_environment(override_attributes={"deployer": {"galera": {"mysqld_options": {"binlog_format": "MIXED"}}}})
    status, _, stderr = mariadbd_view(render_cnf(environment=env), tmp_path)
    assert status != 0 and "binlog_format" in stderr
    env = sample_environment(override_attributes={"deployer": {"galera": {"mysqld_options": {"no_such_option": 1}}}})
    status, _, stderr = mariadbd_view(render_cnf(environment=env), tmp_path)
    assert status != 0 and "no_such_option" in stderr


def test_per_node_paths_ports_and_sizes_are_overridable(tmp_path):
    normal = {"deployer": {"galera": {
        "port": 13306, "group_port": 14567, "datadir": str(tmp_path / "data"), "socket": str(tmp_path / "m.sock"),
        "pid_file": str(tmp_path / "m.pid"), "user": "root",
        "tuning": {"innodb_buffer_pool_size": "64M", "key_buffer_size": "8M", "max_connections": 50}}}}
    status, values, stderr = mariadbd_view(render_cnf(2, normal=normal), tmp_path)
    assert status == 0, stderr
    assert values["port"] == "13306" and values["datadir"] == f"{tmp_path / 'data'}/"
    assert values["socket"] == str(tmp_path / "m.sock")
    assert values["innodb-buffer-pool-size"] == str(64 * 1024**2) and values["max-connections"] == "50"
    assert values["wsrep-cluster-address"].endswith(f"{CONTROLLERS[2]['address']}:14567")


def test_mariabackup_sst_reads_its_credentials_from_the_secrets(tmp_path):
    env = sample_environment(override_attributes={"deployer": {"galera": {"sst_method": "mariabackup"}}})
    config = render_cnf(environment=env)
    assert f'wsrep_sst_auth = "mariabackup:{SECRETS["deployer_secrets"]["mysql"]["sst"]}"' in config
    status, values, stderr = mariadbd_view(config, tmp_path)
    assert status == 0, stderr
    assert values["wsrep-sst-method"] == "mariabackup"
    bad = sample_environment(override_attributes={"deployer": {"galera": {"sst_method": "xtrabackup"}}})
    with pytest.raises(RenderError, match=r"\['sst_method'\] must be one of rsync, mariabackup"):
        render_cnf(environment=bad)


@pytest.fixture(scope="module")
def throwaway_mariadb(tmp_path_factory):
    """A private mariadbd on a free loopback port (datadir and socket in a temp dir), stopped afterwards."""
    if not shutil.which("mariadb-install-db"):
        pytest.skip("mariadb-install-db not installed")
    port = free_port()
    with running_mariadbd(tmp_path_factory.mktemp("mariadb"), port=port,
                          options=("--innodb-buffer-pool-size=16M",)) as sock:
        yield ["mariadb", "--protocol=socket", "-S", str(sock), "-u", "root", "-N", "-B"], port


def run_sql(client: list[str], statements: str) -> str:
    result = subprocess.run(client, input=statements, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_database_sql_creates_users_idempotently_on_a_real_server(throwaway_mariadb):
    client, port = throwaway_mariadb
    attributes = node_attributes("deployer_galera", node=controller_node(0), role=ROLE, environment=sample_environment())
    # One password with quote and backslash characters, to prove the SQL escaping.
    passwords = {**SECRETS["deployer_secrets"]["db_passwords"], "neutron": "it's\\ \"odd\""}
    sql = call_helper("deployer_galera", "DeployerGalera::Helpers.database_sql", attributes, passwords)

    def run(statements: str) -> str:
        return run_sql(client, statements)

    assert run(sql["check"]) == "0"
    run(sql["apply"])
    assert run(sql["check"]) == "1"
    run(sql["apply"])  # a re-run changes nothing and does not fail
    assert run(sql["check"]) == "1"
    for service in SERVICES:
        login = subprocess.run(["mariadb", "-h", "127.0.0.1", "-P", str(port), "-u", service,
                                f"-p{passwords[service]}", "-N", "-B", "-e", "SELECT DATABASE()", service],
                               capture_output=True, text=True, timeout=30)
        assert login.returncode == 0 and login.stdout.strip() == service, login.stderr
    nova_api = subprocess.run(["mariadb", "-h", "127.0.0.1", "-P", str(port), "-u", "nova",
                               f"-p{passwords['nova']}", "-N", "-B", "-e", "CREATE TABLE t (i INT); DROP TABLE t",
                               "nova_api"], capture_output=True, text=True, timeout=30)
    assert nova_api.returncode == 0, "nova owns nova_api too: " + nova_api.stderr
    for controller in CONTROLLERS:
        grants = run(f"SHOW GRANTS FOR 'haproxy_check'@'{controller['address']}'")
        assert grants == f"GRANT USAGE ON *.* TO `haproxy_check`@`{controller['address']}`"
    # A rotated password makes the guard report work to do again.
    rotated = call_helper("deployer_galera", "DeployerGalera::Helpers.database_sql", attributes,
                          {**passwords, "nova": "a-new-nova-pw"})
    assert run(rotated["check"]) == "0"


def test_haproxy_mysql_check_sees_the_server_through_the_rendered_configs(throwaway_mariadb, tmp_path):
    """End to end on loopback: the Galera SQL's haproxy_check user lets the rendered haproxy.cfg's
    `option mysql-check` mark the writer UP, and a service logs in through its own listener port."""
    if not shutil.which("haproxy"):
        pytest.skip("haproxy not installed")
    client, mariadb_port = throwaway_mariadb
    controllers = [{"name": "ctl1", "address": "127.0.0.1"}]
    vips = {"api": {"address": "127.0.0.3", "interface": "lo", "virtual_router_id": 61, "auth_pass_item": "vrrp_api"},
            "db": {"address": "127.0.0.2", "interface": "lo", "virtual_router_id": 62, "auth_pass_item": "vrrp_db"}}
    ports = {name: free_port() for name in ("shared", "nova", "stats", "monitor")}
    api_services = node_attributes("deployer_haproxy", node=controller_node(0), environment=sample_environment())
    no_api_listeners = {name: {"enabled": False} for name in api_services["deployer"]["haproxy"]["services"]}
    environment = sample_environment(controllers=controllers, vips=vips, override_attributes={"deployer": {
        "databases": {**{service: False for service in SERVICES}, "nova": {"port": ports["nova"]}},
        "haproxy": {"services": no_api_listeners, "check": {"inter": 300, "rise": 1, "fall": 2},
                    "galera": {"port": ports["shared"], "backend_port": mariadb_port},
                    "stats": {"bind_address": "127.0.0.1", "port": ports["stats"]},
                    "monitor": {"port": ports["monitor"]},
                    "global": {"chroot": False, "stats_socket": False, "user": False, "group": False, "log": False}}}})
    node = controller_node(0, controllers=controllers)
    attributes = node_attributes("deployer_galera", node=node, role=ROLE, environment=environment)
    run_sql(client, call_helper("deployer_galera", "DeployerGalera::Helpers.database_sql", attributes,
                                {"nova": "nova-through-haproxy"})["apply"])
    config = render("deployer_haproxy", "haproxy.cfg", node=node, environment=environment, secrets=SECRETS)
    assert "listen keystone" not in config, "only loopback ports chosen here may be bound"
    (tmp_path / "haproxy.cfg").write_text(config)
    proxy = subprocess.Popen(["haproxy", "-db", "-f", str(tmp_path / "haproxy.cfg")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        status = {}
        while time.monotonic() < deadline:
            assert proxy.poll() is None, proxy.stderr.read()
            try:
                csv = requests.get(f"http://127.0.0.1:{ports['stats']}/haproxy?stats;csv", timeout=2).text
                status = {tuple(row.split(",")[:2]): row.split(",")[17] for row in csv.splitlines()[1:] if row}
            except requests.ConnectionError:
                pass
            if status.get(("mysql-cluster-nova", "ctl1")) == "UP" and status.get(("mysql-cluster", "ctl1")) == "UP":
                break
            time.sleep(0.3)
        assert status.get(("mysql-cluster-nova", "ctl1")) == "UP", status
        login = subprocess.run(["mariadb", "-h", "127.0.0.2", "-P", str(ports["nova"]), "-u", "nova",
                                "-pnova-through-haproxy", "-N", "-B", "-e", "SELECT DATABASE()", "nova"],
                               capture_output=True, text=True, timeout=30)
        assert login.returncode == 0 and login.stdout.strip() == "nova", login.stderr
    finally:
        proxy.terminate()
        proxy.wait(timeout=15)
