"""A bounded schemathesis run over every operation of the API (issue 11, item 9).

The API runs in-process (the Flask app gunicorn serves) on the real Heat and
Chef server of the test under-cloud, with a database of its own and no worker:
fuzzed runs are queued and never executed.  Every answer must be documented
(status and content type: errors are application/problem+json) and none may be
a 5xx.  Bounded by FUZZ_EXAMPLES per operation (DEPLOYER_FUZZ_EXAMPLES).
"""
from __future__ import annotations

import dataclasses
import os

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (content_type_conformance,  # noqa: E402
                                               status_code_conformance)

from deployer.api.app import create_app  # noqa: E402
from deployer.db.migrate import upgrade_database  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]

FUZZ_EXAMPLES = int(os.environ.get("DEPLOYER_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def fuzz_app(undercloud, tmp_path_factory):
    database = tmp_path_factory.mktemp("fuzz") / "deployer.sqlite"
    cfg = dataclasses.replace(undercloud.cfg, api=dataclasses.replace(
        undercloud.cfg.api, database_url=f"sqlite:///{database}"))
    upgrade_database(cfg.database_url)
    return create_app(cfg, {"TESTING": False})


def test_no_5xx_and_every_answer_documented(fuzz_app):
    """Each operation in turn (schemathesis' pytest plugin does not load under this
    pytest), all failures collected so one run names every bad operation."""
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", fuzz_app)
    failures = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(operation.as_strategy())
        @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case):
            case.call_and_validate(checks=[not_a_server_error, status_code_conformance,
                                           content_type_conformance])

        try:
            fuzz()
        except Exception as error:          # noqa: BLE001 -- reported below, all at once
            failures[operation.label] = str(error)[:1500]
    assert operations >= 20
    assert not failures, "\n\n".join(f"{label}: {text}" for label, text in failures.items())
