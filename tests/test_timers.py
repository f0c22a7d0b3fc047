"""Durable timers: each kind is a row with its due time, fires once when the clock passes it,
and computes its due time with the calendar of the law."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import ADMIN, CASE_WORKER, MODELS, START
from sqlalchemy import func, select

from engine import Actor, Engine, queries
from engine.calendar.moments import end_of_day
from engine.db import Database
from engine.db.models import AuditEvent, Instance, OutboxMessage, StartTimer
from engine.errors import Conflict, DeploymentFailed

SUPERVISOR = Actor.of("sam", "licensing-supervisors")
FILE = {"applicant": "Thermocam SA", "received_on": "2027-01-04"}  # START is that Monday


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def ready(engine, instance_id):
    return {t.element_id: t for t in engine.read(queries.ready_tasks_of, instance_id)}


def timer_waits(engine, instance_id) -> dict[str, datetime]:
    return {w.element_id: w.due_at for w in engine.read(queries.waits_of, instance_id)
            if w.kind == "timer"}


def fired(engine, instance_id) -> list[str]:
    return [e.element_id for e in engine.read(queries.events, instance_id)
            if e.action == "timer.fired"]


def instances_of(engine, key: str) -> list[Instance]:
    return engine.read(queries.instances, ADMIN, process_key=key, limit=200).items


class TestLegalDeadline:
    """The issue's model: due date in 10 working days, a P5D escalation, a 30-working-day
    lapse."""

    @pytest.fixture
    def instance(self, engine, deploy):
        deploy("escalation.bpmn")
        return engine.start("escalation", actor=CASE_WORKER, data=FILE)

    def test_due_date_and_timers_follow_the_calendar(self, engine, instance):
        assess = ready(engine, instance.id)["assess"]
        # 10 working days after Monday 4 January 2027: Monday 18 January, end of day
        assert assess.due_at == end_of_day(datetime(2027, 1, 18).date())
        assert assess.due_at == utc(2027, 1, 18, 22, 59, 59, 999999)
        assert timer_waits(engine, instance.id) == {
            "remind": START + timedelta(days=5),
            # 30 working days: Monday 15 February 2027 (no holiday on the way)
            "lapse": utc(2027, 2, 15, 22, 59, 59, 999999),
        }

    def test_escalation_fires_once_at_its_moment_and_keeps_the_task(self, engine, clock,
                                                                    instance):
        clock.set(START + timedelta(days=5) - timedelta(seconds=1))
        assert engine.run_due() == 0
        assert fired(engine, instance.id) == []
        clock.set(START + timedelta(days=5))
        assert engine.run_due() >= 2  # the timer, then the notify job
        assert fired(engine, instance.id) == ["remind"]
        assert set(ready(engine, instance.id)) == {"assess", "supervise"}
        [mail] = engine.read(queries.outbox, instance.id)
        assert (mail.recipient, mail.subject) == ("group:licensing-supervisors",
                                                  "File of Thermocam SA waits for a decision")
        assert mail.status == "recorded"  # no SMTP configured
        assert "remind" not in timer_waits(engine, instance.id)
        assert engine.run_due() == 0  # nothing fires twice
        assert fired(engine, instance.id) == ["remind"]

    def test_the_lapse_interrupts_the_file_at_the_end_of_the_last_day(self, engine, clock,
                                                                     instance):
        clock.set(START + timedelta(days=5))
        engine.run_due()
        assess = ready(engine, instance.id)["assess"]
        clock.set(utc(2027, 2, 15, 22, 59, 59))
        engine.run_due()
        assert "assess" in ready(engine, instance.id)
        clock.set(utc(2027, 2, 15, 23, 0))
        engine.run_due()
        assert fired(engine, instance.id) == ["remind", "lapse"]
        assert engine.task(assess.id).state == "cancelled"
        supervise = ready(engine, instance.id)["supervise"]
        engine.complete_task(supervise.id, actor=SUPERVISOR)
        assert engine.instance(instance.id).state == "completed"
        assert timer_waits(engine, instance.id) == {}

    def test_deciding_in_time_removes_both_timers(self, engine, clock, instance):
        clock.advance(timedelta(days=2))
        engine.complete_task(ready(engine, instance.id)["assess"].id, actor=CASE_WORKER)
        assert engine.instance(instance.id).state == "completed"
        assert timer_waits(engine, instance.id) == {}
        clock.set(utc(2027, 3, 1))
        assert engine.run_due() == 0
        assert fired(engine, instance.id) == []

    def test_a_late_worker_fires_every_due_timer_in_one_pass(self, engine, clock, instance):
        """After an outage the worker catches up: the escalation and the lapse, once each."""
        clock.set(utc(2027, 3, 1))
        engine.run_due()
        assert sorted(fired(engine, instance.id)) == ["lapse", "remind"]
        assert set(ready(engine, instance.id)) == {"supervise"}

    def test_the_supervisor_gets_the_escalation_by_email(self, database_url, clock, smtp):
        url, mailbox = smtp
        engine = Engine(Database(database_url), clock=clock, smtp_url=url,
                        smtp_sender="biflow@bi.brussels")
        try:
            engine.deploy_paths([MODELS / "escalation.bpmn"])
            engine.add_user("sam", ["licensing-supervisors"], email="sam@bi.brussels")
            engine.add_user("bob", ["licensing-unit"], email="bob@bi.brussels")
            instance = engine.start("escalation", actor=CASE_WORKER, data=FILE)
            clock.set(START + timedelta(days=5))
            engine.run_due()
        finally:
            engine.close()
        [message] = mailbox.messages()
        assert message["To"] == "sam@bi.brussels"
        assert message["Subject"] == "File of Thermocam SA waits for a decision"
        assert message["X-Biflow-Instance"] == instance.id
        assert "Received on 2027-01-04" in message.get_content()


class TestIntermediateTimers:
    def test_months_clamp_and_a_date_means_the_end_of_that_day(self, engine, clock, deploy):
        deploy("waiting.bpmn")
        clock.set(utc(2027, 1, 31, 9))
        instance = engine.start("waiting", actor=ADMIN)
        # 31 January + P1M = 28 February (SpiffWorkflow's own arithmetic gives 3 March)
        assert timer_waits(engine, instance.id) == {"a_month": utc(2027, 2, 28, 9)}
        clock.set(utc(2027, 2, 28, 9))
        engine.run_due()
        assert timer_waits(engine, instance.id) == {"on_the_date": utc(2027, 3, 15, 22, 59, 59,
                                                                       999999)}
        clock.set(utc(2027, 3, 15, 23))
        engine.run_due()
        assert fired(engine, instance.id) == ["a_month", "on_the_date"]
        assert set(ready(engine, instance.id)) == {"report"}


def test_a_timer_due_during_another_command_fires_in_it(engine, clock, deploy):
    """SpiffWorkflow sees overdue timers at the end of any command's engine steps: the
    timer's path must run there and then, not stay ready with no row for a worker."""
    deploy("side_by_side.bpmn")
    instance = engine.start("side_by_side", actor=ADMIN)
    clock.advance(timedelta(days=2))
    engine.complete_task(ready(engine, instance.id)["check"].id, actor=CASE_WORKER)
    assert set(ready(engine, instance.id)) == {"draft", "nudge"}
    assert fired(engine, instance.id) == ["nudge_timer"]
    assert timer_waits(engine, instance.id) == {}
    assert engine.run_due() == 0


