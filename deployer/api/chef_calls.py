"""One way for views to call the Chef server: a fresh admin client per call.

Its failures (deployer.chef.errors) reach api/errors.py's one Chef handler.
"""
from __future__ import annotations

from typing import Callable, TypeVar

from deployer.api.context import state

T = TypeVar("T")


def chef_call(action: Callable[..., T]) -> T:
    """``action(chef)`` with a fresh admin client, closed afterwards."""
    chef = state().chef_server()
    try:
        return action(chef)
    finally:
        chef.close()
