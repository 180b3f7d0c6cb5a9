"""Encryption of run secrets (the SSH password) at rest.

The Fernet key lives in the state directory, readable by the deployer user
only.  The API encrypts when a run is created; only the worker decrypts, just
before it hands the spec to the runner.  The key is created once, atomically,
by whichever process needs it first (API and worker may start together).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_FILE_NAME = "run-secrets.key"


class SecretKeyError(Exception):
    """The key file is unreadable or malformed; the message names the file."""


class SecretBox:
    def __init__(self, key: bytes, source: Path):
        try:
            self._fernet = Fernet(key)
        except ValueError:
            raise SecretKeyError(f"{source} does not hold a valid Fernet key") from None
        self.source = source

    @classmethod
    def in_dir(cls, directory: Path) -> "SecretBox":
        path = directory / KEY_FILE_NAME
        directory.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            _publish_new_key(path)
        try:
            key = path.read_bytes().strip()
        except OSError as exc:
            raise SecretKeyError(f"cannot read {path}: {exc.strerror}") from None
        return cls(key, path)

    def encrypt(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def decrypt(self, blob: bytes) -> str:
        try:
            return self._fernet.decrypt(blob).decode()
        except InvalidToken:
            raise SecretKeyError(
                f"a run secret cannot be decrypted with {self.source}; "
                f"was the key replaced after the run was created?") from None


def _publish_new_key(path: Path) -> None:
    """Create the key file whole or not at all.

    The key is written to a private temporary file and then hard-linked into
    place, which fails if another process got there first; so a reader never
    sees a half-written (empty) key, and exactly one key wins.
    """
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process published its key first; use that one
    finally:
        os.unlink(temporary)

