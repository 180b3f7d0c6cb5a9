"""deployer_openstack / deployer_compute / deployer_ovn: every file the OpenStack services read,
rendered through the harness from the shipped Chef environments and roles, then

- checked by oslo-config-validator against the option namespaces the Debian 12 packages register
  (an option the Zed code does not define fails: dead and removed options cannot come back);
- parsed by configparser and oslo.config with the libraries' own option definitions;
- asserted on what makes the cloud work: connections on the VIPs, each API on the node's own
  address (so HAProxy can own the VIP port), the same nova.conf on controllers and computes,
  Neutron ML2/OVN instead of nova-network, the fake virt driver only where an environment asks.
"""
from __future__ import annotations

import configparser
import json
import shlex
import shutil
import subprocess
from pathlib import Path

import oslo_messaging
import pytest
from oslo_config import cfg
from oslo_db import options as db_options
from oslo_messaging._drivers import impl_rabbit

from deployer.chef.environment_template import EnvironmentTemplates
from deployer.lint.options import NAMESPACES
from tests.chef_render import RenderError, call_helper, node_attributes, render
from tests.cookbooks.conftest import CONTROLLERS, SECRETS, controller_node

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = EnvironmentTemplates(REPO / "environments" / "chef")
API_VIP, DB_VIP = "10.81.72.200", "10.81.72.201"
AA_VALUES = {
    "ENABLE_DEBUG": "true", "NETWORK_TYPE": "ovn", "COMPUTE_DRIVER": "libvirt.LibvirtDriver",
    "OVS_DATAPATH_TYPE": "system",
    **{f"CONTROLLER{i}_NAME": c["name"] for i, c in enumerate(CONTROLLERS, start=1)},
    **{f"CONTROLLER{i}_ADDR": c["address"] for i, c in enumerate(CONTROLLERS, start=1)},
    "API_VIP_ADDR": API_VIP, "DB_VIP_ADDR": DB_VIP, "VIP_PREFIX": 24, "VIP_INTERFACE": "eth0",
    "API_VRID": 51, "DB_VRID": 52, "REGION_NAME": "RegionOne", "CLUSTER_NAME": "aa",
}
AIO_VALUES = {"ENABLE_DEBUG": "false", "NETWORK_TYPE": "ovn", "NODE_NAME": "aio1", "NODE_ADDR": "10.0.0.5",
              "VIP_INTERFACE": "eth0", "VIP_PREFIX": 24, "REGION_NAME": "RegionOne",
              "COMPUTE_DRIVER": "fake.FakeDriver", "OVS_DATAPATH_TYPE": "netdev"}
AIO_NODE = {"name": "aio1", "hostname": "aio1", "fqdn": "aio1.example.test", "ipaddress": "10.0.0.5"}
# Each service's own HAProxy listener on the db VIP (origin: 3307 nova, 3308 keystone, 3309 glance).
SERVICE_PORTS = {"nova": 3307, "keystone": 3308, "glance": 3309, "cinder": 3310, "placement": 3311, "neutron": 3312}
CONF_FILES = {"keystone": "keystone.conf", "glance": "glance-api.conf", "placement": "placement.conf",
              "nova": "nova.conf", "neutron": "neutron.conf", "cinder": "cinder.conf"}
COMPUTE_NODE = {"name": "compute1", "hostname": "compute1", "ipaddress": "10.81.26.11"}
PASSWORDS = SECRETS["deployer_secrets"]

# The namespaces each file's readers register: one table, deployer/lint's.
VALIDATOR = "/usr/bin/oslo-config-validator"  # Debian's, beside the packages' registered namespaces


def aa_environment(**overrides) -> dict:
    return TEMPLATES.render("active-active", "aa-test", {**AA_VALUES, **overrides})


def aio_environment(**overrides) -> dict:
    return TEMPLATES.render("allinone", "aio-test", {**AIO_VALUES, **overrides})


def role(name: str) -> dict:
    return json.loads((REPO / "roles" / f"{name}.json").read_text())


