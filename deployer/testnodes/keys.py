"""Keys and password hashes for test nodes: SSH client keys, host keys, shadow entries."""
from __future__ import annotations

import base64
import hashlib
import os
import subprocess
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from deployer.testnodes.errors import TestNodesError


def generate_keypair(kind: str) -> tuple[bytes, str]:
    """(unencrypted OpenSSH private key, public key line); ``kind`` is ``ed25519`` or ``rsa``."""
    if kind == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
    elif kind == "rsa":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        raise TestNodesError(f"key kind: expected ed25519 or rsa, got {kind!r}")
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH).decode()
    return pem, public


def write_keypair(path: Path, kind: str) -> str:
    """A new key pair at ``path`` (0600) and ``path``.pub; returns the public key line."""
    pem, public = generate_keypair(kind)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    Path(f"{path}.pub").write_text(public + "\n")
    return public


def fingerprint(public_line: str) -> str:
    """``SHA256:...`` of an OpenSSH public key line, as ssh-keygen -l and paramiko print it."""
    blob = base64.b64decode(public_line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def sha512_crypt(passwords: list[str]) -> list[str]:
    """crypt(3) SHA-512 hashes for /etc/shadow, one ``openssl`` call for all.

    The passwords go through stdin so they never appear in a process listing.
    """
    if not passwords:
        return []
    if any("\n" in pw or not pw for pw in passwords):
        raise TestNodesError("password: must be non-empty and a single line")
    result = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input="\n".join(passwords) + "\n",
                            capture_output=True, text=True, timeout=30)
    hashes = result.stdout.split()
    if result.returncode != 0 or len(hashes) != len(passwords):
        raise TestNodesError(f"openssl passwd failed (status {result.returncode})")
    return hashes
