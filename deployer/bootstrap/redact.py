"""Scrub secrets from text before it is reported, stored or raised.

Two kinds of secret can show up in a node run's output: the SSH password
(sudo echoes, a misbehaving installer) and private keys (a PEM block printed by
accident).  Output is redacted line by line: a partial line is held back until
its newline arrives, so a secret split across two reads is still caught.
"""
from __future__ import annotations

import re

from deployer.bootstrap.contract import REDACTED

_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY-----")
_PEM_BLOCK = re.compile(_PEM_BEGIN.pattern + r".*?" + _PEM_END.pattern, re.S)


class Redactor:
    """Replaces known secret strings and private-key blocks with REDACTED."""

    def __init__(self, secrets: list[str | None] = ()):
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def add(self, secret: str | None) -> None:
        if secret and secret not in self._secrets:
            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """Redact a complete piece of text (a reason, an error message)."""
        text = _PEM_BLOCK.sub(f"[private key {REDACTED}]", text)
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


class LineRedactor:
    """Streaming redaction: feed chunks, get back whole redacted lines."""

    def __init__(self, redactor: Redactor):
        self._redactor = redactor
        self._partial = ""
        self._inside_pem = False

    def feed(self, chunk: str) -> str:
        text = self._partial + chunk
        complete, _, self._partial = text.rpartition("\n")
        if not _:
            self._partial = text
            return ""
        return self._redact_lines(complete + "\n")

    def flush(self) -> str:
        rest, self._partial = self._partial, ""
        return self._redact_lines(rest) if rest else ""

    def _redact_lines(self, text: str) -> str:
        out = []
        for line in text.splitlines(keepends=True):
            if self._inside_pem:
                if _PEM_END.search(line):
                    self._inside_pem = False
                continue
            if _PEM_BEGIN.search(line) and not _PEM_END.search(line):
                self._inside_pem = True
                out.append(f"[private key {REDACTED}]\n")
                continue
            out.append(self._redactor.scrub(line))
        return "".join(out)