def render_conf(cookbook: str, template: str, node: dict, environment: dict, tmp_path: Path,
                role_name: str = "controller") -> tuple[Path, configparser.RawConfigParser]:
    text = render(cookbook, template, node=node, role=role(role_name), environment=environment, secrets=SECRETS)
    path = tmp_path / template
    path.write_text(text)
    # Duplicate sections/keys are errors; DEFAULT is an ordinary section here, as in oslo.config.
    parser = configparser.RawConfigParser(strict=True, default_section="\0")
    parser.read_string(text)
    return path, parser


def sections_of(parser: configparser.RawConfigParser) -> dict[str, dict[str, str]]:
    return {section: dict(parser[section]) for section in parser.sections()}


def oslo_conf(path: Path) -> cfg.ConfigOpts:
    """The file loaded by oslo.config with the libraries' own option definitions (types checked)."""
    conf = cfg.ConfigOpts()
    conf.register_opts(db_options.database_opts, group="database")
    conf.register_opts(impl_rabbit.rabbit_opts, group="oslo_messaging_rabbit")
    conf.register_opts(oslo_messaging.transport._transport_opts)  # transport_url
    conf.register_opts([cfg.BoolOpt("debug")])
    conf(["--config-file", str(path)], project="test", default_config_files=[])
    return conf


def validate(path: Path) -> subprocess.CompletedProcess:
    if not Path(VALIDATOR).exists():
        pytest.skip("Debian's oslo-config-validator is not installed (scripts/install.sh installs the OpenStack packages)")
    command = [VALIDATOR, "--input-file", str(path)]
    for namespace in NAMESPACES[path.name]:
        command += ["--namespace", namespace]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


ROLE_FILES = [  # (role, node, environment factory, cookbook, template)
    *(("controller", controller_node(0), aa_environment, "deployer_openstack", name)
      for name in [*CONF_FILES.values(), "ml2_conf.ini"]),
    *(("compute", COMPUTE_NODE, aa_environment, "deployer_compute", name)
      for name in ("nova.conf", "nova-compute.conf", "neutron_ovn_metadata_agent.ini")),
    *(("allinone", AIO_NODE, aio_environment, "deployer_compute", name)
      for name in ("nova-compute.conf", "neutron_ovn_metadata_agent.ini")),
]


@pytest.mark.parametrize("role_name, node, environment, cookbook, template", ROLE_FILES,
                         ids=[f"{r[0]}-{r[4]}" for r in ROLE_FILES])
def test_every_option_is_one_the_debian_packages_define(tmp_path, role_name, node, environment, cookbook, template):
    path, _ = render_conf(cookbook, template, node, environment(), tmp_path, role_name=role_name)
    result = validate(path)
    errors = [line for line in result.stderr.splitlines() if line.startswith(("ERROR", "WARNING:root"))]
    assert result.returncode == 0 and not errors, f"{template}:\n" + "\n".join(errors or [result.stderr[-2000:]])


def test_the_validator_refuses_an_option_zed_removed(tmp_path):
    """The check above can fail: nova-network's multi_host and the old rabbit_hosts are gone from Zed."""
    path, _ = render_conf("deployer_openstack", "nova.conf", controller_node(0), aa_environment(), tmp_path)
    path.write_text(path.read_text().replace("[DEFAULT]\n", "[DEFAULT]\nmulti_host = True\n", 1)
                    .replace("[oslo_messaging_rabbit]\n", "[oslo_messaging_rabbit]\nrabbit_hosts = 10.0.0.1:5672\n", 1))
    result = validate(path)
    assert result.returncode != 0
    assert "DEFAULT/multi_host is not part of the sample config" in result.stderr
    assert "oslo_messaging_rabbit/rabbit_hosts is not part of the sample config" in result.stderr


@pytest.mark.parametrize("service", sorted(SERVICE_PORTS))
def test_sql_connection_uses_the_service_port_on_the_db_vip(tmp_path, service):
    path, parser = render_conf("deployer_openstack", CONF_FILES[service], controller_node(0), aa_environment(), tmp_path)
    password = PASSWORDS["db_passwords"][service]
    expected = f"mysql+pymysql://{service}:{password}@{DB_VIP}:{SERVICE_PORTS[service]}/{service}"
    section = "placement_database" if service == "placement" else "database"
    assert parser.get(section, "connection") == expected
    assert parser.get("DEFAULT", "debug") == "True"  # the environment's ENABLE_DEBUG