def test_a_timer_already_due_when_reached_fires_at_once_and_is_audited(engine, clock, deploy):
    deploy("waiting.bpmn")
    clock.set(utc(2027, 4, 1, 9))  # "On 15 March 2027" has passed when the path gets there
    instance = engine.start("waiting", actor=ADMIN)
    clock.set(utc(2027, 5, 1, 9))
    engine.run_due()
    assert fired(engine, instance.id) == ["a_month", "on_the_date"]
    assert set(ready(engine, instance.id)) == {"report"}


class TestRepeatingTimers:
    def test_a_cycle_fires_each_occurrence_once_up_to_its_repetitions(self, engine, clock,
                                                                      deploy):
        deploy("reminders.bpmn")
        instance = engine.start("reminders", actor=ADMIN)
        assert timer_waits(engine, instance.id) == {"every_day": START + timedelta(days=1)}
        clock.advance(timedelta(days=1))
        engine.run_due()
        assert fired(engine, instance.id) == ["every_day"]
        assert timer_waits(engine, instance.id) == {"every_day": START + timedelta(days=2)}
        clock.advance(timedelta(days=10))  # two more occurrences are due: both fire, no more
        engine.run_due()
        assert fired(engine, instance.id) == ["every_day"] * 3
        chases = [t for t in engine.read(queries.ready_tasks_of, instance.id)
                  if t.element_id == "chase"]
        assert len(chases) == 3
        assert timer_waits(engine, instance.id) == {}
        assert "answer" in ready(engine, instance.id)


