"""Unit tests of the node-run pieces that need no node and no Chef server.

The chef-client stand-in's reading of client.rb and its request signing are
checked against the deployer's renderer and signer in tests/standin_engine
(test_config.py, test_server_path.py), where the Ruby stand-in lives.
"""
import json

import pytest

from deployer.bootstrap import chef_config
from deployer.bootstrap.contract import FAILED, NodeTarget, RunSpec
from deployer.bootstrap.runner import execute
from deployer.chef import names
from deployer.chef.names import normalize_fingerprint
from deployer.secrets import LineRedactor, Redactor


# -- redaction ---------------------------------------------------------------
def test_redactor_replaces_password_and_pem_block():
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----"
    text = Redactor(["s3cret!"]).scrub(f"login s3cret! failed; key {pem} end")
    assert "s3cret!" not in text and "MIIEabc" not in text
    assert text.startswith("login ****** failed; key [private key ******] end")


def test_line_redactor_catches_a_secret_split_across_chunks():
    lines = LineRedactor(Redactor(["hunter22"]))
    out = lines.feed("sudo said hun") + lines.feed("ter22 again\nnext ") + lines.flush()
    assert out == "sudo said ****** again\nnext "


def test_line_redactor_drops_multiline_private_key():
    lines = LineRedactor(Redactor([]))
    out = lines.feed("before\n-----BEGIN PRIVATE KEY-----\nAAAA\nBB")
    out += lines.feed("BB\n-----END PRIVATE KEY-----\nafter\n")
    assert out == "before\n[private key ******]\nafter\n"


# -- client.rb / first-boot.json ------------------------------------------------
def test_run_list_normalisation_and_errors():
    assert names.normalize_run_list(["role[primary]", "base", "base::db", "recipe[base]"]) == \
        ["role[primary]", "recipe[base]", "recipe[base::db]"]
    with pytest.raises(ValueError, match=r"run_list item 'role\[x; rm -rf /\]'"):
        names.normalize_run_list(["role[x; rm -rf /]"])


def test_node_name_is_validated():
    with pytest.raises(ValueError, match="node_name"):
        chef_config.render_client_rb("http://x", "bad name'")


def test_first_boot_json():
    assert json.loads(chef_config.render_first_boot(["base", "role[db]"])) == \
        {"run_list": ["recipe[base]", "role[db]"]}


# -- ssh helpers ----------------------------------------------------------------
def test_fingerprint_normalisation():
    assert normalize_fingerprint("SHA256:abcd=") == "SHA256:abcd"
    assert normalize_fingerprint("abcd") == "SHA256:abcd"
    assert normalize_fingerprint(" sha256:abcd ") == "SHA256:abcd"


# -- runner: a bad spec fails before anything is touched ---------------------------
class _Collect:
    def __init__(self):
        self.phases, self.lines = [], []

    def phase(self, name):
        self.phases.append(name)

    def output(self, stream, text):
        self.lines.append(text)

    def cancelled(self):
        return False


@pytest.mark.parametrize("change, message", [
    ({"run_list": ["role[ok]", "no spaces allowed"]}, "run_list item 'no spaces allowed'"),
    ({"environment": ""}, "environment must be set"),
    ({"action": "reboot"}, "action 'reboot'"),
    ({"node_name": "a b"}, "node_name 'a b'"),
])
def test_invalid_spec_fails_with_a_reason_naming_the_field(change, message):
    spec = RunSpec(node_name="n1", target=NodeTarget(address="192.0.2.1", password="pw-secret"),
                   run_list=["role[ok]"], environment="prod")
    for key, value in change.items():
        setattr(spec, key, value)
    reporter = _Collect()
    result = execute(spec, reporter, chef=None)      # nothing may reach Chef or SSH
    assert result.status == FAILED
    assert message in result.reason
    assert result.reason.startswith(f"node {spec.node_name} (192.0.2.1): validation failed:")
    assert reporter.phases == []
    assert "pw-secret" not in result.reason


def test_node_facing_url_replaces_loopback_with_the_route_address():
    from deployer.bootstrap.chef_config import node_facing_url
    assert node_facing_url("http://127.0.0.1:14545", None, "10.251.3.1") == "http://10.251.3.1:14545"
    assert node_facing_url("http://0.0.0.0:4545/", "", "10.0.0.2") == "http://10.0.0.2:4545"
    assert node_facing_url("https://chef.example.com/organizations/ops", None, "10.0.0.2") == \
        "https://chef.example.com/organizations/ops"
    assert node_facing_url("http://127.0.0.1:1", "https://chef.site:443/", "10.0.0.2") == \
        "https://chef.site:443"
    assert node_facing_url("http://localhost:1", None, "fd00::1") == "http://[fd00::1]:1"


def test_a_run_waiting_for_a_connect_slot_can_be_cancelled_and_never_connects():
    """All ssh_connect slots taken: the run waits for one, and a cancel ends the wait."""
    import threading
    from deployer.bootstrap.contract import CANCELLED
    from deployer.bootstrap.runner import Throttles

    class CancelAfterWaiting(_Collect):
        def __init__(self):
            super().__init__()
            self.asked = 0

        def cancelled(self):
            self.asked += 1
            return self.asked > 2           # the phase entry check, one wait, then cancel

    busy = threading.BoundedSemaphore(1)
    busy.acquire()
    spec = RunSpec(node_name="n1", target=NodeTarget(address="192.0.2.1", password="pw"),
                   run_list=["role[ok]"], environment="prod")
    reporter = CancelAfterWaiting()
    result = execute(spec, reporter, chef=None, throttles=Throttles(ssh_connect=busy))
    assert result.status == CANCELLED
    assert result.reason.startswith("node n1 (192.0.2.1): cancelled during connect")
    assert reporter.phases == ["connect"]
    assert not any("connected to" in line for line in reporter.lines)
