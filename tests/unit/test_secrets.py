"""The secrets kernel (deployer/secrets.py): one REDACTED marker, one private-key rule,
used alike by the node runner, the run reporter, the deployments' redaction and the
Chef server errors; and one API handler for the Chef server's failures."""
from __future__ import annotations

import pytest

from deployer import config
from deployer.api.app import create_app
from deployer.chef.errors import ChefConflict, ChefNotFound, ChefServerError, ChefUnavailable
from deployer.db.migrate import upgrade
from deployer.deployments import secrets as deployment_secrets
from deployer.runs.reporter import DbReporter
from deployer.secrets import REDACTED, LineRedactor, Redactor

SECRET = "pw-Kernel-77"
KEY = "-----BEGIN {kind}PRIVATE KEY-----\nMIIEabc\nxyz==\n-----END {kind}PRIVATE KEY-----"
PUBLIC = "-----BEGIN PUBLIC KEY-----\nMIIBpub\n-----END PUBLIC KEY-----"

# (text, what every user must turn it into)
CASES = [
    (f"login {SECRET} failed", f"login {REDACTED} failed"),
    (f"a {KEY.format(kind='RSA ')} b", f"a [private key {REDACTED}] b"),
    (f"a {KEY.format(kind='')} b", f"a [private key {REDACTED}] b"),
    (f"a {KEY.format(kind='OPENSSH ')} b", f"a [private key {REDACTED}] b"),
    (f"a {KEY.format(kind='EC ')} b", f"a [private key {REDACTED}] b"),
    ("cut -----BEGIN RSA PRIVATE KEY-----\nMIIEabc", f"cut [private key {REDACTED}]"),
    (f"public {PUBLIC} stays", f"public {PUBLIC} stays"),     # not a secret
]


def _runner(text):
    return Redactor([SECRET]).scrub(text)


def _reporter(text):
    reporter = DbReporter(None, "run-1", "worker-1", secrets=[SECRET], deadline=0.0)
    return reporter.redact(text)


def _deployments(text):
    return deployment_secrets.redact_text(text, [SECRET])


def _deployment_values(text):
    return deployment_secrets.redact_value({"reason": [text]}, [SECRET])["reason"][0]


def _chef_error(text):
    # The Chef errors know no run secret; only the key rule applies to them.
    return ChefServerError(500, text.replace(SECRET, REDACTED), "GET", "/x").message


@pytest.mark.parametrize("text, expected", CASES)
@pytest.mark.parametrize("user", [_runner, _reporter, _deployments, _deployment_values,
                                  _chef_error])
def test_every_user_redacts_alike(user, text, expected):
    assert user(text) == expected


def test_streamed_output_drops_a_key_spread_over_reads():
    lines = LineRedactor(Redactor([SECRET]))
    out = lines.feed("start\n-----BEGIN RSA PRIVATE KEY-----\nMII")
    out += lines.feed(f"Eabc\n-----END RSA PRIVATE KEY-----\n{SECRET[:3]}")
    out += lines.feed(f"{SECRET[3:]} end\n") + lines.flush()
    assert out == f"start\n[private key {REDACTED}]\n{REDACTED} end\n"


# -- one handler for the Chef server's failures ------------------------------------
class _FailingChef:
    """A Chef server client whose every call fails as given."""

    def __init__(self, error):
        self._error = error

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise self._error
        return fail

    def close(self):
        pass


@pytest.mark.parametrize("error, status", [
    (ChefNotFound(404, "no such environment", "GET", "/environments/x"), 404),
    (ChefUnavailable(None, "connection refused", "GET", "/environments/x"), 503),
    (ChefConflict(409, "exists", "GET", "/environments/x"), 409),   # the caller can act on it
    (ChefServerError(500, "boom " + KEY.format(kind="RSA "), "GET", "/environments/x"), 502),
])
def test_chef_failures_become_problems(tmp_path, error, status):
    cfg = config.load(config.write_file(tmp_path / "deployer.conf",
                                        {"DEFAULT": {"state_dir": tmp_path}}), env={})
    upgrade(cfg)
    app = create_app(cfg, {"TESTING": True, "CHEF_SERVER_FACTORY": lambda: _FailingChef(error)})
    for path in ("/v1/chef/environments/x", "/v1/chef/environments"):
        response = app.test_client().get(path)
        assert response.status_code == status
        assert response.mimetype == "application/problem+json"
        body = response.get_json()
        assert body["status"] == status and str(error) == body["detail"]
        assert "MIIEabc" not in body["detail"]
