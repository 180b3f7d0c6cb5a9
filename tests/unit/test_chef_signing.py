"""Chef request signing against the protocol's published example values.

The key, user, timestamp, body, path and expected X-Ops-Authorization lines come
from mixlib-authentication's own test suite (chef/mixlib-authentication,
spec/mixlib/authentication/mixlib_authentication_spec.rb: PRIVATE_KEY_DATA,
USER_ID, TIMESTAMP_ISO8601, BODY, PATH, X_OPS_AUTHORIZATION_LINES_V1_0,
X_OPS_AUTHORIZATION_LINES (v1.1) and X_OPS_AUTHORIZATION_LINES_V1_3_SHA256, with
X-Ops-Server-API-Version "1").  Matching them means a Ruby Chef server accepts
our signatures.  An optional cross-check runs the Debian ruby-mixlib-authentication
gem on fresh inputs.
"""
import json
import shutil
import subprocess
import textwrap

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives import serialization

from deployer.chef.signing import ChefAuth, canonical_path, load_private_key, sign_request

SPEC_PRIVATE_KEY = """\
-----BEGIN RSA PRIVATE KEY-----
MIIEpAIBAAKCAQEA0ueqo76MXuP6XqZBILFziH/9AI7C6PaN5W0dSvkr9yInyGHS
z/IR1+4tqvP2qlfKVKI4CP6BFH251Ft9qMUBuAsnlAVQ1z0exDtIFFOyQCdR7iXm
jBIWMSS4buBwRQXwDK7id1OxtU23qVJv+xwEV0IzaaSJmaGLIbvRBD+qatfUuQJB
MU/04DdJIwvLtZBYdC2219m5dUBQaa4bimL+YN9EcsDzD9h9UxQo5ReK7b3cNMzJ
BKJWLzFBcJuePMzAnLFktr/RufX4wpXe6XJxoVPaHo72GorLkwnQ0HYMTY8rehT4
mDi1FI969LHCFFaFHSAaRnwdXaQkJmSfcxzCYQIDAQABAoIBAQCW3I4sKN5B9jOe
xq/pkeWBq4OvhW8Ys1yW0zFT8t6nHbB1XrwscQygd8gE9BPqj3e0iIEqtdphbPmj
VHqTYbC0FI6QDClifV7noTwTBjeIOlgZ0NSUN0/WgVzIOxUz2mZ2vBZUovKILPqG
TOi7J7RXMoySMdcXpP1f+PgvYNcnKsT72UcWaSXEV8/zo+Zm/qdGPVWwJonri5Mp
DVm5EQSENBiRyt028rU6ElXORNmoQpVjDVqZ1gipzXkifdjGyENw2rt4V/iKYD7V
5iqXOsvP6Cemf4gbrjunAgDG08S00kiUgvVWcdXW+dlsR2nCvH4DOEe3AYYh/aH8
DxEE7FbtAoGBAPcNO8fJ56mNw0ow4Qg38C+Zss/afhBOCfX4O/SZKv/roRn5+gRM
KRJYSVXNnsjPI1plzqR4OCyOrjAhtuvL4a0DinDzf1+fiztyNohwYsW1vYmqn3ti
EN0GhSgE7ppZjqvLQ3f3LUTxynhA0U+k9wflb4irIlViTUlCsOPkrNJDAoGBANqL
Q+vvuGSsmRLU/Cenjy+Mjj6+QENg51dz34o8JKuVKIPKU8pNnyeLa5fat0qD2MHm
OB9opeQOcw0dStodxr6DB3wi83bpjeU6BWUGITNiWEaZEBrQ0aiqNJJKrrHm8fAZ
9o4l4oHc4hI0kYVYYDuxtKuVJrzZiEapTwoOcYiLAoGBAI/EWbeIHZIj9zOjgjEA
LHvm25HtulLOtyk2jd1njQhlHNk7CW2azIPqcLLH99EwCYi/miNH+pijZ2aHGCXb
/bZrSxM0ADmrZKDxdB6uGCyp+GS2sBxjEyEsfCyvwhJ8b3Q100tqwiNO+d5FCglp
HICx2dgUjuRVUliBwOK93nx1AoGAUI8RhIEjOYkeDAESyhNMBr0LGjnLOosX+/as
qiotYkpjWuFULbibOFp+WMW41vDvD9qrSXir3fstkeIAW5KqVkO6mJnRoT3Knnra
zjiKOITCAZQeiaP8BO5o3pxE9TMqb9VCO3ffnPstIoTaN4syPg7tiGo8k1SklVeH
2S8lzq0CgYAKG2fljIYWQvGH628rp4ZcXS4hWmYohOxsnl1YrszbJ+hzR+IQOhGl
YlkUQYXhy9JixmUUKtH+NXkKX7Lyc8XYw5ETr7JBT3ifs+G7HruDjVG78EJVojbd
8uLA+DdQm5mg4vd1GTiSK65q/3EeoBlUaVor3HhLFki+i9qpT8CBsg==
-----END RSA PRIVATE KEY-----
"""
SPEC_USER_ID = "spec-user"
SPEC_BODY = "Spec Body"
SPEC_TIMESTAMP = "2009-01-01T12:00:00Z"
SPEC_PATH = "/organizations/clownco"
SPEC_CONTENT_HASH_SHA1 = "DFteJZPVv6WKdQmMqZUQUumUyRs="
SPEC_CONTENT_HASH_SHA256 = "hDlKNZhIhgso3Fs0S0pZwJ0xyBWtR1RBaeHs1DrzOho="

