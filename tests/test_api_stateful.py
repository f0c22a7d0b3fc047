"""Schemathesis stateful sequences: chains of calls (start an instance, read it, claim,
assign, comment, complete its task, cancel it ...) built from the links of our OpenAPI
document (:mod:`api.links`), with the ids earlier answers gave.

Every answer must keep its contract (no 5xx, documented status, schema and content type;
a resource just created can be read; a cancelled instance answers like one), and after each
sequence the audit trail must verify and no task may have been completed twice.

Starts are steered to the ``review`` process, and half the starts and completions to form
data it accepts; the rest keep schemathesis's random bodies, so refusals are exercised too.
"""

from __future__ import annotations

from collections import Counter

import schemathesis
from conftest import MODELS
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)
from sqlalchemy import delete, func, select

from engine.db.models import (
    AuditEvent,
    Comment,
    Incident,
    Instance,
    Job,
    OutboxMessage,
    Task,
    TaskCandidate,
    Wait,
)

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance,
          status_code_conformance, ensure_resource_availability, use_after_free]
START = "/api/process-instances"
COMPLETE = "/api/tasks/{task_id}/complete"
VALID_DATA = {
    START: {"applicant": "Thermal Optics SA", "amount": 125000.0, "quantity": 40,
            "received_on": "2027-01-11"},
    COMPLETE: {"decision": "refuse", "comment": "insufficient end-user certificate"},
}


def steer(case) -> None:
    """Starts go to ``review``; those without data and about every other start and completion
    (decided by the drawn body, so that hypothesis can replay a sequence) get form data that
    is valid."""
    if case.method != "POST" or not isinstance(case.body, dict):
        return
    if case.path == START:
        case.body["process_key"] = "review"
    if case.path in VALID_DATA and ("data" not in case.body or len(repr(case.body)) % 2 == 0):
        case.body["data"] = dict(VALID_DATA[case.path])


def forget_instances(engine) -> None:
    """Each sequence starts from the deployed models alone, so that hypothesis can replay it."""
    with engine.db.engine.begin() as connection:
        for model in (TaskCandidate, Comment, Incident, Wait, Task, OutboxMessage, Job):
            connection.execute(delete(model))
        connection.execute(delete(AuditEvent).where(AuditEvent.instance_id.is_not(None)))
        connection.execute(delete(Instance))


def test_call_sequences_keep_their_contracts_and_the_trail(app, client, engine):
    engine.deploy_paths([MODELS / "review.bpmn", MODELS / "opinion.bpmn"])
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    schema.config.phases.stateful.inference.algorithms = []  # our links say it better
    headers = {"Authorization": f"Bearer {client.tokens['ada']}"}
    answers: Counter[tuple[str, str, int]] = Counter()

    class Sequences(schema.as_state_machine()):
        def setup(self) -> None:
            forget_instances(engine)

        def before_call(self, case) -> None:
            steer(case)
            case.headers = {**(case.headers or {}), **headers}

        def after_call(self, response, case) -> None:
            answers[(case.method, case.path, response.status_code)] += 1

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

        def teardown(self) -> None:
            findings, _, _ = engine.verify_audit()
            assert not findings, findings
            with engine.db.engine.connect() as connection:
                twice = connection.scalar(select(func.count()).select_from(
                    select(AuditEvent.task_id).where(AuditEvent.action == "task.completed")
                    .group_by(AuditEvent.task_id).having(func.count() > 1).subquery()))
            assert twice == 0, "a task was completed twice"

    Sequences.run(settings=settings(max_examples=60, stateful_step_count=8, deadline=None,
                                    database=None, suppress_health_check=list(HealthCheck)))

    # the sequences went deep: instances started, then their tasks worked on by the ids given
    reached = {(method, path) for method, path, status in answers if status < 300}
    assert ("POST", START) in reached, sorted(answers.items())
    assert {("POST", COMPLETE), ("POST", "/api/tasks/{task_id}/claim")} <= reached, sorted(
        answers.items())
