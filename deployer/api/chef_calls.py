"""One way for views to call the Chef server: its failures become problem responses."""
from __future__ import annotations

from typing import Callable, TypeVar

from flask_smorest import abort

from deployer.api.context import state
from deployer.chef.errors import ChefNotFound, ChefServerError, ChefUnavailable

T = TypeVar("T")


def chef_call(action: Callable[..., T]) -> T:
    """Run ``action(chef)`` with a fresh admin client: 404, 503 or 502 on failure."""
    chef = state().chef_server()
    try:
        return action(chef)
    except ChefNotFound as exc:
        abort(404, message=str(exc))
    except ChefUnavailable as exc:
        abort(503, message=str(exc))
    except ChefServerError as exc:
        abort(502, message=str(exc))
    finally:
        chef.close()