SPEC_LINES_V1_0 = [
    "jVHrNniWzpbez/eGWjFnO6lINRIuKOg40ZTIQudcFe47Z9e/HvrszfVXlKG4",
    "NMzYZgyooSvU85qkIUmKuCqgG2AIlvYa2Q/2ctrMhoaHhLOCWWoqYNMaEqPc",
    "3tKHE+CfvP+WuPdWk4jv4wpIkAz6ZLxToxcGhXmZbXpk56YTmqgBW2cbbw4O",
    "IWPZDHSiPcw//AYNgW1CCDptt+UFuaFYbtqZegcBd2n/jzcWODA7zL4KWEUy",
    "9q4rlh/+1tBReg60QdsmDRsw/cdO1GZrKtuCwbuD4+nbRdVBKv72rqHX9cu0",
    "utju9jzczCyB+sSAQWrxSsXB/b8vV2qs0l4VD2ML+w==",
]
SPEC_LINES_V1_1 = [
    "UfZD9dRz6rFu6LbP5Mo1oNHcWYxpNIcUfFCffJS1FQa0GtfU/vkt3/O5HuCM",
    "1wIFl/U0f5faH9EWpXWY5NwKR031Myxcabw4t4ZLO69CIh/3qx1XnjcZvt2w",
    "c2R9bx/43IWA/r8w8Q6decuu0f6ZlNheJeJhaYPI8piX/aH+uHBH8zTACZu8",
    "vMnl5MF3/OIlsZc8cemq6eKYstp8a8KYq9OmkB5IXIX6qVMJHA6fRvQEB/7j",
    "281Q7oI/O+lE8AmVyBbwruPb7Mp6s4839eYiOdjbDwFjYtbS3XgAjrHlaD7W",
    "FDlbAG7H8Dmvo+wBxmtNkszhzbBnEYtuwQqT8nM/8A==",
]
SPEC_LINES_V1_3_SHA256 = [
    "FZOmXAyOBAZQV/uw188iBljBJXOm+m8xQ/8KTGLkgGwZNcRFxk1m953XjE3W",
    "VGy1dFT76KeaNWmPCNtDmprfH2na5UZFtfLIKrPv7xm80V+lzEzTd9WBwsfP",
    "42dZ9N+V9I5SVfcL/lWrrlpdybfceJC5jOcP5tzfJXWUITwb6Z3Erg3DU3Uh",
    "H9h9E0qWlYGqmiNCVrBnpe6Si1gU/Jl+rXlRSNbLJ4GlArAPuL976iTYJTzE",
    "MmbLUIm3JRYi00Yb01IUCCKdI90vUq1HHNtlTEu93YZfQaJwRxXlGkCNwIJe",
    "fy49QzaCIEu1XiOx5Jn+4GmkrZch/RrK9VzQWXgs+w==",
]


def _authorization_lines(headers: dict) -> list[str]:
    count = sum(1 for name in headers if name.startswith("X-Ops-Authorization-"))
    return [headers[f"X-Ops-Authorization-{index}"] for index in range(1, count + 1)]


@pytest.mark.parametrize("version, lines, content_hash, sign_header", [
    ("1.0", SPEC_LINES_V1_0, SPEC_CONTENT_HASH_SHA1, "algorithm=sha1;version=1.0;"),
    ("1.1", SPEC_LINES_V1_1, SPEC_CONTENT_HASH_SHA1, "algorithm=sha1;version=1.1;"),
    ("1.3", SPEC_LINES_V1_3_SHA256, SPEC_CONTENT_HASH_SHA256, "algorithm=sha256;version=1.3;"),
])
def test_signature_matches_published_mixlib_values(version, lines, content_hash, sign_header):
    headers = sign_request(method="post", path=SPEC_PATH, body=SPEC_BODY, user_id=SPEC_USER_ID,
                           key=load_private_key(SPEC_PRIVATE_KEY), version=version,
                           timestamp=SPEC_TIMESTAMP, server_api_version="1")
    assert _authorization_lines(headers) == lines
    assert headers["X-Ops-Content-Hash"] == content_hash
    assert headers["X-Ops-Sign"] == sign_header
    assert headers["X-Ops-Userid"] == SPEC_USER_ID
    assert headers["X-Ops-Timestamp"] == SPEC_TIMESTAMP
    assert headers["X-Ops-Server-API-Version"] == "1"


