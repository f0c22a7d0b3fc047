"""The audit trail: one event per command, in its transaction, hash-chained per instance."""

from __future__ import annotations

import itertools

import pytest
from conftest import ADMIN, CASE_WORKER

from engine import audit, queries
from engine.errors import ValidationFailed


@pytest.fixture
def finished(engine, deploy):
    deploy("review.bpmn")
    instance = engine.start("review", actor=CASE_WORKER, business_key="LIC-1",
                            data={"applicant": "A", "amount": 5.0})
    [task] = engine.read(queries.ready_tasks_of, instance.id)
    engine.claim(task.id, actor=CASE_WORKER)
    engine.complete_task(task.id, {"decision": "refuse", "comment": "criterion 7"},
                         actor=CASE_WORKER)
    return instance


def test_one_event_per_command_with_actor_and_data(engine, finished):
    events = [e for e in engine.read(queries.events, finished.id) if e.action != "path.taken"]
    assert [(e.action, e.actor) for e in events] == [
        ("instance.started", "bob"), ("task.claimed", "bob"), ("task.completed", "bob")]
    assert events[2].data == {"data": {"decision": "refuse", "comment": "criterion 7"}}
    assert events[2].element_id == "assess"


def test_each_command_that_moves_the_instance_records_its_path(engine, finished):
    paths = [(e.actor, e.data) for e in engine.read(queries.events, finished.id)
             if e.action == "path.taken"]
    assert paths == [
        ("bob", {"elements": ["received"], "flows": []}),
        ("bob", {"elements": ["assess", "decided", "refused"],
                 "flows": ["f1", "f2", "to_refused"]}),
    ]


def test_events_are_chained_by_hash(engine, finished):
    events = engine.read(queries.events, finished.id)
    assert events[0].prev_hash is None
    for previous, event in itertools.pairwise(events):
        assert event.prev_hash == previous.hash
    for event in events:
        assert event.hash == audit.event_hash(event.prev_hash, event)


def test_a_changed_event_no_longer_matches_its_hash(engine, finished):
    event = engine.read(queries.events, finished.id)[2]
    event.data = {"data": {"decision": "grant"}}
    assert audit.event_hash(event.prev_hash, event) != event.hash


def test_a_refused_command_writes_no_event(engine, finished, deploy):
    with pytest.raises(ValidationFailed):
        engine.start("review", actor=ADMIN, data={})
    assert engine.read(queries.instances, ADMIN).total == 1


def test_deployments_form_the_system_trail(engine, deploy):
    from sqlalchemy import select

    from engine.db.models import AuditEvent

    deploy("review.bpmn")
    deploy("parallel.bpmn")
    events = engine.read(lambda s: list(s.scalars(
        select(AuditEvent).where(AuditEvent.instance_id.is_(None)).order_by(AuditEvent.id))))
    assert [e.data["key"] for e in events] == ["review", "parallel"]
    assert events[1].prev_hash == events[0].hash