def test_nova_api_database_shares_the_nova_listener(tmp_path):
    _, parser = render_conf("deployer_openstack", "nova.conf", controller_node(0), aa_environment(), tmp_path)
    assert parser.get("api_database", "connection").endswith(f"@{DB_VIP}:3307/nova_api")
    assert not parser.has_option("glance", "api_servers"), "deprecated since nova 21: the catalog finds glance"


@pytest.mark.parametrize("service", ["nova", "neutron", "cinder"])
def test_rpc_services_list_every_broker_with_their_own_user(tmp_path, service):
    path, parser = render_conf("deployer_openstack", CONF_FILES[service], controller_node(1), aa_environment(), tmp_path)
    brokers = [f"{c['address']}:5672" for c in CONTROLLERS]
    conf = oslo_conf(path)
    assert conf.oslo_messaging_rabbit.rabbit_quorum_queue is True
    assert conf.oslo_messaging_rabbit.rabbit_ha_queues is False
    # faster reconnection than oslo.messaging's own (deployer_rabbitmq's 'client' attribute)
    assert conf.oslo_messaging_rabbit.kombu_reconnect_delay == 0.2
    assert conf.oslo_messaging_rabbit.rabbit_retry_backoff == 1
    assert conf.oslo_messaging_rabbit.heartbeat_timeout_threshold == 20
    url = oslo_messaging.TransportURL.parse(conf, conf.transport_url)  # what oslo.messaging connects to
    assert [f"{h.hostname}:{h.port}" for h in url.hosts] == brokers
    assert {h.username for h in url.hosts} == {service}
    assert {h.password for h in url.hosts} == {PASSWORDS["mq_passwords"][service]}
    assert parser.get("keystone_authtoken", "auth_url") == f"http://{API_VIP}:5000/v3"
    assert parser.get("keystone_authtoken", "password") == PASSWORDS["service_passwords"][service]


@pytest.mark.parametrize("service", ["keystone", "glance", "placement"])
def test_services_without_rpc_get_no_messaging_settings(tmp_path, service):
    _, parser = render_conf("deployer_openstack", CONF_FILES[service], controller_node(0), aa_environment(), tmp_path)
    assert not parser.has_option("DEFAULT", "transport_url")
    assert not parser.has_section("oslo_messaging_rabbit")


def test_the_origins_mirrored_queues_remain_an_environment_option(tmp_path):
    """One attribute (deployer_rabbitmq's queue_type) drives the brokers' policy and the clients."""
    environment = aa_environment()
    environment["override_attributes"] = {"deployer": {"rabbitmq": {"queue_type": "classic_mirrored"}}}
    path, _ = render_conf("deployer_openstack", "nova.conf", controller_node(0), environment, tmp_path)
    conf = oslo_conf(path)
    assert conf.oslo_messaging_rabbit.rabbit_quorum_queue is False
    assert conf.oslo_messaging_rabbit.rabbit_ha_queues is True
    environment["override_attributes"]["deployer"]["rabbitmq"]["queue_type"] = "classic"
    with pytest.raises(RenderError, match=r"\['queue_type'\] must be one of classic_mirrored, quorum"):
        render_conf("deployer_openstack", "nova.conf", controller_node(0), environment, tmp_path)


def test_apis_bind_the_node_address_so_haproxy_owns_the_vip_port(tmp_path):
    """F4: uwsgi APIs through /etc/default/<name>, glance-api and novncproxy through their own files."""
    attributes = node_attributes("deployer_openstack", node=controller_node(1), role=role("controller"),
                                 environment=aa_environment())
    own = CONTROLLERS[1]["address"]
    apps = attributes["deployer"]["openstack"]["uwsgi"]["apps"]
    units = {unit for service in CONF_FILES for unit in attributes["deployer"]["openstack"][service]["units"]}
    assert set(apps) <= units, "every uwsgi app is a unit some controller service runs"
    for unit, app in apps.items():
        defaults = call_helper("deployer_openstack", "DeployerOpenstack::Helpers.uwsgi_defaults", attributes, unit)
        args = shlex.split(defaults["daemon_args"])
        assert args[:4] == ["--http-socket", f"{own}:{app['port']}", "--ini", app["ini"]], unit
        if Path("/etc/init.d/nova-api").exists():  # the packages are installed: the ini is theirs
            assert Path(app["ini"]).exists(), f"{unit}: no {app['ini']} in the package"
    _, glance = render_conf("deployer_openstack", "glance-api.conf", controller_node(1), aa_environment(), tmp_path)
    assert (glance.get("DEFAULT", "bind_host"), glance.get("DEFAULT", "bind_port")) == (own, "9292")
    _, nova = render_conf("deployer_openstack", "nova.conf", controller_node(1), aa_environment(), tmp_path)
    assert nova.get("vnc", "novncproxy_host") == own and nova.get("DEFAULT", "my_ip") == own
    assert nova.get("vnc", "novncproxy_base_url") == f"http://{API_VIP}:6080/vnc_auto.html"


