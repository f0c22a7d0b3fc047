"""Concurrent commands on one instance never both win: the losers get a Conflict."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from conftest import CASE_WORKER

from engine import Actor, queries
from engine.errors import Conflict

THREADS = 20


def race(function, count: int = THREADS) -> Counter:
    """Run ``function(i)`` in ``count`` threads released at once; count the outcomes."""
    barrier = threading.Barrier(count)
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def worker(index: int) -> None:
        barrier.wait()
        try:
            function(index)
            outcome = "won"
        except Conflict:
            outcome = "conflict"
        except Exception as exc:  # anything else is a bug the test must show
            outcome = f"{type(exc).__name__}: {exc}"
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


@pytest.fixture
def task(engine, deploy):
    deploy("review.bpmn")
    instance = engine.start("review", actor=CASE_WORKER, data={"applicant": "A", "amount": 1.0})
    [row] = engine.read(queries.ready_tasks_of, instance.id)
    return row


def test_twenty_threads_complete_the_same_task_and_exactly_one_wins(engine, task):
    version = engine.instance(task.instance_id).version
    outcomes = race(lambda i: engine.complete_task(task.id, {"decision": "grant"},
                                                   actor=CASE_WORKER))
    assert outcomes == Counter({"won": 1, "conflict": THREADS - 1})
    events = [e.action for e in engine.read(queries.events, task.instance_id)]
    assert events.count("task.completed") == 1
    [validate] = engine.read(queries.ready_tasks_of, task.instance_id)
    assert validate.element_id == "validate"
    assert engine.instance(task.instance_id).version == version + 1


def test_twenty_users_claim_the_same_task_and_exactly_one_wins(engine, task):
    users = [Actor.of(f"user{i}", "licensing-unit") for i in range(THREADS)]
    outcomes = race(lambda i: engine.claim(task.id, actor=users[i]))
    assert outcomes == Counter({"won": 1, "conflict": THREADS - 1})
    assignee = engine.task(task.id).assignee
    claims = [e for e in engine.read(queries.events, task.instance_id)
              if e.action == "task.claimed"]
    assert [e.actor for e in claims] == [assignee]
