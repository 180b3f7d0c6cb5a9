import pytest

from tests.standin_engine.repo import ChefRepo


@pytest.fixture
def repo(tmp_path):
    return ChefRepo(tmp_path)