@pytest.mark.parametrize("cpus, processes", [(2, 2), (64, 5), (None, 1)])
def test_uwsgi_processes_follow_the_cpus_up_to_five(cpus, processes):
    node = {**controller_node(0), **({"cpu": {"total": cpus}} if cpus else {})}
    attributes = node_attributes("deployer_openstack", node=node, environment=aa_environment())
    defaults = call_helper("deployer_openstack", "DeployerOpenstack::Helpers.uwsgi_defaults", attributes, "nova-api")
    assert defaults["daemon_args"].endswith(f"--ini /etc/nova/nova-api-uwsgi.ini --processes {processes}")


def test_uwsgi_processes_can_be_set():
    environment = aa_environment()
    environment["override_attributes"] = {"deployer": {"openstack": {"uwsgi": {"processes": 2}}}}
    attributes = node_attributes("deployer_openstack", node=controller_node(0), environment=environment)
    defaults = call_helper("deployer_openstack", "DeployerOpenstack::Helpers.uwsgi_defaults", attributes, "keystone")
    assert defaults["daemon_args"].endswith("--ini /etc/keystone/keystone-uwsgi.ini --processes 2")


def test_neutron_is_ml2_ovn_with_distributed_floating_ips(tmp_path):
    _, neutron = render_conf("deployer_openstack", "neutron.conf", controller_node(0), aa_environment(), tmp_path)
    assert (neutron.get("DEFAULT", "core_plugin"), neutron.get("DEFAULT", "service_plugins")) == ("ml2", "ovn-router")
    assert neutron.get("nova", "username") == "nova"
    assert neutron.get("nova", "password") == PASSWORDS["service_passwords"]["nova"]
    _, ml2 = render_conf("deployer_openstack", "ml2_conf.ini", controller_node(0), aa_environment(), tmp_path)
    assert ml2.get("ml2", "mechanism_drivers") == "ovn"
    assert ml2.get("ml2", "tenant_network_types") == "geneve"
    assert ml2.get("ovn", "enable_distributed_floating_ip") == "True"
    assert ml2.get("ovn", "ovn_nb_connection") == ",".join(f"tcp:{c['address']}:6641" for c in CONTROLLERS)
    assert ml2.get("ovn", "ovn_sb_connection") == ",".join(f"tcp:{c['address']}:6642" for c in CONTROLLERS)


def test_nova_network_is_refused_with_the_reason_and_the_replacement(tmp_path):
    with pytest.raises(RenderError, match=r"removed from nova in Ussuri \(21\.0\.0\).*use 'ovn'"):
        render_conf("deployer_openstack", "ml2_conf.ini", controller_node(0), aa_environment(NETWORK_TYPE="nova-network"),
                    tmp_path)
    with pytest.raises(RenderError, match=r"\['service_type'\] must be 'ovn'"):
        render_conf("deployer_compute", "neutron_ovn_metadata_agent.ini", COMPUTE_NODE,
                    aa_environment(NETWORK_TYPE="linuxbridge"), tmp_path, role_name="compute")