class TestStartTimers:
    def test_a_repeating_start_timer_starts_one_instance_per_occurrence(self, engine, clock,
                                                                        deploy):
        deploy("start_monthly_report.bpmn")
        [row] = engine.read(lambda s: list(s.scalars(select(StartTimer))))
        assert row.due_at == utc(2027, 1, 31, 8)  # 09:00 Brussels
        clock.set(utc(2027, 1, 31, 8))
        assert engine.run_due() == 1
        clock.set(utc(2027, 3, 31, 8))  # February's (28th, clamped) and March's
        assert engine.run_due() == 2
        started = instances_of(engine, "monthly_report")
        assert len(started) == 3
        assert all(set(ready(engine, i.id)) == {"write"} for i in started)
        [row] = engine.read(lambda s: list(s.scalars(select(StartTimer))))
        assert row.due_at == utc(2027, 4, 30, 7)  # 09:00 Brussels in summer time
        events = [e for i in started for e in engine.read(queries.events, i.id)
                  if e.action == "timer.fired"]
        assert sorted(e.data["due"] for e in events) == [
            "2027-01-31T08:00:00+00:00", "2027-02-28T08:00:00+00:00",
            "2027-03-31T07:00:00+00:00"]

    def test_cron_start_timer_runs_on_brussels_weekdays(self, engine, clock, deploy):
        deploy("start_weekday_digest.bpmn")
        # deployed at 09:00 Brussels on Monday 4 January: the next run is after that moment
        clock.set(utc(2027, 1, 11, 8))
        engine.run_due()
        dues = sorted(e.data["due"] for i in instances_of(engine, "weekday_digest")
                      for e in engine.read(queries.events, i.id) if e.action == "timer.fired")
        assert dues == [f"2027-01-{day:02}T08:00:00+00:00" for day in (5, 6, 7, 8, 11)]

    def test_one_off_start_timers_fire_once_then_disappear(self, engine, clock, deploy):
        deploy("start_one_off.bpmn", "start_soon_after.bpmn")
        clock.set(START + timedelta(hours=2))
        engine.run_due()
        assert len(instances_of(engine, "soon_after")) == 1
        assert instances_of(engine, "one_off") == []
        clock.set(utc(2027, 3, 1))
        engine.run_due()
        engine.run_due()
        assert len(instances_of(engine, "one_off")) == 1
        assert len(instances_of(engine, "soon_after")) == 1
        assert engine.read(lambda s: s.scalar(select(func.count()).select_from(StartTimer))) == 0

    def test_a_new_version_replaces_the_start_timers_of_the_old(self, engine, clock, deploy):
        deploy("start_monthly_report.bpmn")
        xml = (MODELS / "start_monthly_report.bpmn").read_bytes()
        engine.deploy([("start_monthly_report.bpmn",
                        xml.replace(b"R/2027-01-31T09:00:00+01:00/P1M",
                                    b"R/2027-01-15T09:00:00+01:00/P1M"))])
        rows = engine.read(lambda s: list(s.scalars(select(StartTimer))))
        assert [(r.due_at, r.definition_id) for r in rows] == [
            (utc(2027, 1, 15, 8), engine.definition("monthly_report", 2).id)]
        clock.set(utc(2027, 1, 15, 8))
        engine.run_due()
        [instance] = instances_of(engine, "monthly_report")
        assert instance.process_version == 2

    def test_a_timer_only_process_cannot_be_started_by_hand(self, engine, deploy):
        deploy("start_one_off.bpmn")
        with pytest.raises(Conflict, match="starts only by its timer"):
            engine.start("one_off", actor=ADMIN)

    def test_a_process_with_both_starts_takes_either(self, engine, clock, deploy):
        deploy("start_two_ways.bpmn")
        by_hand = engine.start("two_ways", actor=ADMIN)
        assert set(ready(engine, by_hand.id)) == {"report"}
        assert timer_waits(engine, by_hand.id) == {}  # the timer start is not a wait
        clock.advance(timedelta(days=31))
        engine.run_due()
        started = instances_of(engine, "two_ways")
        assert len(started) == 2
        assert all(set(ready(engine, i.id)) == {"report"} for i in started)

    def test_an_unschedulable_start_timer_is_a_deploy_problem(self, engine):
        xml = (MODELS / "start_one_off.bpmn").read_bytes().replace(
            b"2027-02-01T12:00:00Z", b"${add_days(nothing_here, 1)}")
        with pytest.raises(DeploymentFailed) as failure:
            engine.deploy([("broken_start.bpmn", xml)])
        [problem] = failure.value.problems
        assert problem.element_id == "tick"
        assert "cannot be scheduled" in problem.message


