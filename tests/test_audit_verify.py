"""``biflow audit verify``: rows tampered with directly in SQL are caught, each finding
naming its chain and event (on SQLite, and on PostgreSQL when configured)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner
from conftest import CASE_WORKER, MODELS, OTHER_WORKER, START
from sqlalchemy import delete, insert, update

from engine import Engine, audit, queries
from engine.cli import main
from engine.db import Database
from engine.db.models import AuditEvent

EVENTS = AuditEvent.__table__


@pytest.fixture
def trail(engine, deploy):
    """Two instances (one with six events, one with two) and the deployment's system chain."""
    deploy("review.bpmn")
    busy = engine.start("review", actor=CASE_WORKER, business_key="LIC-1",
                        data={"applicant": "A", "amount": 5.0})
    engine.start("review", actor=CASE_WORKER, business_key="LIC-2",
                 data={"applicant": "B", "amount": 6.0})
    [task] = engine.read(queries.ready_tasks_of, busy.id)
    engine.claim(task.id, actor=OTHER_WORKER)
    engine.unclaim(task.id, actor=OTHER_WORKER)
    engine.claim(task.id, actor=CASE_WORKER)
    engine.complete_task(task.id, {"decision": "refuse"}, actor=CASE_WORKER)
    events = engine.read(queries.events, busy.id)
    assert len(events) >= 6
    return busy.id, events


def tamper(engine, *statements) -> None:
    with engine.db.engine.begin() as connection:
        for statement in statements:
            connection.execute(statement)


def found(engine) -> list[tuple[str | None, int | None, str]]:
    return [(f.instance_id, f.event_id, f.kind) for f in engine.read(audit.verify)]


def forged(instance_id: str, prev_hash: str | None) -> dict:
    """An event forged by someone who knows how hashes are made."""
    row = {"instance_id": instance_id, "task_id": None, "element_id": "assess",
           "actor": "mallory", "action": "task.completed",
           "data": {"data": {"decision": "grant"}}, "created_at": START,
           "prev_hash": prev_hash}
    return {**row, "hash": audit.event_hash(prev_hash, AuditEvent(**row))}


def test_an_untouched_trail_is_intact(engine, trail):
    findings, events, chains = engine.verify_audit()
    assert findings == []
    assert chains == 3  # two instances and the system chain
    assert events == len(trail[1]) + 2 + 1


def test_changed_data_names_the_event(engine, trail):
    instance_id, events = trail
    target = events[3]
    tamper(engine, update(EVENTS).where(EVENTS.c.id == target.id)
           .values(data={"data": {"decision": "grant"}}))
    assert found(engine) == [(instance_id, target.id, "changed")]


def test_a_changed_actor_with_a_recomputed_hash_breaks_the_next_link(engine, trail):
    instance_id, events = trail
    target = events[2]
    target.actor = "mallory"
    tamper(engine, update(EVENTS).where(EVENTS.c.id == target.id).values(
        actor="mallory", hash=audit.event_hash(target.prev_hash, target)))
    assert found(engine) == [(instance_id, events[3].id, "deleted")]


def test_a_deleted_middle_event_names_the_gap(engine, trail):
    instance_id, events = trail
    tamper(engine, delete(EVENTS).where(EVENTS.c.id == events[2].id))
    [finding] = engine.read(audit.verify)
    assert (finding.instance_id, finding.event_id, finding.kind) == (
        instance_id, events[3].id, "deleted")
    assert f"event {events[1].id}" in finding.message


def test_a_deleted_first_event(engine, trail):
    instance_id, events = trail
    tamper(engine, delete(EVENTS).where(EVENTS.c.id == events[0].id))
    assert found(engine) == [(instance_id, events[1].id, "deleted")]


def test_a_deleted_last_event_is_caught_by_the_instance_head(engine, trail):
    instance_id, events = trail
    tamper(engine, delete(EVENTS).where(EVENTS.c.id == events[-1].id))
    assert found(engine) == [(instance_id, events[-2].id, "truncated")]


def test_a_chain_deleted_entirely(engine, trail):
    instance_id, _ = trail
    tamper(engine, delete(EVENTS).where(EVENTS.c.instance_id == instance_id))
    assert found(engine) == [(instance_id, None, "truncated")]


def test_an_event_forged_into_the_middle(engine, trail):
    """A correct hash, pointing to an earlier event: a fork, and the chain overruns its head."""
    instance_id, events = trail
    tamper(engine, insert(EVENTS).values(forged(instance_id, events[1].hash)))
    [forgery] = [e for e in engine.read(queries.events, instance_id) if e.actor == "mallory"]
    findings = engine.read(audit.verify)
    assert {(f.event_id, f.kind) for f in findings} == {(forgery.id, "inserted")}
    assert f"which event {events[2].id} already follows" in findings[0].message


