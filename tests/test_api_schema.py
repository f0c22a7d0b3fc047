"""Schemathesis against our own OpenAPI document: no input gets a 5xx, and every answer
fits the schema the document declares for it. Authenticated as an admin; bounded.

Random ids mostly reach the 404 paths, so half the examples get the ids of real objects
(and a real process key) put in, to reach the success paths with random bodies too.
"""

from __future__ import annotations

import schemathesis
from conftest import CASE_WORKER, MODELS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from engine import queries

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance,
          status_code_conformance]
EXAMPLES_PER_OPERATION = 16


def real_ids(engine) -> dict[str, object]:
    engine.deploy_paths([MODELS / "review.bpmn", MODELS / "opinion.bpmn"])
    instance = engine.start("review", actor=CASE_WORKER, business_key="LIC-1",
                            data={"applicant": "A", "amount": 1.0})
    [task] = engine.read(queries.ready_tasks_of, instance.id)
    return {"key": "review", "instance_id": instance.id, "task_id": task.id, "incident_id": 1}


def test_every_operation_keeps_its_contract(app, client, engine):
    ids = real_ids(engine)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    headers = {"Authorization": f"Bearer {client.tokens['ada']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 19

    for operation in operations:
        @given(case=operation.as_strategy(), use_real_ids=st.booleans())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def exercise(case, use_real_ids: bool) -> None:
            if use_real_ids:
                for name in case.path_parameters or {}:
                    case.path_parameters[name] = ids.get(name, case.path_parameters[name])
                if isinstance(case.body, dict) and "process_key" in case.body:
                    case.body["process_key"] = "review"
            case.call_and_validate(headers=headers, checks=CHECKS)

        exercise()
