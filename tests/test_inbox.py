"""The inbox: what a user may work on, filters and sorting, read from the inbox tables only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import ADMIN, CABINET, CASE_WORKER, OTHER_WORKER, OUTSIDER

from engine import Actor, queries
from engine.errors import ValidationFailed
from engine.queries import TaskQuery

APPLICATION = {"applicant": "A", "amount": 10.0}


def inbox(engine, actor, **filters):
    return engine.read(queries.tasks, actor, TaskQuery(**filters), engine.clock.now())


@pytest.fixture
def three(engine, deploy, clock):
    """Three licence files started a day apart; the second is urgent."""
    deploy("review.bpmn")
    started = []
    for number, urgent in ((1, False), (2, True), (3, False)):
        started.append(engine.start("review", actor=CASE_WORKER, business_key=f"LIC-{number}",
                                    data={**APPLICATION, "urgent": urgent}))
        clock.advance(timedelta(days=1))
    return started


def test_candidates_see_unassigned_tasks_of_their_groups(engine, three):
    page = inbox(engine, CASE_WORKER)
    assert page.total == 3
    assert [t.business_key for t in page.items] == ["LIC-1", "LIC-2", "LIC-3"]
    assert inbox(engine, OUTSIDER).total == 0
    assert inbox(engine, CABINET).total == 0


def test_claimed_tasks_leave_the_other_candidates_inbox(engine, three):
    first = inbox(engine, CASE_WORKER).items[0]
    engine.claim(first.id, actor=OTHER_WORKER)
    assert [t.business_key for t in inbox(engine, CASE_WORKER).items] == ["LIC-2", "LIC-3"]
    mine = inbox(engine, OTHER_WORKER, assignee="me")
    assert [t.business_key for t in mine.items] == ["LIC-1"]
    assert inbox(engine, OTHER_WORKER).total == 3


def test_a_direct_assignee_outside_the_groups_sees_the_task(engine, three):
    task = inbox(engine, CASE_WORKER).items[0]
    engine.assign(task.id, "zoe", actor=CASE_WORKER)
    zoe = Actor.of("zoe")
    assert [t.id for t in inbox(engine, zoe).items] == [task.id]


def test_candidate_users_see_their_tasks(engine, three):
    task = inbox(engine, CASE_WORKER).items[0]
    engine.complete_task(task.id, {"decision": "grant"}, actor=CASE_WORKER)
    alice = Actor.of("alice")
    [validate] = inbox(engine, alice).items
    assert validate.element_id == "validate"
    assert [t.element_id for t in inbox(engine, CABINET).items] == ["validate"]


def test_admins_see_everything(engine, three):
    assert inbox(engine, ADMIN).total == 3


@pytest.mark.parametrize(("sort", "expected"), [
    ("due", ["LIC-1", "LIC-2", "LIC-3"]),
    ("-due", ["LIC-3", "LIC-2", "LIC-1"]),
    ("-priority", ["LIC-2", "LIC-1", "LIC-3"]),
    ("created", ["LIC-1", "LIC-2", "LIC-3"]),
])
def test_sorting(engine, three, sort, expected):
    assert [t.business_key for t in inbox(engine, CASE_WORKER, sort=sort).items] == expected


def test_filters(engine, three, clock):
    assert inbox(engine, CASE_WORKER, business_key="LIC-2").total == 1
    assert inbox(engine, CASE_WORKER, instance_id=three[2].id).items[0].business_key == "LIC-3"
    assert inbox(engine, CASE_WORKER, process_key="other").total == 0
    assert inbox(engine, CASE_WORKER, candidate_group="licensing-unit").total == 3
    assert inbox(engine, CASE_WORKER, candidate_group="finance").total == 0
    # due dates are start + 5 days; the clock is now 3 days after the first start
    first_due = three[0].created_at + timedelta(days=5)
    assert inbox(engine, CASE_WORKER, due_before=first_due + timedelta(hours=1)).total == 1
    assert inbox(engine, CASE_WORKER, due_after=first_due).total == 2
    assert inbox(engine, CASE_WORKER, overdue=True).total == 0
    clock.advance(timedelta(days=3, hours=1))
    assert [t.business_key for t in inbox(engine, CASE_WORKER, overdue=True).items] == [
        "LIC-1", "LIC-2"]
    assert inbox(engine, CASE_WORKER, overdue=False).total == 1


def test_unassigned_filter_and_paging(engine, three):
    task = inbox(engine, CASE_WORKER).items[1]
    engine.claim(task.id, actor=CASE_WORKER)
    assert inbox(engine, CASE_WORKER, unassigned=True).total == 2
    assert inbox(engine, CASE_WORKER, unassigned=False).total == 1
    page = inbox(engine, CASE_WORKER, limit=2, offset=2)
    assert (page.total, len(page.items)) == (3, 1)


def test_completed_tasks_are_listed_for_who_completed_them(engine, three):
    task = inbox(engine, CASE_WORKER).items[0]
    engine.complete_task(task.id, {"decision": "refuse"}, actor=CASE_WORKER)
    assert [t.id for t in inbox(engine, CASE_WORKER, state="completed").items] == [task.id]
    assert inbox(engine, OTHER_WORKER, state="completed").total == 0
    assert inbox(engine, ADMIN, state="completed").total == 1


@pytest.mark.parametrize("bad", [{"state": "open"}, {"sort": "name"}, {"limit": 0},
                                 {"limit": 201}, {"offset": -1}])
def test_bad_queries_name_the_field(engine, three, bad):
    with pytest.raises(ValidationFailed) as failure:
        inbox(engine, CASE_WORKER, **bad)
    assert set(failure.value.details) & {"state", "sort", "limit"}


def test_candidate_rows_exist_only_for_ready_tasks(engine, three):
    from sqlalchemy import func, select

    from engine.db.models import TaskCandidate

    def count(session):
        return session.scalar(select(func.count()).select_from(TaskCandidate))

    assert engine.read(count) == 3
    task = inbox(engine, CASE_WORKER).items[0]
    engine.complete_task(task.id, {"decision": "grant"}, actor=CASE_WORKER)
    assert engine.read(count) == 4  # validate: minister-cabinet + alice


@pytest.mark.parametrize("window", [
    {}, {"overdue": True}, {"overdue": False}, {"offset": 3, "limit": 4},
    {"due_before": "mid"}, {"due_after": "mid"}, {"limit": 1},
    {"candidate_group": "licensing-unit"}, {"candidate_group": "finance", "overdue": False},
])
def test_the_indexed_inbox_answers_what_the_general_query_answers(engine, deploy, clock,
                                                                  window):
    """The default inbox reads the candidate index; the general query reads the tasks."""
    deploy("review.bpmn", "scripted.bpmn", "lanes.bpmn")
    for _ in range(3):
        engine.start("lanes", actor=ADMIN)  # licensing-unit tasks without a due date
    for number in range(8):
        engine.start("review", actor=CASE_WORKER, business_key=f"LIC-{number}",
                     data={**APPLICATION, "urgent": number % 2 == 0})
        clock.advance(timedelta(hours=20))
    engine.start("scripted", actor=ADMIN, data={"amount": 1.0})  # finance: not bob's
    tasks = inbox(engine, ADMIN, limit=200).items
    engine.claim(tasks[1].id, actor=CASE_WORKER)
    engine.claim(tasks[2].id, actor=OTHER_WORKER)
    clock.advance(timedelta(days=2))
    middle = tasks[4].due_at
    filters = {k: (middle if v == "mid" else v) for k, v in window.items()}
    worker = Actor.of("bob", "licensing-unit", "finance")
    query = TaskQuery(**filters)
    assert queries.is_indexed(worker, query)
    fast = engine.read(queries.indexed_inbox, worker, query, clock.now())
    general = engine.read(queries.general_tasks, worker, query, clock.now())
    assert [t.id for t in fast.items] == [t.id for t in general.items]
    assert fast.total == general.total
    assert tasks[2].id not in [t.id for t in fast.items]
    if not filters:
        assert fast.total == 11  # 3 lanes + 8 review, less the one carol claimed, + 1 scripted


def test_a_task_offered_to_me_twice_counts_once(engine, three):
    """``validate`` is offered to group minister-cabinet and to user alice: alice in that
    group matches it twice, and still sees one task."""
    task = inbox(engine, CASE_WORKER).items[0]
    engine.complete_task(task.id, {"decision": "grant"}, actor=CASE_WORKER)
    alice = Actor.of("alice", "minister-cabinet")
    page = inbox(engine, alice)
    assert (page.total, [t.element_id for t in page.items]) == (1, ["validate"])