def test_controller_and_compute_write_the_same_nova_conf(tmp_path):
    """An all-in-one node is both: one nova.conf, or every converge would rewrite it and restart nova."""
    (tmp_path / "controller").mkdir()
    (tmp_path / "compute").mkdir()
    _, controller = render_conf("deployer_openstack", "nova.conf", AIO_NODE, aio_environment(), tmp_path / "controller",
                                role_name="allinone")
    _, compute = render_conf("deployer_compute", "nova.conf", AIO_NODE, aio_environment(), tmp_path / "compute",
                             role_name="allinone")
    assert sections_of(controller) == sections_of(compute)
    assert controller.get("DEFAULT", "host") == "aio1", "the name ovn-controller registers its chassis under"
    assert controller.get("neutron", "metadata_proxy_shared_secret") == PASSWORDS["neutron"]["metadata_secret"]


def test_compute_driver_is_libvirt_unless_the_environment_asks_for_the_fake_one(tmp_path):
    _, shipped = render_conf("deployer_compute", "nova-compute.conf", COMPUTE_NODE, aa_environment(), tmp_path,
                             role_name="compute")
    assert sections_of(shipped) == {"DEFAULT": {"compute_driver": "libvirt.LibvirtDriver"}, "libvirt": {"virt_type": "kvm"}}
    attributes = node_attributes("deployer_compute", node=COMPUTE_NODE, environment=aa_environment())
    assert call_helper("deployer_compute", "DeployerCompute::Helpers.units", attributes) == \
        ["nova-compute", "neutron-ovn-metadata-agent", "libvirtd"]
    _, fake = render_conf("deployer_compute", "nova-compute.conf", AIO_NODE, aio_environment(), tmp_path,
                          role_name="allinone")
    assert sections_of(fake) == {"DEFAULT": {"compute_driver": "fake.FakeDriver"}}
    attributes = node_attributes("deployer_compute", node=AIO_NODE, environment=aio_environment())
    assert "libvirtd" not in call_helper("deployer_compute", "DeployerCompute::Helpers.units", attributes)
    with pytest.raises(RenderError, match=r"\['driver'\] must be one of"):
        render_conf("deployer_compute", "nova-compute.conf", AIO_NODE, aio_environment(COMPUTE_DRIVER="xenapi.XenAPIDriver"),
                    tmp_path, role_name="allinone")


def test_metadata_agent_reaches_nova_metadata_on_the_api_vip(tmp_path):
    _, agent = render_conf("deployer_compute", "neutron_ovn_metadata_agent.ini", COMPUTE_NODE, aa_environment(),
                           tmp_path, role_name="compute")
    assert (agent.get("DEFAULT", "nova_metadata_host"), agent.get("DEFAULT", "nova_metadata_port")) == (API_VIP, "8775")
    assert agent.get("DEFAULT", "metadata_proxy_shared_secret") == PASSWORDS["neutron"]["metadata_secret"]
    assert agent.get("ovn", "ovn_sb_connection").split(",")[0] == f"tcp:{CONTROLLERS[0]['address']}:6642"
    assert agent.get("ovs", "ovsdb_connection") == "unix:/var/run/openvswitch/db.sock"


def test_a_missing_secret_is_named_without_values(tmp_path):
    secrets = json.loads(json.dumps(SECRETS))
    del secrets["deployer_secrets"]["db_passwords"]["glance"]
    with pytest.raises(RenderError) as error:
        render("deployer_openstack", "glance-api.conf", node=controller_node(0), environment=aa_environment(),
               secrets=secrets)
    assert "db_passwords" in str(error.value) and "glance" in str(error.value)
    assert PASSWORDS["db_passwords"]["nova"] not in str(error.value)


def test_keystone_catalog_registers_every_service_on_its_vip():
    attributes = node_attributes("deployer_openstack", node=controller_node(0), environment=aa_environment())
    catalog = {entry["service"]: entry for entry in call_helper(
        "deployer_openstack", "DeployerOpenstack::Helpers.endpoint_catalog", attributes)}
    assert set(catalog) == {"keystone", "glance", "placement", "nova", "neutron", "cinder"}
    assert catalog["keystone"]["urls"] == {i: f"http://{API_VIP}:5000/v3" for i in ("public", "internal", "admin")}
    assert catalog["nova"]["urls"]["public"] == f"http://{API_VIP}:8774/v2.1"
    assert catalog["placement"]["urls"]["internal"] == f"http://{API_VIP}:8778"
    assert (catalog["neutron"]["type"], catalog["cinder"]["type"]) == ("network", "volumev3")
    assert {e["region"] for e in catalog.values()} == {"RegionOne"}
    assert call_helper("deployer_openstack", "DeployerOpenstack::Helpers.service_users", attributes) == \
        ["glance", "placement", "nova", "neutron", "cinder"]


