"""Chef request signing (mixlib-authentication protocols 1.0, 1.1 and 1.3).

Every request to a Chef server carries the caller's name, a timestamp, a hash
of the body and an RSA signature over a canonical description of the request,
split into 60-character ``X-Ops-Authorization-N`` headers.

* 1.3 (the default): SHA-256 hashes and a standard PKCS#1 v1.5 signature over
  a canonical request that includes ``X-Ops-Server-API-Version``; the header
  is sent with exactly the value that was signed.
* 1.0/1.1: SHA-1 hashes and a *raw* RSA private-key encryption of the canonical
  request itself (PKCS#1 type-1 padding, no DigestInfo), which is what Ruby's
  ``OpenSSL::PKey::RSA#private_encrypt`` does.  ``cryptography`` has no public
  API for that, so it is computed from the key's private numbers.  1.1 only
  differs by hashing the user id (for names too long for 1.0).

``ChefAuth`` plugs into ``requests`` as an auth handler.
"""
from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import os
import re
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SUPPORTED_VERSIONS = ("1.0", "1.1", "1.3")
AUTHORIZATION_LINE_LENGTH = 60


def load_private_key(key: str | bytes | os.PathLike) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM text (PKCS#1 or PKCS#8) or from a PEM file path.

    Errors name the file but never include key material.
    """
    if isinstance(key, rsa.RSAPrivateKey):
        return key
    if isinstance(key, (str, bytes)) and _looks_like_pem(key):
        pem = key.encode() if isinstance(key, str) else key
        source = "the given PEM text"
    else:
        path = Path(os.fsdecode(key))
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read Chef client key {path}: {exc.strerror}") from None
        source = str(path)
    try:
        loaded = _parse_pem(pem)
    except (ValueError, TypeError):
        raise ValueError(f"Chef client key from {source} is not an unencrypted PEM private key") from None
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"Chef client key from {source} is not an RSA key")
    return loaded


@functools.lru_cache(maxsize=16)
def _parse_pem(pem: bytes):
    """Parsing checks the RSA key's consistency (about 70 ms of CPU here): the worker makes a
    Chef client with the deployer's own key for every node run, so each key is parsed once."""
    return serialization.load_pem_private_key(pem, password=None)


def _looks_like_pem(key: str | bytes) -> bool:
    return (b"-----BEGIN" if isinstance(key, bytes) else "-----BEGIN") in key


def canonical_path(path: str) -> str:
    """Runs of '/' collapsed and a trailing '/' removed (the root stays '/')."""
    path = re.sub(r"/+", "/", path or "/")
    return path[:-1] if len(path) > 1 and path.endswith("/") else path


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _timestamp_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _raw_private_encrypt(key: rsa.RSAPrivateKey, message: bytes) -> bytes:
    """RSA_private_encrypt with RSA_PKCS1_PADDING: EM = 00 01 FF.. 00 message; EM^d mod n."""
    numbers = key.private_numbers()
    modulus = numbers.public_numbers.n
    size = (modulus.bit_length() + 7) // 8
    if len(message) > size - 11:
        raise ValueError(f"request too long to sign with protocol 1.0 ({len(message)} bytes, "
                         f"at most {size - 11} for this key); use protocol 1.1 or 1.3")
    encoded = b"\x00\x01" + b"\xff" * (size - 3 - len(message)) + b"\x00" + message
    value = int.from_bytes(encoded, "big")
    # Chinese remainder theorem: about four times faster than pow(value, d, n).
    m1 = pow(value, numbers.dmp1, numbers.p)
    m2 = pow(value, numbers.dmq1, numbers.q)
    h = (numbers.iqmp * (m1 - m2)) % numbers.p
    return (m2 + h * numbers.q).to_bytes(size, "big")


def sign_request(*, method: str, path: str, body: bytes | str | None, user_id: str,
                 key: rsa.RSAPrivateKey, version: str = "1.3", timestamp: str | None = None,
                 server_api_version: str = "0") -> dict[str, str]:
    """The X-Ops-* headers for one request.  ``path`` is the URL path without the query."""
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"auth_version: expected one of {', '.join(SUPPORTED_VERSIONS)}, got {version!r}")
    if body is None:
        body = b""
    elif isinstance(body, str):
        body = body.encode("utf-8")
    timestamp = timestamp or _timestamp_now()
    method = method.upper()
    path = canonical_path(path)
    headers = {"X-Ops-Userid": user_id, "X-Ops-Timestamp": timestamp}
    if version == "1.3":
        content_hash = _b64(hashlib.sha256(body).digest())
        canonical = "\n".join([
            f"Method:{method}", f"Path:{path}", f"X-Ops-Content-Hash:{content_hash}",
            "X-Ops-Sign:version=1.3", f"X-Ops-Timestamp:{timestamp}",
            f"X-Ops-UserId:{user_id}", f"X-Ops-Server-API-Version:{server_api_version}"])
        signature = key.sign(canonical.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
        headers["X-Ops-Sign"] = "algorithm=sha256;version=1.3;"
    else:
        content_hash = _b64(hashlib.sha1(body).digest())
        signed_user = user_id if version == "1.0" else _b64(hashlib.sha1(user_id.encode()).digest())
        canonical = "\n".join([
            f"Method:{method}", f"Hashed Path:{_b64(hashlib.sha1(path.encode()).digest())}",
            f"X-Ops-Content-Hash:{content_hash}", f"X-Ops-Timestamp:{timestamp}",
            f"X-Ops-UserId:{signed_user}"])
        signature = _raw_private_encrypt(key, canonical.encode("utf-8"))
        headers["X-Ops-Sign"] = f"algorithm=sha1;version={version};"
    headers["X-Ops-Content-Hash"] = content_hash
    headers["X-Ops-Server-API-Version"] = server_api_version
    encoded = _b64(signature)
    for index in range(0, len(encoded), AUTHORIZATION_LINE_LENGTH):
        headers[f"X-Ops-Authorization-{index // AUTHORIZATION_LINE_LENGTH + 1}"] = \
            encoded[index:index + AUTHORIZATION_LINE_LENGTH]
    return headers


class ChefAuth(requests.auth.AuthBase):
    """Signs each outgoing request as ``client_name`` with its private key."""

    def __init__(self, client_name: str, key: str | bytes | os.PathLike | rsa.RSAPrivateKey, *,
                 version: str = "1.3", server_api_version: str = "0",
                 clock: Callable[[], str] = _timestamp_now):
        if version not in SUPPORTED_VERSIONS:
            raise ValueError(f"auth_version: expected one of {', '.join(SUPPORTED_VERSIONS)}, "
                             f"got {version!r}")
        if not client_name:
            raise ValueError("client_name: must not be empty")
        self.client_name = client_name
        self.version = version
        self.server_api_version = server_api_version
        self._key = load_private_key(key)
        self._clock = clock

    def __repr__(self) -> str:  # never show the key
        return f"ChefAuth(client_name={self.client_name!r}, version={self.version!r})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body
        if body is not None and not isinstance(body, (bytes, str)):
            raise TypeError("Chef request signing needs the whole body as bytes or str, not a stream")
        request.headers.update(sign_request(
            method=request.method or "GET", path=urlsplit(request.url).path, body=body,
            user_id=self.client_name, key=self._key, version=self.version,
            timestamp=self._clock(), server_api_version=self.server_api_version))
        return request
