"""Fixtures of the HA fault tests: a namespace lab per test (or module), always torn down."""
from __future__ import annotations

import os

import pytest

from tests.fixtures.common import require_root_and
from tests.ha.netlab import Lab


def require_ha(*binaries: str, files: tuple[str, ...] = ()) -> None:
    """Skip unless root with the daemons (and files such as the Galera provider) installed."""
    require_root_and("ip", "unshare", *binaries)
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


@pytest.fixture(scope="module")
def lab_factory(tmp_path_factory):
    """``make(prefix)`` -> a Lab whose processes and namespaces are removed at module end."""
    labs: list[Lab] = []

    def make(prefix: str) -> Lab:
        lab = Lab(prefix, tmp_path_factory.mktemp(prefix))
        labs.append(lab)
        return lab
    yield make
    errors = []
    for lab in labs:
        try:
            lab.close()
        except Exception as exc:  # close every lab, then report
            errors.append(exc)
    if errors:
        raise errors[0]
