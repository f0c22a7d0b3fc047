"""Service tasks: handlers run by the executor, retries with backoff, incidents, outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import ADMIN, CASE_WORKER, START

from engine import queries
from engine.db.models import Job
from engine.errors import Conflict, Forbidden
from handlers import HandlerResult


class Flaky:
    """A licence-register stand-in that fails ``failures`` times, then numbers the licence."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list = []

    def __call__(self, ctx):
        self.calls.append(ctx)
        if len(self.calls) <= self.failures:
            raise ConnectionError("register unreachable")
        return HandlerResult(output={"licence_number": f"{ctx.properties['prefix']}-2027-0001"})


@pytest.fixture
def flaky(registry):
    handler = Flaky(failures=1)
    registry.register("flaky", handler)
    return handler


def jobs_of(engine, instance_id):
    from sqlalchemy import select

    return engine.read(lambda s: list(s.scalars(
        select(Job).where(Job.instance_id == instance_id).order_by(Job.id))))


@pytest.fixture
def started(engine, deploy, flaky):
    deploy("services.bpmn")
    return engine.start("services", actor=ADMIN, business_key="LIC-9",
                        data={"applicant": "Thermocam SA"})


def test_reaching_a_service_task_creates_a_pending_job(engine, started):
    [job] = jobs_of(engine, started.id)
    assert (job.topic, job.state, job.element_id, job.due_at) == (
        "flaky", "pending", "register", START)


def test_a_failure_is_retried_after_backoff_then_the_flow_goes_on(engine, clock, started, flaky):
    assert engine.run_jobs() == 1
    [job] = jobs_of(engine, started.id)
    assert (job.state, job.attempts, job.due_at) == ("pending", 1, START + timedelta(seconds=10))
    assert "register unreachable" in job.last_error
    assert engine.run_jobs() == 0  # not yet due
    clock.advance(timedelta(seconds=10))
    assert engine.run_jobs() == 2  # the retry, then notify
    assert flaky.calls[1].idempotency_key == flaky.calls[0].idempotency_key
    assert flaky.calls[1].attempt == 2
    jobs = jobs_of(engine, started.id)
    assert [(j.topic, j.state) for j in jobs] == [
        ("flaky", "done"), ("notify", "done"), ("registry-archive", "external")]
    [mail] = engine.read(queries.outbox, started.id)
    assert mail.recipient == "group:licensing-unit"
    assert mail.subject == "Licence BI-LIC-2027-0001 for Thermocam SA"
    assert mail.body == "The licence of Thermocam SA is registered."


def test_backoff_doubles_and_the_last_failure_opens_an_incident(engine, clock, started, flaky):
    flaky.failures = 10
    engine.run_jobs()
    clock.advance(timedelta(seconds=10))
    engine.run_jobs()
    [job] = jobs_of(engine, started.id)
    assert (job.attempts, job.due_at) == (2, clock.now() + timedelta(seconds=20))
    clock.advance(timedelta(seconds=20))
    engine.run_jobs()
    [job] = jobs_of(engine, started.id)
    assert (job.state, job.attempts) == ("incident", 3)
    [incident] = engine.read(queries.incidents)
    assert (incident.element_id, incident.job_id) == ("register", job.id)
    assert "ConnectionError" in incident.message
    clock.advance(timedelta(days=1))
    assert engine.run_jobs() == 0


def test_an_incident_can_be_retried_by_an_admin(engine, clock, started, flaky):
    flaky.failures = 3
    for _ in range(3):
        engine.run_jobs()
        clock.advance(timedelta(minutes=5))
    [incident] = engine.read(queries.incidents)
    with pytest.raises(Forbidden):
        engine.retry_incident(incident.id, actor=CASE_WORKER)
    engine.retry_incident(incident.id, actor=ADMIN)
    with pytest.raises(Conflict):
        engine.retry_incident(incident.id, actor=ADMIN)
    assert engine.read(queries.incidents) == []
    assert engine.run_jobs() == 2
    assert jobs_of(engine, started.id)[0].state == "done"


def test_a_topic_without_handler_waits_for_an_external_worker(engine, clock, started, flaky):
    flaky.failures = 0
    engine.run_jobs()
    external = jobs_of(engine, started.id)[-1]
    assert external.state == "external"
    assert engine.read(queries.ready_tasks_of, started.id) == []
    engine.complete_external_job(external.id, {"archive_ref": "ARC-1"}, actor=ADMIN)
    [task] = engine.read(queries.ready_tasks_of, started.id)
    assert task.element_id == "check"
    actions = [e.action for e in engine.read(queries.events, started.id)]
    assert actions.count("job.completed") == 3


def test_cancelling_the_instance_cancels_its_jobs(engine, started):
    engine.cancel(started.id, "withdrawn", actor=ADMIN)
    assert [j.state for j in jobs_of(engine, started.id)] == ["cancelled"]
    assert engine.run_jobs() == 0


def test_handler_output_with_serializer_keys_is_an_incident_not_a_crash(engine, registry,
                                                                        deploy):
    registry.register("flaky", lambda ctx: {"x": {"typename": "Evil"}})
    deploy("services.bpmn")
    instance = engine.start("services", actor=ADMIN)
    engine.run_jobs()
    job = jobs_of(engine, instance.id)[0]
    assert job.state == "pending" and job.attempts == 1
    assert "reserved key" in job.last_error


def test_the_background_executor_runs_jobs_after_commands(engine, deploy, registry):
    registry.register("flaky", lambda ctx: {"licence_number": "BI-LIC-2027-0001"})
    deploy("services.bpmn")
    halt = engine.run_in_background(poll_seconds=60)
    try:
        instance = engine.start("services", actor=ADMIN)  # wakes the executor
    finally:
        halt()  # joins the thread after its last pass
    states = [(j.topic, j.state) for j in jobs_of(engine, instance.id)]
    assert states == [("flaky", "done"), ("notify", "done"), ("registry-archive", "external")]


def test_only_commands_that_make_jobs_due_wake_the_executor(engine, deploy, registry):
    """The executor's own commands must not wake it, or it would spin forever."""
    registry.register("flaky", lambda ctx: {"licence_number": "X"})
    deploy("services.bpmn", "review.bpmn")
    wakes: list[int] = []
    engine._wake = lambda: wakes.append(1)
    engine.start("review", actor=ADMIN, data={"applicant": "A", "amount": 1.0})
    assert wakes == []
    engine.start("services", actor=ADMIN)
    assert wakes == [1]
    assert engine.run_jobs() == 2  # register, then notify (which the first made due)
    wakes.clear()
    assert engine.run_jobs() == 0  # a pass with nothing to do: claiming must not wake it
    assert wakes == []
    engine._wake = None
