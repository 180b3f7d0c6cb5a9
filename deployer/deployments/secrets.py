"""Hidden template parameters (HOT ``hidden: true``, CFN ``NoEcho``) at rest and in responses.

Their values are stored as one JSON object encrypted with the SecretBox,
apart from the other parameters, and every value that goes out (parameters,
resolved properties, outputs, Heat messages) is redacted: the parameter by
name, anything else wherever a hidden value appears in it.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from deployer.secrets import REDACTED, Redactor, SecretBox

SECRET_PROPERTY_NAMES = frozenset({"Password", "password"})


def split(values: dict[str, Any], hidden: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(public, secret) parts of ``values``."""
    public = {name: value for name, value in values.items() if name not in hidden}
    secret = {name: value for name, value in values.items() if name in hidden}
    return public, secret


def seal(box: SecretBox, secret: dict[str, Any]) -> bytes | None:
    return box.encrypt(json.dumps(secret, sort_keys=True)) if secret else None


def unseal(box: SecretBox, blob: bytes | None) -> dict[str, Any]:
    return json.loads(box.decrypt(blob)) if blob else {}


def redact_parameters(values: dict[str, Any], hidden: set[str]) -> dict[str, Any]:
    return {name: (REDACTED if name in hidden else value) for name, value in values.items()}


def secret_texts(secret: dict[str, Any]) -> list[str]:
    """The hidden values as text, longest first (so no secret is cut by a shorter one)."""
    texts = {value if isinstance(value, str) else json.dumps(value)
             for value in secret.values() if value not in (None, "")}
    return sorted(texts, key=len, reverse=True)


def redact_text(text: str, secrets: Iterable[str]) -> str:
    return Redactor(secrets).scrub(text)


def redact_value(value: Any, secrets: Iterable[str]) -> Any:
    """A copy of a JSON-like ``value`` with every hidden value replaced, and
    every ``Password`` property redacted whatever it holds."""
    redactor = Redactor(secrets)

    def walk(item: Any) -> Any:
        if isinstance(item, dict):
            return {key: (REDACTED if key in SECRET_PROPERTY_NAMES and item[key] not in (None, "")
                          else walk(sub)) for key, sub in item.items()}
        if isinstance(item, list):
            return [walk(sub) for sub in item]
        if isinstance(item, str):
            return redactor.scrub(item)
        return item
    return walk(value)
