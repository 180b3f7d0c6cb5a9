"""heat_client(): the embedded noauth session and the remote credential assembly.

Nothing here needs a Keystone: the remote path is checked up to the point
where it would authenticate, and once against a Keystone address on which
nothing listens (a real connection failure, no mock).
"""
import os
from pathlib import Path

import pytest
from keystoneauth1 import exceptions as ka_exceptions
from keystoneauth1 import noauth

from deployer.config import ApiSettings, ChefSettings, Config, ConfigError, HeatSettings
from deployer.heat_client import heat_client, missing_auth_options
from deployer.undercloud.process import free_port

SECRET = "s3cret-pw"


def make_config(tmp_path: Path, **heat) -> Config:
    return Config(state_dir=tmp_path, heat=HeatSettings(**heat), chef=ChefSettings(),
                  api=ApiSettings())


@pytest.fixture
def clean_os_env(monkeypatch, tmp_path):
    """No OS_* variable from the caller's shell, and no user clouds.yaml."""
    for key in list(os.environ):
        if key.startswith("OS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return monkeypatch


def write_clouds_yaml(path: Path, auth_url: str, **auth) -> Path:
    lines = ["clouds:", "  undercloud-test:", "    region_name: RegionTwo",
             "    interface: internal", "    auth:", f"      auth_url: {auth_url}"]
    lines += [f"      {key}: {value}" for key, value in auth.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_embedded_client_uses_noauth_on_the_embedded_endpoint(tmp_path):
    client = heat_client(make_config(tmp_path, port=18006))
    http = client.http_client
    assert isinstance(http.session.auth, noauth.NoAuth)
    assert http.get_endpoint() == "http://127.0.0.1:18006/v1/admin"


def test_embedded_endpoint_override_wins(tmp_path):
    client = heat_client(make_config(tmp_path, endpoint="http://10.0.0.5:8004/v1/admin"))
    assert client.http_client.get_endpoint() == "http://10.0.0.5:8004/v1/admin"


def test_remote_without_any_credentials_names_what_to_set(tmp_path, clean_os_env):
    with pytest.raises(ConfigError) as err:
        heat_client(make_config(tmp_path, mode="remote"))
    assert "OS_AUTH_URL" in str(err.value) and "[heat] cloud" in str(err.value)


def test_remote_env_missing_password_names_the_variable(tmp_path, clean_os_env):
    clean_os_env.setenv("OS_AUTH_URL", "http://127.0.0.1:5000/v3")
    clean_os_env.setenv("OS_USERNAME", "admin")
    clean_os_env.setenv("OS_PROJECT_NAME", "admin")
    with pytest.raises(ConfigError, match=r"set OS_PASSWORD$"):
        heat_client(make_config(tmp_path, mode="remote"))


def test_remote_env_missing_auth_url_and_user(tmp_path, clean_os_env):
    clean_os_env.setenv("OS_PASSWORD", SECRET)
    clean_os_env.setenv("OS_PROJECT_NAME", "admin")
    with pytest.raises(ConfigError) as err:
        heat_client(make_config(tmp_path, mode="remote"))
    message = str(err.value)
    assert "OS_AUTH_URL" in message and "OS_USERNAME" in message
    assert "OS_PASSWORD" not in message and SECRET not in message


def test_remote_env_complete_builds_a_keystone_session(tmp_path, clean_os_env):
    clean_os_env.setenv("OS_AUTH_URL", "http://127.0.0.1:5000/v3")
    clean_os_env.setenv("OS_USERNAME", "admin")
    clean_os_env.setenv("OS_PASSWORD", SECRET)
    clean_os_env.setenv("OS_PROJECT_NAME", "admin")
    clean_os_env.setenv("OS_USER_DOMAIN_NAME", "Default")
    clean_os_env.setenv("OS_PROJECT_DOMAIN_NAME", "Default")
    clean_os_env.setenv("OS_REGION_NAME", "RegionOne")
    http = heat_client(make_config(tmp_path, mode="remote")).http_client
    assert http.session.auth.auth_url == "http://127.0.0.1:5000/v3"
    assert http.region_name == "RegionOne"
    assert http.service_type == "orchestration"


def test_remote_clouds_yaml_from_os_client_config_file(tmp_path, clean_os_env):
    clouds = write_clouds_yaml(tmp_path / "clouds.yaml", "http://127.0.0.1:5000/v3",
                               username="deployer", password=SECRET, project_name="ops",
                               user_domain_name="Default", project_domain_name="Default")
    clean_os_env.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    http = heat_client(make_config(tmp_path, mode="remote", cloud="undercloud-test",
                                   endpoint="http://127.0.0.1:8004/v1/ops")).http_client
    assert http.session.auth.auth_url == "http://127.0.0.1:5000/v3"
    assert http.session.auth._username == "deployer"  # noqa: SLF001 - no public getter
    assert (http.region_name, http.interface) == ("RegionTwo", "internal")
    assert http.endpoint_override == "http://127.0.0.1:8004/v1/ops"


def test_remote_clouds_yaml_incomplete_names_the_key(tmp_path, clean_os_env):
    clouds = write_clouds_yaml(tmp_path / "clouds.yaml", "http://127.0.0.1:5000/v3",
                               username="deployer", project_name="ops")
    clean_os_env.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    with pytest.raises(ConfigError, match=r"clouds\.undercloud-test\.auth\.password"):
        heat_client(make_config(tmp_path, mode="remote", cloud="undercloud-test"))


def test_remote_unknown_cloud_is_named(tmp_path, clean_os_env):
    clouds = write_clouds_yaml(tmp_path / "clouds.yaml", "http://127.0.0.1:5000/v3")
    clean_os_env.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    with pytest.raises(ConfigError, match="no-such-cloud"):
        heat_client(make_config(tmp_path, mode="remote", cloud="no-such-cloud"))


def test_os_cloud_is_used_when_no_cloud_is_configured(tmp_path, clean_os_env):
    clouds = write_clouds_yaml(tmp_path / "clouds.yaml", "http://127.0.0.1:5000/v3",
                               username="deployer", project_name="ops")
    clean_os_env.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    clean_os_env.setenv("OS_CLOUD", "undercloud-test")
    with pytest.raises(ConfigError, match=r"cloud 'undercloud-test' is incomplete"):
        heat_client(make_config(tmp_path, mode="remote"))


def test_unreachable_keystone_fails_on_first_call_without_leaking_the_password(
        tmp_path, clean_os_env):
    dead = f"http://127.0.0.1:{free_port()}/v3"
    clouds = write_clouds_yaml(tmp_path / "clouds.yaml", dead, username="deployer",
                               password=SECRET, project_name="ops",
                               user_domain_name="Default", project_domain_name="Default")
    clean_os_env.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    client = heat_client(make_config(tmp_path, mode="remote", cloud="undercloud-test"))
    with pytest.raises(ka_exceptions.ConnectFailure) as err:
        list(client.stacks.list())
    assert SECRET not in str(err.value)


@pytest.mark.parametrize("auth_type,auth,expected", [
    ("password", {"auth_url": "u", "user_id": "x", "password": "p"}, []),
    ("v3token", {"auth_url": "u"}, ["token"]),
    ("v3applicationcredential", {"auth_url": "u"}, ["application_credential_secret"]),
])
def test_missing_auth_options_per_plugin(auth_type, auth, expected):
    assert missing_auth_options(auth_type, auth) == expected


def test_unknown_auth_type_is_named():
    with pytest.raises(ConfigError, match="'kerberos-ish'"):
        missing_auth_options("kerberos-ish", {})