def test_requests_auth_handler_signs_the_path_without_query_and_collapses_slashes():
    auth = ChefAuth(SPEC_USER_ID, SPEC_PRIVATE_KEY, version="1.3", server_api_version="1",
                    clock=lambda: SPEC_TIMESTAMP)
    prepared = requests.Request("POST", "http://chef.example:4000//organizations//clownco/?x=1",
                                data=SPEC_BODY.encode(), auth=auth).prepare()
    assert _authorization_lines(prepared.headers) == SPEC_LINES_V1_3_SHA256


def test_server_api_version_is_part_of_the_1_3_signature():
    key = load_private_key(SPEC_PRIVATE_KEY)
    common = dict(method="GET", path="/nodes", body=None, user_id="admin", key=key,
                  version="1.3", timestamp=SPEC_TIMESTAMP)
    assert (_authorization_lines(sign_request(server_api_version="0", **common))
            != _authorization_lines(sign_request(server_api_version="1", **common)))


@pytest.mark.parametrize("raw, expected", [
    ("/", "/"), ("", "/"), ("//nodes///x/", "/nodes/x"), ("/nodes", "/nodes")])
def test_canonical_path(raw, expected):
    assert canonical_path(raw) == expected


def test_protocol_1_0_refuses_requests_too_long_for_the_key():
    with pytest.raises(ValueError, match="protocol 1.1 or 1.3"):
        sign_request(method="PUT", path="/nodes/" + "A" * 250, body="", user_id="A" * 200,
                     key=load_private_key(SPEC_PRIVATE_KEY), version="1.0")


def test_bad_inputs_give_clear_errors_without_key_material(tmp_path):
    with pytest.raises(ValueError, match="auth_version"):
        ChefAuth("admin", SPEC_PRIVATE_KEY, version="1.2")
    with pytest.raises(ValueError, match="cannot read Chef client key"):
        load_private_key(tmp_path / "missing.pem")
    broken = SPEC_PRIVATE_KEY.replace("MIIEpAIBAAKCAQEA", "MIIEpAIBAAKCAQEB")
    with pytest.raises(ValueError) as info:
        load_private_key(broken)
    assert "MII" not in str(info.value)
    assert "SPEC" not in repr(ChefAuth("admin", SPEC_PRIVATE_KEY)) and "BEGIN" not in repr(
        ChefAuth("admin", SPEC_PRIVATE_KEY))


def test_key_from_file_and_pkcs8_sign_identically(tmp_path):
    key = load_private_key(SPEC_PRIVATE_KEY)
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    path = tmp_path / "client.pem"
    path.write_bytes(pkcs8)
    common = dict(method="GET", path="/nodes", body=b"", user_id="admin", version="1.0",
                  timestamp=SPEC_TIMESTAMP)
    assert (sign_request(key=load_private_key(path), **common)
            == sign_request(key=load_private_key(str(path)), **common)
            == sign_request(key=key, **common))


MIXLIB_SCRIPT = textwrap.dedent("""\
    require 'openssl'  # must precede mixlib (Ruby 3.1 OpenSSL::Digest superclass clash)
    require 'json'
    require 'mixlib/authentication/signedheaderauth'
    input = JSON.parse(STDIN.read)
    key = OpenSSL::PKey::RSA.new(input['key'])
    out = {}
    input['cases'].each do |c|
      args = {body: c['body'], user_id: c['user'], http_method: c['method'].to_sym,
              timestamp: c['timestamp'], path: c['path'], proto_version: c['version'],
              headers: {'X-Ops-Server-API-Version' => c['api']}}
      out[c['version']] = Mixlib::Authentication::SignedHeaderAuth.signing_object(args).sign(key)
    end
    puts out.to_json
""")


def test_cross_check_with_ruby_mixlib_authentication():
    ruby = shutil.which("ruby")
    if ruby is None or subprocess.run(
            [ruby, "-e", "require 'openssl'; require 'mixlib/authentication/signedheaderauth'"],
            capture_output=True).returncode != 0:
        pytest.skip("ruby-mixlib-authentication not installed")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption()).decode()
    case = dict(body='{"name":"node-ü"}', user="node1", method="put", timestamp="2026-01-02T03:04:05Z",
                path="/nodes/node1", api="0")
    cases = [dict(case, version=version) for version in ("1.0", "1.1", "1.3")]
    result = subprocess.run([ruby, "-e", MIXLIB_SCRIPT], input=json.dumps({"key": pem, "cases": cases}),
                            capture_output=True, text=True, check=True)
    expected = json.loads(result.stdout)
    for version in ("1.0", "1.1", "1.3"):
        ours = sign_request(method="PUT", path=case["path"], body=case["body"], user_id=case["user"],
                            key=key, version=version, timestamp=case["timestamp"],
                            server_api_version="0")
        theirs = expected[version]
        assert _authorization_lines(ours) == _authorization_lines(theirs), version
        assert ours["X-Ops-Content-Hash"] == theirs["X-Ops-Content-Hash"], version
        assert ours["X-Ops-Sign"] == theirs["X-Ops-Sign"], version
