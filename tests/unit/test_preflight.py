"""The preflight's pure parts: packages read from the shipped cookbooks and roles, the
run-list expansion, apt-cache policy, VIPs and segments, the Chef URL diagnosis, the
report's problem fields; and the VIP registry on a real (SQLite) deployer database."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from deployer.db.migrate import upgrade_database
from deployer.db.models import Deployment, VipClaim, utcnow
from deployer.errors import Conflict, Unprocessable
from deployer.preflight import apt, chef_url, gate, packages, probes, registry, run_list, site, vips
from deployer.preflight.report import FAILED, PASSED, WARNING, Check, NodeReport, Report, VipReport
from deployer.preflight.settings import Settings

REPO = Path(__file__).resolve().parents[2]
ROLES, COOKBOOKS = REPO / "roles", REPO / "cookbooks"


def derived(role: str, environment: dict | None = None) -> packages.Derived:
    expanded = run_list.expand([f"role[{role}]"], ROLES)
    environment = environment or {}
    layers = [environment.get("default_attributes") or {},
              *(r.get("default_attributes") or {} for r in expanded.roles),
              *(r.get("override_attributes") or {} for r in expanded.roles),
              environment.get("override_attributes") or {}]
    return packages.derive(expanded.recipes, packages.load(COOKBOOKS), layers)


# -- packages from the cookbooks ----------------------------------------------------------

@pytest.mark.parametrize("role", sorted(p.stem for p in ROLES.glob("*.json")))
def test_every_shipped_role_derives_its_packages_with_no_unread_form(role):
    found = derived(role)
    assert found.unresolved == [] and found.unknown_recipes == []


def test_a_controller_needs_what_its_cookbooks_install_and_a_compute_only_its_own():
    controller = derived("controller").packages
    for name in ("haproxy", "keepalived", "mariadb-server", "galera-4", "rabbitmq-server",
                 "keystone", "nova-api", "corosync", "pacemaker", "ovn-central"):
        assert name in controller
    compute = derived("compute").packages
    assert compute == ["neutron-ovn-metadata-agent", "nova-compute", "openvswitch-switch",
                       "ovn-host"]
    assert "deployer_keepalived" in derived("controller").cookbooks
    assert "deployer_keepalived" not in derived("allinone").cookbooks


def test_an_environment_override_of_a_packages_attribute_is_what_the_node_needs():
    override = {"override_attributes": {"deployer": {"keepalived": {"packages": ["keepalived-x"]}}}}
    found = derived("loadbalancer", override).packages
    assert "keepalived-x" in found and "keepalived" not in found


def test_a_package_form_the_reader_does_not_know_is_reported_not_skipped(tmp_path):
    recipes = tmp_path / "site" / "recipes"
    recipes.mkdir(parents=True)
    (recipes / "default.rb").write_text("package 'a'\npackage compute_list()\n")
    found = packages.derive(["site::default"], packages.Cookbooks(tmp_path), [])
    assert found.packages == ["a"]
    assert found.unresolved == ["site/recipes/default.rb:2: package compute_list()"]


def test_run_list_expansion_follows_roles_and_env_run_lists(tmp_path):
    (tmp_path / "outer.json").write_text(json.dumps(
        {"run_list": ["role[inner]", "recipe[b]"], "env_run_lists": {"prod": ["recipe[c::x@1.2.0]"]}}))
    (tmp_path / "inner.json").write_text(json.dumps({"run_list": ["a", "role[outer]"]}))
    found = run_list.expand(["role[outer]", "role[site-only]"], tmp_path)
    assert found.recipes == ["a::default", "b::default"]
    assert found.unknown_roles == ["site-only"]
    assert run_list.expand(["role[outer]"], tmp_path, "prod").recipes == ["c::x"]


# -- apt-cache policy ------------------------------------------------------------------------

POLICY = """haproxy:
  Installed: 2.6.12-1+deb12u1
  Candidate: 2.6.12-1+deb12u1
  Version table:
keepalived:
  Installed: (none)
  Candidate: 1:2.2.7-1+b2
ghost:
  Installed: (none)
  Candidate: (none)
