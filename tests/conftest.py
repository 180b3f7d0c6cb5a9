"""Shared pytest set-up.  Fixtures live in tests/fixtures/, one module per real part."""
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

pytest_plugins = [
    "tests.fixtures.common",
    "tests.fixtures.chef",
    "tests.fixtures.heat",
    "tests.fixtures.nodes",
    "tests.fixtures.undercloud",
    "tests.fixtures.api",
]
