"""deployer_openstack / deployer_compute: the service INI files, rendered through the harness
from the shipped active-active and active-passive Chef environments, parsed by configparser
and by oslo.config with the real option definitions (oslo.db, oslo.messaging), and the
Keystone catalog computed from the environment.
"""
from __future__ import annotations

import configparser
import json
from pathlib import Path

import oslo_messaging
import pytest
from oslo_config import cfg
from oslo_db import options as db_options
from oslo_messaging._drivers import impl_rabbit

from deployer.chef.environment_template import EnvironmentTemplates
from tests.chef_render import RenderError, call_helper, node_attributes, render
from tests.cookbooks.conftest import CONTROLLERS, SECRETS, controller_node

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = EnvironmentTemplates(REPO / "environments" / "chef")
API_VIP, DB_VIP = "10.81.72.200", "10.81.72.201"
AA_VALUES = {
    "ENABLE_DEBUG": "true", "NETWORK_TYPE": "nova-network",
    "NETWORK_MANAGER": "nova.network.manager.VlanManager",
    **{f"CONTROLLER{i}_NAME": c["name"] for i, c in enumerate(CONTROLLERS, start=1)},
    **{f"CONTROLLER{i}_ADDR": c["address"] for i, c in enumerate(CONTROLLERS, start=1)},
    "API_VIP_ADDR": API_VIP, "DB_VIP_ADDR": DB_VIP, "VIP_PREFIX": 24, "VIP_INTERFACE": "eth0",
    "API_VRID": 51, "DB_VRID": 52, "REGION_NAME": "RegionOne", "CLUSTER_NAME": "aa",
}
# Each service's own HAProxy listener on the db VIP (origin: 3307 nova, 3308 keystone, 3309 glance).
SERVICE_PORTS = {"nova": 3307, "keystone": 3308, "glance": 3309, "cinder": 3310}
COMPUTE_NODE = {"name": "compute1", "hostname": "compute1", "ipaddress": "10.81.26.11"}
PASSWORDS = SECRETS["deployer_secrets"]


def aa_environment(**overrides) -> dict:
    return TEMPLATES.render("active-active", "aa-test", {**AA_VALUES, **overrides})


def role(name: str) -> dict:
    """A shipped role: its attributes, and its run-list's cookbooks' attribute files."""
    return json.loads((REPO / "roles" / f"{name}.json").read_text())


def render_conf(cookbook: str, template: str, node: dict, environment: dict, tmp_path: Path,
                role_name: str = "controller") -> tuple[Path, configparser.RawConfigParser]:
    text = render(cookbook, template, node=node, role=role(role_name), environment=environment, secrets=SECRETS)
    path = tmp_path / template
    path.write_text(text)
    parser = configparser.RawConfigParser(strict=True)  # duplicate sections/keys are errors
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
    # nova-network's multi-host options, with nova's types.
    conf.register_opts([cfg.BoolOpt("multi_host"), cfg.BoolOpt("send_arp_for_ha"),
                        cfg.BoolOpt("update_dns_entries"), cfg.IntOpt("dns_update_periodic_interval"),
                        cfg.StrOpt("network_manager"), cfg.BoolOpt("debug")])
    conf(["--config-file", str(path)], project="test", default_config_files=[])
    return conf


@pytest.mark.parametrize("service", sorted(SERVICE_PORTS))
def test_sql_connection_uses_the_service_port_on_the_db_vip(tmp_path, service):
    path, parser = render_conf("deployer_openstack", f"{service}.conf", controller_node(0), aa_environment(), tmp_path)
    password = PASSWORDS["db_passwords"][service]
    expected = f"mysql+pymysql://{service}:{password}@{DB_VIP}:{SERVICE_PORTS[service]}/{service}"
    assert parser.get("database", "connection") == expected
    assert oslo_conf(path).database.connection == expected
    assert parser.get("DEFAULT", "debug") == "true"  # the environment's ENABLE_DEBUG


def test_nova_api_database_shares_the_nova_listener(tmp_path):
    _, parser = render_conf("deployer_openstack", "nova.conf", controller_node(0), aa_environment(), tmp_path)
    assert parser.get("api_database", "connection").endswith(f"@{DB_VIP}:3307/nova_api")
    assert parser.get("glance", "api_servers") == f"http://{API_VIP}:9292"


@pytest.mark.parametrize("service", ["nova", "glance", "cinder"])
def test_messaging_lists_every_broker_with_ha_queues(tmp_path, service):
    path, parser = render_conf("deployer_openstack", f"{service}.conf", controller_node(1), aa_environment(), tmp_path)
    brokers = [f"{c['address']}:5672" for c in CONTROLLERS]
    assert parser.get("oslo_messaging_rabbit", "rabbit_hosts").split(",") == brokers  # the origin's form
    conf = oslo_conf(path)
    assert conf.oslo_messaging_rabbit.rabbit_ha_queues is True
    url = oslo_messaging.TransportURL.parse(conf, conf.transport_url)  # what oslo.messaging connects to
    assert [f"{h.hostname}:{h.port}" for h in url.hosts] == brokers
    assert {h.username for h in url.hosts} == {service}
    assert {h.password for h in url.hosts} == {PASSWORDS["mq_passwords"][service]}
    assert parser.get("keystone_authtoken", "auth_url") == f"http://{API_VIP}:5000/v3"
    assert parser.get("keystone_authtoken", "password") == PASSWORDS["service_passwords"][service]


