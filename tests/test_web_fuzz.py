"""The API fuzzed from its own OpenAPI document (schemathesis): no answer is a server error,
and every answer fits the schema the document gives for its status. The calls carry a
planner's token (so they reach the handlers; the guard itself is tested in test_web.py) and
run against their own copy of the demo store, with jobs queued, not run."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from econplan.execution.store import Store
from econplan.web.app import create_app

EXAMPLES = 12
"""Cases per operation: the whole run stays within a few tens of seconds."""


@pytest.fixture(scope="module")
def fuzzed(demo_store_seeded: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    url = tmp_path_factory.mktemp("fuzz") / "econplan.db"
    shutil.copyfile(demo_store_seeded, url)  # its own copy: the calls may store reports
    with Store(str(url)) as store:
        app = create_app(store, job_threads=0)
        with TestClient(app) as client:
            answer = client.post("/api/token", json={"name": "planner", "password": "planner-demo"})
            yield app, answer.json()["token"]


def test_the_api_answers_every_generated_call_within_its_schema(fuzzed: Any) -> None:
    app, token = fuzzed
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def call(case: Any) -> None:
            case.call_and_validate(
                headers=headers, checks=[not_a_server_error, response_schema_conformance]
            )

        call()
