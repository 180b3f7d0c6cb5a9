"""The one place that builds a heatclient for the configured Heat.

Embedded mode talks to our own Heat, whose API runs the ``noauth`` pipeline:
a keystoneauth1 session with the ``noauth`` plugin pointed at its endpoint.
Remote mode authenticates against Keystone through openstacksdk's config
loader, from a ``clouds.yaml`` cloud (``[heat] cloud``; the file is found the
usual way, including ``OS_CLIENT_CONFIG_FILE``) or from ``OS_*`` environment
variables.  Incomplete credentials are reported before any network call, naming
the variable or clouds.yaml key that is missing.
"""
from __future__ import annotations

import os
from typing import Mapping

from heatclient.v1 import client as heat_v1
from keystoneauth1 import exceptions as ka_exceptions
from keystoneauth1 import loading, noauth, session

from deployer.config import Config, ConfigError

REQUEST_TIMEOUT = 60.0
# Auth plugins whose options say "one of these" rather than "required".
USER_OPTIONS = ("username", "user_id")
SECRET_OPTION = {"password": "password", "v3password": "password", "v2password": "password",
                 "token": "token", "v3token": "token", "v2token": "token",
                 "admin_token": "token"}


def heat_client(cfg: Config) -> heat_v1.Client:
    if cfg.heat.mode == "embedded":
        endpoint = cfg.heat.endpoint or cfg.heat.embedded_endpoint
        sess = session.Session(auth=noauth.NoAuth(endpoint=endpoint), timeout=REQUEST_TIMEOUT)
        return heat_v1.Client(session=sess, service_type="orchestration")
    region = remote_cloud_region(cfg.heat.cloud)
    return heat_v1.Client(
        session=region.get_session(), service_type="orchestration",
        endpoint_override=cfg.heat.endpoint or region.get_endpoint("orchestration"),
        interface=region.get_interface(), region_name=region.get_region_name())


def remote_cloud_region(cloud: str):
    """The openstacksdk CloudRegion for ``cloud`` (clouds.yaml) or, when empty, for OS_*.

    An empty ``cloud`` falls back to ``$OS_CLOUD``, as the openstack CLI does.
    """
    from openstack import config as os_config
    from openstack import exceptions as os_exceptions

    cloud = cloud or os.environ.get("OS_CLOUD", "")
    if not cloud and not any(key.startswith("OS_") and value for key, value in os.environ.items()):
        raise ConfigError("[heat] mode = remote needs credentials: set [heat] cloud to a "
                          "clouds.yaml cloud, or export OS_AUTH_URL, OS_USERNAME, OS_PASSWORD "
                          "and OS_PROJECT_NAME")
    # With no cloud name only OS_* counts: a stray clouds.yaml must not be picked silently.
    loader = os_config.OpenStackConfig(load_yaml_config=bool(cloud))
    try:
        # First unvalidated, so that every missing piece is named, not only the first.
        raw = loader.get_one(cloud=cloud or None, validate=False).config
    except os_exceptions.ConfigException as exc:
        where = f"clouds.yaml cloud {cloud!r}" if cloud else "OS_* environment"
        raise ConfigError(f"[heat] cloud: {where}: {exc}") from None
    # Unvalidated, OS_* values still sit at the top level; validation moves them under auth.
    auth = {**{k: v for k, v in raw.items() if isinstance(v, str)}, **(raw.get("auth") or {})}
    missing = missing_auth_options(raw.get("auth_type") or "password", auth)
    if missing:
        if cloud:
            names = ", ".join(f"clouds.{cloud}.auth.{name}" for name in missing)
            raise ConfigError(f"[heat] cloud {cloud!r} is incomplete: clouds.yaml lacks {names}")
        names = ", ".join("OS_" + name.upper() for name in missing)
        raise ConfigError(f"remote Heat credentials are incomplete: set {names}")
    return loader.get_one(cloud=cloud or None)


def missing_auth_options(auth_type: str, auth: Mapping[str, object]) -> list[str]:
    """Option names the keystoneauth1 plugin ``auth_type`` needs but ``auth`` lacks.

    An alternative pair (username or user_id) is reported by its usual member.
    """
    try:
        plugin = loading.get_plugin_loader(auth_type)
    except ka_exceptions.NoMatchingPlugin:
        raise ConfigError(f"[heat] remote auth_type {auth_type!r} is not a keystoneauth1 "
                          f"plugin") from None
    present = {key for key, value in auth.items() if value not in (None, "")}
    missing = [opt.dest for opt in plugin.get_options()
               if opt.required and opt.dest not in present]
    secret = SECRET_OPTION.get(auth_type)
    if secret == "password" and not present.intersection(USER_OPTIONS):
        missing.append("username")
    if secret and secret not in present:
        missing.append(secret)
    return missing
