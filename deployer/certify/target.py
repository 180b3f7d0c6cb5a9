"""A deployment -> what a certification needs: its controllers, VIPs, SSH access and credentials.

Everything comes from what the deployment itself used: the controllers and
VIPs from its rendered Chef environment (deployer.cluster, deployer.vips),
SSH access from each controller's last succeeded node run (the stack's
Address/User/Password/KeyFile), the admin password from the environment's
encrypted secrets, and nova's messaging options from nova.conf on a
controller, so the RPC probe speaks to the broker exactly as nova does.
"""
from __future__ import annotations

import configparser
import dataclasses
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from deployer.bootstrap.contract import SUCCEEDED, RunSpec
from deployer.certify.cluster import Controller
from deployer.db.models import EnvironmentSecrets, Run


class TargetError(Exception):
    pass


@dataclasses.dataclass
class Target:
    controllers: list[Controller]
    vips: dict[str, str]                 # "api" / "db" -> address
    admin_password: str = dataclasses.field(repr=False)
    environment: str
    rabbit_port: int = 5672


def resolve(session: Session, box, chef, deployment_id: str) -> Target:
    runs = session.scalars(select(Run).where(Run.deployment_id == deployment_id, Run.status == SUCCEEDED)
                           .order_by(Run.created_at)).all()
    if not runs:
        raise TargetError("the deployment has no succeeded node run: nothing was converged")
    latest: dict[str, Run] = {run.node_name: run for run in runs}    # the last one wins
    environments = {RunSpec.from_dict(run.spec_json).environment for run in latest.values()}
    if len(environments) != 1:
        raise TargetError(f"the deployment's nodes use several Chef environments: {sorted(environments)}")
    [environment] = environments
    document = chef.get(f"/environments/{environment}")
    attributes = _merged_deployer(document)
    refusal = unsupported_topology(attributes)
    if refusal:
        raise TargetError(f"environment {environment}: {refusal}")
    cluster = attributes.get("cluster") or {}
    listed = cluster.get("controllers") or []
    if len(listed) < 2:
        raise TargetError(f"environment {environment} lists {len(listed)} controller(s) in "
                          f"deployer.cluster.controllers: certification needs an HA topology")
    controllers = []
    for entry in listed:
        run = latest.get(entry["name"])
        if run is None:
            raise TargetError(f"controller {entry['name']} has no succeeded node run in this deployment")
        spec = RunSpec.from_dict(run.spec_json)
        if run.secret_blob is not None:
            spec.target.password = box.decrypt(run.secret_blob)
        controllers.append(Controller(entry["name"], entry["address"], spec.target))
    vips = {}
    for role in ("api", "db"):
        name = cluster.get(f"{role}_vip")
        vip = (attributes.get("vips") or {}).get(name) if name else None
        if not vip or not vip.get("address"):
            raise TargetError(f"environment {environment} has no {role} VIP (deployer.cluster.{role}_vip)")
        vips[role] = vip["address"]
    row = session.get(EnvironmentSecrets, environment)
    if row is None:
        raise TargetError(f"environment {environment} has no stored secrets")
    admin_password = json.loads(box.decrypt(row.secret_blob))["items"]["keystone"]["admin_password"]
    port = int((attributes.get("rabbitmq") or {}).get("port") or 5672)
    return Target(controllers, vips, admin_password, environment, port)


def unsupported_topology(attributes: dict) -> str | None:
    """Why the faults cannot be run on this topology (None: they can).  Active/passive keeps
    MySQL's data on one device that Pacemaker mounts where MySQL runs, with STONITH off as in
    the origin: unplugging or hanging the active node would let both nodes run MySQL on it."""
    if attributes.get("drbd_mysql"):
        return ("MySQL runs under Pacemaker on one data device (active/passive, STONITH off): "
                "the unplug and hang faults would let both nodes write it, so certification "
                "covers active-active only; the active/passive failovers are measured by "
                "tests/cookbooks/test_active_passive_deploy.py and bench/active_passive.py")
    return None


def _merged_deployer(document: dict) -> dict:
    """node['deployer'] as the environment sets it: override attributes over default ones."""
    def merge(base: dict, top: dict) -> dict:
        result = dict(base)
        for key, value in top.items():
            result[key] = merge(result[key], value) if isinstance(value, dict) and isinstance(
                result.get(key), dict) else value
        return result
    return merge((document.get("default_attributes") or {}).get("deployer") or {},
                 (document.get("override_attributes") or {}).get("deployer") or {})


def nova_messaging_section(nova_conf: str) -> str:
    """The part of nova.conf the RPC probe needs ([DEFAULT] transport_url, [oslo_messaging_rabbit])."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read_string(nova_conf)
    # nova's topics live on its own exchange: nova.rpc sets control_exchange's default to "nova"
    lines = ["[DEFAULT]", f"transport_url = {parser.get('DEFAULT', 'transport_url')}",
             f"control_exchange = {parser.get('DEFAULT', 'control_exchange', fallback='nova')}"]
    if parser.has_section("oslo_messaging_rabbit"):
        lines.append("[oslo_messaging_rabbit]")
        lines += [f"{key} = {value}" for key, value in parser.items("oslo_messaging_rabbit", raw=True)
                  if key not in parser.defaults()]
    return "\n".join(lines) + "\n"


def control_exchange(messaging_section: str) -> str:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(messaging_section)
    return parser.get("DEFAULT", "control_exchange")


def quorum_queues(messaging_section: str) -> bool:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(messaging_section)
    return parser.getboolean("oslo_messaging_rabbit", "rabbit_quorum_queue", fallback=False)


def broker_urls(messaging_section: str) -> list[str]:
    """The transport_url's brokers as AMQP URLs (one per host, for the confirmed publisher)."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(messaging_section)
    url = parser.get("DEFAULT", "transport_url")
    scheme, _, rest = url.partition("://")
    hosts, _, vhost = rest.rpartition("/")
    return [f"amqp://{host}/{vhost or ''}" for host in hosts.split(",")]