def test_quorum_queues_replace_mirroring_when_the_brokers_use_them(tmp_path):
    """One attribute (deployer_rabbitmq's queue_type) drives the brokers' policy and the clients."""
    environment = aa_environment()
    environment["override_attributes"] = {"deployer": {"rabbitmq": {"queue_type": "quorum"}}}
    path, parser = render_conf("deployer_openstack", "nova.conf", controller_node(0), environment, tmp_path)
    conf = oslo_conf(path)
    assert conf.oslo_messaging_rabbit.rabbit_quorum_queue is True
    assert conf.oslo_messaging_rabbit.rabbit_ha_queues is False
    environment["override_attributes"]["deployer"]["rabbitmq"]["queue_type"] = "classic"
    with pytest.raises(RenderError, match=r"\['queue_type'\] must be one of classic_mirrored, quorum"):
        render_conf("deployer_openstack", "nova.conf", controller_node(0), environment, tmp_path)


@pytest.mark.parametrize("manager", ["nova.network.manager.VlanManager", "nova.network.manager.FlatDHCPManager"])
def test_compute_nova_conf_is_multi_host_with_the_environment_network_manager(tmp_path, manager):
    path, parser = render_conf("deployer_compute", "nova.conf", COMPUTE_NODE, aa_environment(NETWORK_MANAGER=manager),
                               tmp_path, role_name="compute")
    conf = oslo_conf(path)
    assert (conf.multi_host, conf.send_arp_for_ha, conf.update_dns_entries) == (True, True, True)
    assert conf.dns_update_periodic_interval == 60
    assert conf.network_manager == manager
    assert parser.get("DEFAULT", "my_ip") == COMPUTE_NODE["ipaddress"]
    assert conf.database.connection.endswith(f"@{DB_VIP}:3307/nova")


def test_controller_and_compute_write_the_same_nova_conf(tmp_path):
    """An all-in-one node is both: one nova.conf, or every converge would rewrite it and restart nova."""
    node = {"name": CONTROLLERS[0]["name"], "ipaddress": CONTROLLERS[0]["address"]}
    (tmp_path / "controller").mkdir()
    (tmp_path / "compute").mkdir()
    _, controller = render_conf("deployer_openstack", "nova.conf", node, aa_environment(), tmp_path / "controller")
    _, compute = render_conf("deployer_compute", "nova.conf", node, aa_environment(), tmp_path / "compute",
                             role_name="compute")
    assert sections_of(controller) == sections_of(compute)
    assert controller.get("DEFAULT", "multi_host") == "True"


def test_compute_refuses_a_network_manager_outside_nova_network(tmp_path):
    with pytest.raises(RenderError, match=r"\['network_manager'\] must be one of"):
        render_conf("deployer_compute", "nova.conf", COMPUTE_NODE,
                    aa_environment(NETWORK_MANAGER="neutron.BogusManager"), tmp_path, role_name="compute")
    with pytest.raises(RenderError, match=r"\['service_type'\] must be nova-network"):
        render_conf("deployer_compute", "nova.conf", COMPUTE_NODE, aa_environment(NETWORK_TYPE="neutron"),
                    tmp_path, role_name="compute")


def test_active_passive_services_reach_mysql_directly_on_the_pacemaker_vip(tmp_path):
    values = {"ENABLE_DEBUG": "false", "NETWORK_TYPE": "nova-network",
              "NETWORK_MANAGER": "nova.network.manager.FlatDHCPManager",
              "PRIMARY_NAME": "host10", "PRIMARY_ADDR": "10.0.0.10", "SECONDARY_NAME": "host20",
              "SECONDARY_ADDR": "10.0.0.20", "API_VIP_ADDR": "10.0.0.100", "DB_VIP_ADDR": "10.0.0.101",
              "VIP_PREFIX": 24, "VIP_INTERFACE": "eth0", "DRBD_DISK": "/dev/sdb1", "REGION_NAME": "RegionOne",
              "CLUSTER_NAME": "ap"}
    environment = TEMPLATES.render("active-passive", "ap-test", values)
    node = {"name": "host10", "ipaddress": "10.0.0.10"}
    _, parser = render_conf("deployer_openstack", "cinder.conf", node, environment, tmp_path, role_name="primary")
    assert parser.get("database", "connection").endswith("@10.0.0.101:3306/cinder")
    assert parser.get("oslo_messaging_rabbit", "rabbit_hosts") == "10.0.0.10:5672,10.0.0.20:5672"


def test_a_missing_secret_is_named_without_values(tmp_path):
    secrets = json.loads(json.dumps(SECRETS))
    del secrets["deployer_secrets"]["db_passwords"]["glance"]
    with pytest.raises(RenderError) as error:
        render("deployer_openstack", "glance.conf", node=controller_node(0), environment=aa_environment(),
               secrets=secrets)
    assert "db_passwords" in str(error.value) and "glance" in str(error.value)
    assert PASSWORDS["db_passwords"]["nova"] not in str(error.value)


def test_keystone_catalog_registers_every_service_on_its_vip():
    attributes = node_attributes("deployer_openstack", node=controller_node(0), environment=aa_environment())
    catalog = {entry["service"]: entry for entry in call_helper(
        "deployer_openstack", "DeployerOpenstack::Helpers.endpoint_catalog", attributes)}
    assert set(catalog) == {"keystone", "nova", "glance", "cinder"}
    assert catalog["keystone"]["urls"] == {i: f"http://{API_VIP}:5000/v3" for i in ("public", "internal", "admin")}
    assert catalog["nova"]["urls"]["public"] == f"http://{API_VIP}:8774/v2.1"
    assert catalog["cinder"]["type"] == "volumev3"
    assert {e["region"] for e in catalog.values()} == {"RegionOne"}


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