def test_an_event_appended_after_the_head(engine, trail):
    instance_id, events = trail
    tamper(engine, insert(EVENTS).values(forged(instance_id, events[-1].hash)))
    [forgery] = [e for e in engine.read(queries.events, instance_id) if e.actor == "mallory"]
    assert found(engine) == [(instance_id, forgery.id, "inserted")]


def test_an_event_forged_without_knowing_the_hash(engine, trail):
    instance_id, events = trail
    row = forged(instance_id, events[-1].hash)
    row["hash"] = "0" * 64
    tamper(engine, insert(EVENTS).values(row))
    kinds = found(engine)
    assert kinds[0][2] == "changed" and kinds[0][1] > events[-1].id


def test_swapped_data_names_both_events(engine, trail):
    instance_id, events = trail
    first, second = events[1], events[4]
    assert first.data != second.data
    tamper(engine,
           update(EVENTS).where(EVENTS.c.id == first.id).values(data=second.data),
           update(EVENTS).where(EVENTS.c.id == second.id).values(data=first.data))
    assert found(engine) == [(instance_id, first.id, "changed"),
                             (instance_id, second.id, "changed")]


def test_the_system_chain(engine, trail, deploy):
    deploy("parallel.bpmn")
    first = engine.read(lambda s: s.query(AuditEvent).filter(
        AuditEvent.instance_id.is_(None)).order_by(AuditEvent.id).first())
    tamper(engine, update(EVENTS).where(EVENTS.c.id == first.id)
           .values(data={"key": "something-else"}))
    assert found(engine) == [(None, first.id, "changed")]


def test_deleting_the_last_deployment_event_is_seen(engine, trail, deploy):
    deploy("parallel.bpmn")
    system = engine.read(lambda s: s.query(AuditEvent).filter(
        AuditEvent.instance_id.is_(None)).order_by(AuditEvent.id).all())
    assert len(system) == 2
    tamper(engine, delete(EVENTS).where(EVENTS.c.id == system[-1].id))
    assert found(engine) == [(None, system[0].id, "truncated")]


def test_a_forged_deployment_event_at_the_end_is_seen(engine, trail):
    [last] = engine.read(lambda s: s.query(AuditEvent).filter(
        AuditEvent.instance_id.is_(None)).all())
    row = {**forged(None, last.hash), "action": "definition.deployed"}
    row["hash"] = audit.event_hash(last.hash, AuditEvent(**{k: v for k, v in row.items()
                                                           if k != "hash"}))
    tamper(engine, insert(EVENTS).values(**row))
    [(chain, event_id, kind)] = found(engine)
    assert (chain, kind) == (None, "inserted") and event_id > last.id


def test_concurrent_deployments_extend_one_system_chain(engine, trail, database_url):
    """Two engines deploy different models at once: the chain stays one line."""
    others = [Engine(Database(database_url)) for _ in range(2)]
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda pair: pair[0].deploy_paths([MODELS / pair[1]]),
                          zip(others, ("parallel.bpmn", "opinion.bpmn"), strict=True)))
    finally:
        for other in others:
            other.close()
    assert found(engine) == []
    assert engine.read(lambda s: s.query(AuditEvent).filter(
        AuditEvent.instance_id.is_(None)).count()) == 3


class TestCli:
    def run(self, database_url, monkeypatch):
        monkeypatch.setenv("BIFLOW_DATABASE_URL", database_url)
        return CliRunner().invoke(main, ["audit", "verify"])

    def test_intact(self, engine, trail, database_url, monkeypatch):
        result = self.run(database_url, monkeypatch)
        assert result.exit_code == 0, result.output
        assert result.output.strip() == (
            f"audit trail intact: {len(trail[1]) + 3} events in 3 chains")

    def test_each_finding_on_a_line_then_exit_1(self, engine, trail, database_url,
                                                monkeypatch):
        instance_id, events = trail
        tamper(engine,
               update(EVENTS).where(EVENTS.c.id == events[1].id).values(actor="mallory"),
               delete(EVENTS).where(EVENTS.c.id == events[-1].id))
        result = self.run(database_url, monkeypatch)
        assert result.exit_code == 1
        lines = result.stdout.strip().splitlines()
        assert lines == [
            f"instance {instance_id}, event {events[1].id}: changed: "
            "its content no longer matches its hash",
            f"instance {instance_id}, event {events[-2].id}: truncated: the chain's last "
            "recorded event is not in the chain: events after this one were deleted"]
        assert "audit trail broken: 2 finding(s)" in result.stderr
