"""The secrets kernel: the one Fernet box, the REDACTED marker and the one redactor.

- ``SecretBox`` encrypts run passwords and hidden template parameters at rest.
  Its key lives in the state directory, readable by the deployer user only;
  the key is created once, atomically, by whichever process needs it first
  (API and worker may start together).
- ``Redactor`` replaces known secret strings and private-key blocks with
  REDACTED.  It is what the node runner, the run reporter, the deployments'
  redaction and the Chef server errors use, so there is one private-key rule.
- ``LineRedactor`` applies it to streamed output line by line: a partial line
  is held back until its newline arrives, so a secret split across two reads is
  still caught, and a key block spread over lines is dropped whole.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import tempfile
from pathlib import Path
from typing import Iterable

from cryptography.fernet import Fernet, InvalidToken

REDACTED = "******"
KEY_FILE_NAME = "run-secrets.key"
PRIVATE_KEY_REDACTED = f"[private key {REDACTED}]"

_KEY_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_KEY_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY-----")
# A block without its END line (a truncated echo) is redacted to the end of the text.
_KEY_BLOCK = re.compile(_KEY_BEGIN.pattern + r".*?(?:" + _KEY_END.pattern + r"|\Z)", re.S)


class SecretKeyError(Exception):
    """The key file is unreadable or malformed; the message names the file."""


class SecretBox:
    def __init__(self, key: bytes, source: Path):
        try:
            self._fernet = Fernet(key)
        except ValueError:
            raise SecretKeyError(f"{source} does not hold a valid Fernet key") from None
        self.source = source
        # A MAC key of its own, derived from the box key (never the key itself).
        self._mac_key = hashlib.sha256(b"deployer-mac-v1:" + key).digest()

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

    def mac(self, message: str) -> str:
        """HMAC-SHA256 of ``message`` under this box's key (hex): credentials the
        deployer hands out and later checks without storing them."""
        return hmac.new(self._mac_key, message.encode(), hashlib.sha256).hexdigest()

    def verify_mac(self, message: str, mac: str) -> bool:
        return hmac.compare_digest(self.mac(message), mac or "")

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


class Redactor:
    """Replaces known secret strings and private-key blocks with REDACTED."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def add(self, secret: str | None) -> None:
        if secret and secret not in self._secrets:
            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """Redact a complete piece of text (a reason, an error message)."""
        text = _KEY_BLOCK.sub(PRIVATE_KEY_REDACTED, text)
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


class LineRedactor:
    """Streaming redaction: feed chunks, get back whole redacted lines."""

    def __init__(self, redactor: Redactor):
        self._redactor = redactor
        self._partial = ""
        self._inside_key = False

    def feed(self, chunk: str) -> str:
        text = self._partial + chunk
        complete, newline, self._partial = text.rpartition("\n")
        if not newline:
            self._partial = text
            return ""
        return self._redact_lines(complete + "\n")

    def flush(self) -> str:
        rest, self._partial = self._partial, ""
        return self._redact_lines(rest) if rest else ""

    def _redact_lines(self, text: str) -> str:
        out = []
        for line in text.splitlines(keepends=True):
            if self._inside_key:
                if _KEY_END.search(line):
                    self._inside_key = False
                continue
            if _KEY_BEGIN.search(line) and not _KEY_END.search(line):
                self._inside_key = True
                out.append(PRIVATE_KEY_REDACTED + "\n")
                continue
            out.append(self._redactor.scrub(line))
        return "".join(out)