def test_a_service_left_out_of_the_catalog_gets_no_user():
    environment = aa_environment()
    environment["override_attributes"] = {"deployer": {"openstack": {"endpoints": {"cinder": False}}}}
    attributes = node_attributes("deployer_openstack", node=controller_node(0), environment=environment)
    assert "cinder" not in call_helper("deployer_openstack", "DeployerOpenstack::Helpers.service_users", attributes)


def test_keystone_catalog_follows_a_per_service_vip():
    """The origin registers glance/cinder on one VIP and nova/keystone on another."""
    environment = aa_environment()
    deployer = environment["default_attributes"]["deployer"]
    deployer["vips"]["storage"] = {"address": "10.81.72.202", "prefix": 24, "interface": "eth0",
                                   "virtual_router_id": 53, "auth_pass_item": "vrrp_storage"}
    deployer["openstack"]["endpoints"] = {"glance": {"vip": "storage"}, "cinder": {"vips": {"public": "storage"}}}
    attributes = node_attributes("deployer_openstack", node=controller_node(0), environment=environment)
    catalog = {entry["service"]: entry["urls"] for entry in call_helper(
        "deployer_openstack", "DeployerOpenstack::Helpers.endpoint_catalog", attributes)}
    assert set(catalog["glance"].values()) == {"http://10.81.72.202:9292"}
    assert catalog["cinder"]["public"].startswith("http://10.81.72.202:8776/")
    assert catalog["cinder"]["internal"].startswith(f"http://{API_VIP}:8776/")
    assert catalog["nova"]["public"].startswith(f"http://{API_VIP}:")


def test_catalog_script_is_valid_python_and_reads_passwords_on_stdin_only():
    """The keystoneclient script the catalog resource pipes the request to (checked by Python's compiler)."""
    script = call_helper("deployer_openstack", "DeployerOpenstack::Helpers::CATALOG_SCRIPT.to_s")
    compile(script, "catalog_script", "exec")
    assert "sys.stdin" in script and "argv" not in script
    # What it prints is descriptions only, never the request (which holds the passwords).
    assert 'json.dump([{"description": change["description"]} for change in found], sys.stdout)' in script


def test_the_catalog_request_holds_every_service_user_with_its_password():
    attributes = node_attributes("deployer_openstack", node=controller_node(0), environment=aa_environment())
    users = call_helper("deployer_openstack", "DeployerOpenstack::Helpers.service_users", attributes)
    openstack = attributes["deployer"]["openstack"]
    request = call_helper("deployer_openstack", "DeployerOpenstack::Helpers.catalog_request", attributes,
                          "differences", {user: f"pw-{user}" for user in users})
    assert request["mode"] == "differences"
    assert [entry["service"] for entry in request["catalog"]] == \
        call_helper("deployer_openstack", "DeployerOpenstack::Helpers.catalog_services", attributes)
    assert [(u["user"], u["password"], u["project"], u["role"]) for u in request["users"]] == \
        [(user, f"pw-{user}", openstack["service_project"], openstack["service_role"]) for user in users]


def test_schema_migrations_are_known_for_every_service_and_run_as_its_user():
    attributes = node_attributes("deployer_openstack", node=controller_node(0), environment=aa_environment())
    db_sync = attributes["deployer"]["openstack"]["db_sync"]
    assert set(db_sync) == set(CONF_FILES)
    for service, spec in db_sync.items():
        assert spec["user"] == service
        if shutil.which("dpkg-query"):
            installed = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", spec["package"]],
                                       capture_output=True, text=True)
            if Path("/usr/bin/nova-manage").exists():
                assert installed.returncode == 0 and installed.stdout, f"{spec['package']} is not a Debian package"
    assert "cell_v2 map_cell0" in db_sync["nova"]["command"] and "create_cell --name cell1" in db_sync["nova"]["command"]
