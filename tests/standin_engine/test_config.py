"""client.rb as the deployer's bootstrap writes it, read through Debian's chef-config.

Follows docs.chef.io/config_rb_client/ (chef_server_url, node_name, client_key,
log_location, ssl_verify_mode, file_cache_path, file_backup_path); replaces the
old Python stand-in's own client.rb parser check.
"""
import json
import subprocess

from deployer.bootstrap import chef_config
from tests.standin_engine.repo import STANDIN_DIR

READ = ("require 'standin'; c = Standin::Config.load(ARGV[0], {}); "
        "puts JSON.generate(%i(chef_server_url node_name client_key log_location file_cache_path "
        "file_backup_path).to_h { |k| [k, c[k]] }.merge(verify_tls: c.verify_tls?))")


def _read(path):
    out = subprocess.run(["ruby", "-I", str(STANDIN_DIR / "lib"), "-e", READ, str(path)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_client_rb_written_by_the_bootstrap_is_read_back(tmp_path):
    url = "https://chef.example:8443/organizations/o'rg"
    path = tmp_path / "client.rb"
    path.write_text(chef_config.render_client_rb(url, "web-1.example", verify_tls=False))
    settings = _read(path)
    assert settings == {"chef_server_url": url, "node_name": "web-1.example", "client_key": chef_config.CLIENT_KEY,
                        "log_location": chef_config.LOG_FILE, "file_cache_path": chef_config.CACHE_DIR,
                        "file_backup_path": chef_config.BACKUP_DIR, "verify_tls": False}
    path.write_text(chef_config.render_client_rb(url, "web-1.example"))
    assert _read(path)["verify_tls"] is True


def test_a_broken_client_rb_is_reported(tmp_path):
    path = tmp_path / "client.rb"
    path.write_text("node_name 'x'\nthis is not ruby (\n")
    from tests.standin_engine.repo import CHEF_CLIENT
    result = subprocess.run([str(CHEF_CLIENT), "-c", str(path)], capture_output=True, text=True)
    assert result.returncode == 1
    assert f"cannot load configuration {path}" in result.stdout
