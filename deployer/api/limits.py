"""Bounds on what a request may hold, checked before any view sees it.

- the body: at most MAX_BODY_BYTES (Flask's MAX_CONTENT_LENGTH: 413);
- JSON: nested at most MAX_JSON_DEPTH deep, no NaN/Infinity, and no string
  (key or value) that is not valid Unicode (a lone surrogate such as \\ud800
  cannot be stored or echoed): 400 naming the path;
- paths and query strings: the same Unicode rule.
"""
from __future__ import annotations

import json
from typing import Any

MAX_BODY_BYTES = 1 << 20           # 1 MiB: the largest Chef environment we ship is ~10 KiB
MAX_JSON_DEPTH = 32


class InputError(ValueError):
    def __init__(self, message: str, path: str = "body"):
        super().__init__(message)
        self.path = path


def _no_constant(name: str):
    raise InputError(f"{name} is not a JSON number")


def parse_json(data: bytes | str) -> Any:
    """json.loads with the bounds above; InputError (with the offending path),
    json.JSONDecodeError or UnicodeDecodeError otherwise."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise InputError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    check(value)
    return value


def check(value: Any) -> None:
    """Depth and Unicode of a parsed JSON value, iteratively (no recursion to exhaust)."""
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise InputError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels",
                                 path or "body")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str):
                    _check_text(key, path or "body")
                stack.append((child, f"{path}.{key}" if path else str(key), depth + 1))
        elif isinstance(item, str):
            _check_text(item, path or "body")


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError("holds an invalid Unicode character (a lone surrogate)", path) from None


def valid_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\0" not in text