class TestFailures:
    def test_a_timer_whose_path_fails_opens_an_incident_and_waits_for_a_retry(
            self, engine, clock, deploy):
        xml = (MODELS / "escalation.bpmn").read_bytes().replace(
            b'camunda:candidateGroups="licensing-supervisors" />',
            b'camunda:candidateGroups="licensing-supervisors" '
            b'camunda:dueDate="${add_days(missing, 1)}" />')
        engine.deploy([("escalation.bpmn", xml)])
        instance = engine.start("escalation", actor=CASE_WORKER, data=FILE)
        clock.set(START + timedelta(days=5))
        engine.run_due()
        [incident] = engine.read(queries.incidents)
        assert (incident.kind, incident.element_id) == ("timer_failed", "remind")
        assert "missing" in incident.message
        assert fired(engine, instance.id) == []
        assert engine.run_due() == 0  # held by the incident, not retried in a loop
        engine.retry_incident(incident.id, actor=ADMIN)
        engine.run_due()
        assert len(engine.read(queries.incidents)) == 1  # failed again: a new incident

    def test_an_expired_lease_is_taken_over_and_the_timer_fires_once(self, engine, clock,
                                                                     deploy):
        deploy("deadline.bpmn")
        instance = engine.start("deadline", actor=ADMIN)
        clock.advance(timedelta(days=30))
        dead = engine.worker("dead-worker", lease=timedelta(seconds=30))
        from engine.runtime import timers
        claimed = engine._command(ADMIN, lambda ctx: timers.claim_due(
            ctx, dead.worker_id, 10, dead.lease))
        assert len(claimed) == 1
        assert engine.run_due() == 0  # leased by a worker that died
        clock.advance(timedelta(seconds=31))
        assert engine.run_due() == 1
        assert fired(engine, instance.id) == ["lapse"]
        assert engine.instance(instance.id).state == "completed"


def test_every_fired_timer_has_one_audit_event(engine, clock, deploy):
    deploy("escalation.bpmn")
    ids = [engine.start("escalation", actor=CASE_WORKER, data=FILE).id for _ in range(5)]
    clock.set(utc(2027, 3, 1))
    engine.run_due()
    counts = engine.read(lambda s: dict(s.execute(
        select(AuditEvent.instance_id, func.count()).where(AuditEvent.action == "timer.fired")
        .group_by(AuditEvent.instance_id)).all()))
    assert counts == {i: 2 for i in ids}
    assert engine.read(lambda s: s.scalar(select(func.count()).select_from(OutboxMessage))) == 5


