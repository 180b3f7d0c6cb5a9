"""The embedded Chef server's life cycle: configuration, persistence, keys, clear failures."""
from __future__ import annotations

import socket
import tomllib

import pytest

from deployer.chef.cookbooks import upload_cookbook
from deployer.chef.errors import ChefAuthError, ChefUnavailable
from deployer.chef.server import ChefServer, new_node
from deployer.config import load
from deployer.undercloud import goiardi
from deployer.undercloud.goiardi import EmbeddedChefServer
from deployer.undercloud.process import ProcessError, free_port
from tests.fixtures.chef import goiardi_installed

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not goiardi_installed(), reason="goiardi is not installed")]


@pytest.fixture
def server(tmp_path):
    embedded = EmbeddedChefServer(tmp_path / "chef", port=free_port())
    try:
        yield embedded
    finally:
        embedded.stop()


def test_configure_writes_an_authenticated_persistent_config(server):
    config = tomllib.loads(server.configure().read_text())
    assert config["use-auth"] is True and config["disable-webui"] is True
    assert config["ipaddress"] == config["hostname"] == "127.0.0.1"
    assert config["port"] == server.port
    assert config["data-file"] == str(server.data_file)
    assert config["index-file"] == str(server.index_file)
    assert config["conf-root"] == str(server.conf_dir) and server.conf_dir.is_dir()
    assert config["local-filestore-dir"] == str(server.filestore_dir)
    assert config["freeze-interval"] > 0
    assert server.conf_dir.stat().st_mode & 0o077 == 0


def test_restart_keeps_data_and_keys(server):
    server.start()
    status = server.status()
    assert status["running"] and status["pid"] and status["url"] == server.url
    assert status["rss"] > 1024 * 1024
    admin_key = server.admin_key_path.read_bytes()
    validator_key = server.validator_key_path.read_bytes()
    admin = ChefServer(server.url, "admin", server.admin_key_path)
    admin.upsert_environment({"name": "kept", "default_attributes": {"a": {"b": [1, 2]}}})
    node_key = admin.create_client("n1")["private_key"]
    admin.create_node(new_node("n1", "kept", ["role[primary]"]))
    upload_cookbook(admin, _cookbook(server.state_dir.parent))
    first_pid = status["pid"]

    assert server.stop() is True
    assert server.status() == {"running": False, "pid": None, "url": server.url, "rss": 0}
    assert server.data_file.stat().st_size > 0 and server.index_file.exists()
    with pytest.raises(ChefUnavailable):
        admin.list_nodes()

    assert server.start() != first_pid
    assert server.admin_key_path.read_bytes() == admin_key
    assert server.validator_key_path.read_bytes() == validator_key
    admin = ChefServer(server.url, "admin", server.admin_key_path, auth_version="1.0")
    assert admin.get_environment("kept")["default_attributes"] == {"a": {"b": [1, 2]}}
    as_node = ChefServer(server.url, "n1", node_key)
    assert as_node.get_node("n1")["chef_environment"] == "kept"
    assert [row["name"] for row in admin.search("node", "chef_environment:kept")] == ["n1"]
    manifest = admin.get_cookbook("kept", "0.1.0")
    assert admin.fetch_file(manifest["files"][0]["url"]) == b"\x00\x01binary\xff"


def _cookbook(root):
    directory = root / "cookbooks" / "kept"
    (directory / "files" / "default").mkdir(parents=True)
    (directory / "metadata.rb").write_text("name 'kept'\nversion '0.1.0'\n")
    (directory / "files" / "default" / "b.bin").write_bytes(b"\x00\x01binary\xff")
    return directory


def test_start_when_already_running_returns_the_same_process(server):
    pid = server.start()
    assert server.start() == pid


def test_port_taken_is_a_clear_error(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        embedded = EmbeddedChefServer(tmp_path / "chef", port=port)
        with pytest.raises(ProcessError, match=f"port 127.0.0.1:{port} is already in use"):
            embedded.start()
        assert not embedded.status()["running"]


def test_data_without_admin_key_refuses_to_start(server):
    server.start()
    server.stop()
    server.admin_key_path.unlink()
    with pytest.raises(ProcessError, match="admin key .* is missing"):
        server.start()
    assert not server.status()["running"]


def test_old_admin_key_is_rejected_by_a_fresh_server(tmp_path):
    first = EmbeddedChefServer(tmp_path / "a", port=free_port())
    second = EmbeddedChefServer(tmp_path / "b", port=free_port())
    try:
        first.start()
        second.start()
        with pytest.raises(ChefAuthError):
            ChefServer(second.url, "admin", first.admin_key_path).list_nodes()
    finally:
        first.stop()
        second.stop()


def test_missing_binary_is_a_clear_error(tmp_path, monkeypatch):
    # Failure path a real install cannot show: pretend goiardi is not installed.
    monkeypatch.setattr(goiardi, "GOIARDI_BINARY", str(tmp_path / "no-goiardi"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ProcessError, match="is not installed"):
        EmbeddedChefServer(tmp_path / "chef", port=free_port()).start()


def test_from_config_uses_the_chef_settings(tmp_path):
    port = free_port()
    cfg = load(env={"DEPLOYER_STATE_DIR": str(tmp_path), "DEPLOYER_CHEF_PORT": str(port),
                    "DEPLOYER_CONFIG": ""})
    embedded = EmbeddedChefServer.from_config(cfg)
    assert embedded.url == cfg.chef_server_url == f"http://127.0.0.1:{port}"
    assert embedded.admin_key_path == cfg.chef_client_key
    assert embedded.validator_key_path == cfg.chef_validator_key
    try:
        embedded.start()
        assert ChefServer.from_config(cfg).list_nodes() == []
    finally:
        embedded.stop()


def test_upload_works_when_the_advertised_host_does_not_resolve(tmp_path):
    embedded = EmbeddedChefServer(tmp_path / "chef", port=free_port(), advertised_host="chef.invalid")
    try:
        embedded.start()
        assert tomllib.loads(embedded.config_file.read_text())["hostname"] == "chef.invalid"
        admin = ChefServer(embedded.url, "admin", embedded.admin_key_path)
        assert upload_cookbook(admin, _cookbook(tmp_path)) == "uploaded"
        (entry,) = admin.get_cookbook("kept", "0.1.0")["files"]
        assert entry["url"].startswith("http://chef.invalid:")
        assert admin.fetch_file(entry["url"]) == b"\x00\x01binary\xff"
    finally:
        embedded.stop()


def test_from_config_before_the_server_was_ever_started_is_unavailable(tmp_path):
    cfg = load(env={"DEPLOYER_STATE_DIR": str(tmp_path), "DEPLOYER_CONFIG": ""})
    with pytest.raises(ChefUnavailable, match="does not exist"):
        ChefServer.from_config(cfg)