"""


def test_apt_policy_missing_is_neither_installed_nor_installable_nor_known():
    assert apt.missing(["haproxy", "keepalived", "ghost", "no-such"], POLICY) == ["ghost", "no-such"]
    assert apt.command(["a", "b;rm"]) == "LC_ALL=C apt-cache policy a 'b;rm'"


# -- VIPs --------------------------------------------------------------------------------------

def environment(**vips_) -> dict:
    return {"default_attributes": {"deployer": {"vips": vips_}}}


API = {"address": "10.0.0.100", "prefix": 24, "interface": "eth0", "virtual_router_id": 51}


def test_a_vip_segment_is_its_network_or_its_own_segment():
    found = vips.floating(environment(api=API, db={**API, "address": "10.0.0.101",
                                                   "virtual_router_id": "52", "segment": "vlan7"}),
                          {"10.0.0.11"}, vrrp=True)
    assert [(v.name, v.segment, v.vrid) for v in found] == [("api", "10.0.0.0/24", 51),
                                                             ("db", "vlan7", 52)]
    assert found[0].contains("10.0.0.11") and not found[0].contains("10.0.1.11")


def test_a_vip_on_a_node_address_is_the_nodes_own_unless_keepalived_moves_it():
    aio = environment(api={**API, "address": "10.0.0.5"})
    assert vips.floating(aio, {"10.0.0.5"}, vrrp=False) == []
    with pytest.raises(Unprocessable) as refused:
        vips.floating(aio, {"10.0.0.5"}, vrrp=True)
    assert "chef_environment.deployer.vips.api.address" in refused.value.errors


def test_without_keepalived_a_vip_has_no_vrid():
    assert [v.vrid for v in vips.floating(environment(api=API), set(), vrrp=False)] == [None]


@pytest.mark.parametrize("vrid", [0, 256, "x", None, 5.5, True])
def test_a_vrid_outside_1_255_is_refused_naming_the_field(vrid):
    with pytest.raises(Unprocessable) as refused:
        vips.floating(environment(api={**API, "virtual_router_id": vrid}), set(), vrrp=True)
    assert list(refused.value.errors) == ["chef_environment.deployer.vips.api.virtual_router_id"]


def test_two_vips_of_one_deployment_on_one_vrid_of_a_segment_are_refused():
    with pytest.raises(Unprocessable) as refused:
        vips.floating(environment(api=API, db={**API, "address": "10.0.0.101"}), set(), vrrp=True)
    assert "VRID 51 is VIP api's" in refused.value.detail


def test_override_attributes_win_over_default_for_vips():
    env = {**environment(api=API),
           "override_attributes": {"deployer": {"vips": {"api": {"virtual_router_id": 61}}}}}
    assert vips.floating(env, set(), vrrp=True)[0].vrid == 61


# -- the Chef server URL ------------------------------------------------------------------------

def settings(**changes) -> Settings:
    base = dict(chef_server_url="http://127.0.0.1:14545", node_url="", chef_mode="embedded",
                chef_bind_host="127.0.0.1", verify_tls=True, policy=None, roles_dir=ROLES,
                cookbooks_dir=COOKBOOKS)
    return Settings(**{**base, **changes})


def test_a_loopback_bound_embedded_server_is_named_with_the_setting_to_change():
    url = chef_url.for_node(settings(), None, "10.251.0.1")
    assert url == "http://10.251.0.1:14545"
    fix = chef_url.fix(settings(), url, None)
    assert "listens on 127.0.0.1 (loopback) only" in fix and "[chef] bind_host = 0.0.0.0" in fix
    assert "routing" in chef_url.fix(settings(chef_bind_host="0.0.0.0"), url, None)
    assert "ChefServerUrl" in chef_url.fix(settings(), "http://x:1", "http://x:1")
    assert chef_url.for_node(settings(node_url="http://relay:9/"), None, "10.0.0.1") == "http://relay:9"


def test_the_chef_probe_output_reads_as_reached_or_why_not():
    assert chef_url.reason("reached http 401\n") is None
    assert chef_url.reason("curl 7\n") == "connection refused"
    assert "no TCP connection" in chef_url.reason("tcp failed")


# -- platform, report, site ---------------------------------------------------------------------

def test_only_debian_12_passes_the_platform_check():
    bookworm = probes.os_release('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'
                                 'VERSION_ID="12"\n')
    assert probes.platform_check(bookworm).status == PASSED
    jammy = probes.os_release('PRETTY_NAME="Ubuntu 22.04"\nID=ubuntu\nVERSION_ID="22.04"\n')
    refused = probes.platform_check(jammy)
    assert refused.status == FAILED and "Ubuntu 22.04" in refused.detail


def test_a_failed_report_names_each_node_field_and_the_fix():
    node = NodeReport("controller1", "10.0.0.11", checks=[
        Check("ssh", FAILED, "authentication failed", "correct the password")])
    vip = VipReport("api", "10.0.0.100", "10.0.0.0/24", 51,
                    [Check("vip_free", WARNING, "not probed")])
    report = Report(nodes=[node], vips=[vip], site=[("nodes", Check("x", PASSED))])
    assert report.status == FAILED
    assert report.problems() == {"nodes.controller1": [
        "ssh: authentication failed; fix: correct the password"]}
    assert report.to_dict()["nodes"][0]["status"] == FAILED
    assert report.to_dict()["vips"][0]["status"] == WARNING
    assert Report(skipped=True).status == "skipped"


def test_nodes_sharing_an_address_or_a_host_name_fail_the_site_checks():
    a = NodeReport("a", "10.0.0.1", hostname="ctl")
    b = NodeReport("b", "10.0.0.1", hostname="CTL")
    found = site.checks([a, b])
    assert [(field, c.name, c.status) for field, c in found] == [
        ("nodes.b", "unique_address", FAILED), ("nodes.b", "unique_hostname", FAILED)]
    assert all(c.status == PASSED for _, c in site.checks([a, NodeReport("c", "10.0.0.2")]))


# -- the VIP registry, on a real database -------------------------------------------------------

@pytest.fixture
def session(tmp_path):
    url = f"sqlite:///{tmp_path / 'deployer.sqlite'}"
    upgrade_database(url)
    engine = create_engine(url)
    with Session(engine) as opened:
        yield opened
    engine.dispose()


def deployment(session, name: str, state: str = "complete") -> Deployment:
    now = utcnow()
    row = Deployment(id=str(uuid.uuid4()), name=name, active_name=name, template="active-active",
                     parameters={}, secret_names=[], heat_environments=[], stack_status="x",
                     status_reason="", state=state, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return row


def vip(name="api", address="10.0.0.100", vrid=51, segment="10.0.0.0/24") -> vips.Vip:
    return vips.Vip(name, address, segment, vrid, segment)


def test_a_vrid_or_address_of_another_deployment_is_a_409_naming_it(session):
    first = deployment(session, "site-a")
    registry.claim(session, first.id, [vip(), vip("db", "10.0.0.101", 52)])
    second = deployment(session, "site-b")
    with pytest.raises(Conflict) as refused:
        registry.claim(session, second.id, [vip("api", "10.0.0.200", 52)])
    assert "site-a" in refused.value.detail and first.id in refused.value.detail
    assert list(refused.value.errors) == ["chef_environment.deployer.vips.api.virtual_router_id"]
    with pytest.raises(Conflict) as refused:
        registry.claim(session, second.id, [vip("api", "10.0.0.101", 77)])
    assert list(refused.value.errors) == ["chef_environment.deployer.vips.api.address"]
    # Another segment, or no VRRP at all: free.
    registry.claim(session, second.id, [vip("api", "10.0.1.100", 51, "10.0.1.0/24"),
                                        vip("db", "10.0.0.102", None)])
    assert [(c.name, c.vrid) for c in registry.held(session, second.id)] == [("api", 51),
                                                                             ("db", None)]


def test_an_update_replaces_the_rows_and_a_deleted_deployment_frees_them(session):
    first = deployment(session, "site-a")
    registry.claim(session, first.id, [vip()])
    registry.claim(session, first.id, [vip(vrid=61)])          # its own update
    assert [c.vrid for c in registry.held(session, first.id)] == [61]
    registry.release(first)
    assert session.query(VipClaim).count() == 0
    # A row left by a deployment that is deleted gives way.
    registry.claim(session, first.id, [vip()])
    first.state = "deleted"
    other = deployment(session, "site-c")
    registry.claim(session, other.id, [vip()])
    assert [c.deployment_id for c in session.query(VipClaim)] == [other.id]


def test_plan_analysis_of_active_active_holds_vrids_and_allinone_none():
    def plan_document(template_roles, addresses, env):
        steps = [[{"resource": f"n{i}", "address": a, "run_list": [r]}]
                 for i, (r, a) in enumerate(zip(template_roles, addresses))]
        return {"stack_name": "s", "steps": steps, "chef_environment": env}
    aa = gate.analyse(None, plan_document(["role[controller]", "role[compute]"],
                                          ["10.0.0.11", "10.0.0.21"],
                                          environment(api=API, db={**API, "address": "10.0.0.101",
                                                                   "virtual_router_id": 52})))
    assert [(v.name, v.vrid) for v in aa.vips] == [("api", 51), ("db", 52)]
    assert "keepalived" in aa.needs["n0"].packages and aa.needs["n1"].notes == []
    aio = gate.analyse(None, plan_document(["role[allinone]"], ["10.0.0.5"],
                                           environment(api={**API, "address": "10.0.0.5"})))
    assert aio.vips == []