class TestBackgroundWorker:
    """The APScheduler-driven worker of ``biflow serve``/``biflow worker``."""

    @staticmethod
    def wait_for(condition, seconds: float = 10.0) -> None:
        """Poll a real outcome of the background thread (time itself moves by the clock)."""
        import time

        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, "the background worker did not act in time"
            time.sleep(0.02)

    def test_it_fires_a_timer_when_woken_and_its_jobs_at_once(self, engine, clock, deploy):
        deploy("escalation.bpmn")
        instance = engine.start("escalation", actor=CASE_WORKER, data=FILE)
        halt = engine.run_in_background(poll_seconds=60)  # no poll during the test
        try:
            clock.set(START + timedelta(days=5))
            engine.wake_executor()
            self.wait_for(lambda: len(engine.read(queries.outbox, instance.id)) == 1)
            assert fired(engine, instance.id) == ["remind"]
        finally:
            halt()

    def test_it_passes_at_once_when_started_and_knows_the_next_due_time(self, engine, clock,
                                                                       deploy):
        """``next_due`` is what it schedules its next wake-up by."""
        deploy("deadline.bpmn")
        instance = engine.start("deadline", actor=ADMIN)
        worker = engine.worker()
        assert worker.next_due() == START + timedelta(days=30)
        clock.advance(timedelta(days=30))
        halt = worker.start(poll_seconds=60)
        try:
            self.wait_for(lambda: engine.instance(instance.id).state == "completed")
        finally:
            halt()
        assert worker.next_due() is None


class TestEventBasedGateway:
    """A message or a timer, whichever comes first (the gateway keeps the events it saw in
    the instance state, which must serialize)."""

    @pytest.fixture
    def waiting(self, engine, deploy):
        deploy("answer_or_lapse.bpmn")
        return engine.start("answer_or_lapse", actor=ADMIN)

    def test_the_message_first(self, engine, waiting):
        assert set(timer_waits(engine, waiting.id)) == {"first_of"}
        engine.correlate("applicant-answer", actor=ADMIN, instance_id=waiting.id,
                         data={"complete": True})
        assert engine.instance(waiting.id).state == "completed"
        assert engine.instance_detail(waiting.id, actor=ADMIN).data["complete"] is True
        assert engine.read(queries.waits_of, waiting.id) == []

    def test_the_timer_first(self, engine, clock, waiting):
        clock.advance(timedelta(days=30))
        assert engine.run_due() == 1
        assert engine.instance(waiting.id).state == "completed"
        assert fired(engine, waiting.id) == ["first_of"]

    def test_of_two_timers_the_earlier_wakes_the_gateway(self, engine, clock, deploy):
        """The gateway's one wait row holds the earliest due time, whatever the order of the
        events in the file (the later timer comes first in first_deadline.bpmn)."""
        deploy("first_deadline.bpmn")
        instance = engine.start("first_deadline", actor=ADMIN)
        assert timer_waits(engine, instance.id) == {"first_of": START + timedelta(days=10)}
        clock.advance(timedelta(days=10))
        assert engine.run_due() == 1
        assert engine.instance(instance.id).state == "completed"
        taken = [element for event in engine.read(queries.events, instance.id)
                 if event.action == "path.taken" for element in event.data["elements"]]
        assert "early" in taken and "late" not in taken

    def test_a_clock_jumping_past_both_timers_takes_the_earlier(self, engine, clock, deploy):
        deploy("first_deadline.bpmn")
        instance = engine.start("first_deadline", actor=ADMIN)
        clock.advance(timedelta(days=31))
        assert engine.run_due() == 1
        taken = [element for event in engine.read(queries.events, instance.id)
                 if event.action == "path.taken" for element in event.data["elements"]]
        assert taken.count("early") == 1 and "late" not in taken
        assert fired(engine, instance.id) == ["first_of"]
