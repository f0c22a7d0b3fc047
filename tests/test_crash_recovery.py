"""A server killed (kill -9) under load loses nothing it acknowledged and doubles nothing.

``biflow serve`` runs as a real process on PostgreSQL; six threads complete the ``assess``
tasks of 300 ``review`` instances over HTTP while ``notify`` jobs are being created for its
in-process worker. Once 80 completions were acknowledged, the server is killed with SIGKILL
and restarted on the same database and port, and the remaining tasks are completed (a task
whose request was in flight at the kill may answer 409: it was committed, the answer lost).

Then: every acknowledged completion is stored; every task was completed exactly once (one
``task.completed`` event per task); every instance loads and finishes (its ``validate``
task completed). Jobs the killed server had claimed stay leased to it; both servers run
with ``--dev-clock``, so the test moves the clock past their leases (5 minutes) and past the
deadline timers (30 days): every job then runs exactly once (one outbox message each), every
timer fires exactly once, nothing is left waiting or leased, and ``biflow audit verify``
finds the trail intact."""

from __future__ import annotations

import http.client
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
from conftest import MODELS, PG_URL, emptied, free_port, wait_for
from sqlalchemy import func, select

from engine import Actor, Engine
from engine.db import Database
from engine.db.models import AuditEvent, Instance, Job, OutboxMessage, Task, Wait
from engine.identity import SYSTEM

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs BIFLOW_TEST_DATABASE_URL (PostgreSQL)")

T = TypeVar("T")
BIFLOW = Path(sys.executable).parent / "biflow"
INSTANCES = 300
THREADS = 6
KILL_AFTER = 80  # acknowledged completions before the kill
JOB_INSTANCES = 20  # notify_group instances created while the load runs
DEADLINES = 5  # deadline instances: a boundary timer (P30D) waiting throughout
BOB = Actor.of("bob", "licensing-unit")


@pytest.fixture
def pg_url(pg_worker_url) -> str:
    return emptied(pg_worker_url)


def call(base: str, method: str, path: str, token: str, body: dict | None = None
         ) -> tuple[int | None, dict | None]:
    """``(status, JSON body)``; ``(None, None)`` when no answer came (the server died)."""
    request = urllib.request.Request(
        f"{base}{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None
    except (urllib.error.URLError, http.client.HTTPException, OSError):
        return None, None


def healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, http.client.HTTPException, OSError):
        return False


@contextmanager
def server(url: str, port: int, folder: Path, name: str) -> Iterator[subprocess.Popen]:
    """``biflow serve --port PORT`` on ``url``, healthy; always ended on exit."""
    env = {**os.environ, "BIFLOW_DATABASE_URL": url}
    log_path = folder / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([str(BIFLOW), "serve", "--dev-clock", "--port", str(port)],
                                   cwd=folder,
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}/api"
        try:
            wait_for(lambda: healthy(base) or process.poll() is not None,
                     "the server to start", timeout=30)
        except AssertionError:
            pytest.fail(f"the server did not start: {log_path.read_text()}")
        if process.poll() is not None:
            pytest.fail(f"the server exited: {log_path.read_text()}")
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=20)


class Load:
    """Complete tasks from a queue over HTTP in threads, recording each outcome."""

    def __init__(self, base: str, token: str, decisions: dict[str, str]) -> None:
        self.base, self.token, self.decisions = base, token, decisions
        self.todo: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acknowledged: list[str] = []
        self.no_answer: list[str] = []
        self.refused: dict[str, int] = {}

    def drive(self) -> None:
        while not self.stop.is_set():
            try:
                task = self.todo.get_nowait()
            except queue.Empty:
                return
            data = {"decision": self.decisions[task], "comment": "crash test"}
            status, _ = call(self.base, "POST", f"/tasks/{task}/complete", self.token,
                             {"data": data})
            with self.lock:
                if status is not None and 200 <= status < 300:
                    self.acknowledged.append(task)
                elif status is None or status >= 500:
                    self.no_answer.append(task)
                else:
                    self.refused[task] = status

    def run(self, tasks: list[str]) -> list[threading.Thread]:
        for task in tasks:
            self.todo.put(task)
        threads = [threading.Thread(target=self.drive, daemon=True) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        return threads


def leftover(load: Load) -> list[str]:
    found = []
    while True:
        try:
            found.append(load.todo.get_nowait())
        except queue.Empty:
            return found


def test_a_killed_server_keeps_every_acknowledged_completion_exactly_once(pg_url, tmp_path):
    engine = Engine(Database(pg_url))
    db = engine.db.engine
    try:
        engine.deploy_paths([MODELS / n for n in ("review.bpmn", "deadline.bpmn",
                                                  "notify_group.bpmn")])
        bob = engine.add_user("bob", ["licensing-unit"])
        dan = engine.add_user("dan", ["minister-cabinet"])
        ada = engine.add_user("ada", ["admin"])

        def start(n: int) -> str:
            return engine.start("review", actor=BOB, business_key=f"CRASH-{n}",
                                data={"applicant": f"Applicant {n}", "amount": 1000 + n}).id
        with ThreadPoolExecutor(4) as pool:
            review_ids = list(pool.map(start, range(INSTANCES)))
        deadline_ids = [engine.start("deadline", actor=SYSTEM).id for _ in range(DEADLINES)]
        with db.connect() as connection:
            assess = list(connection.scalars(select(Task.id).where(
                Task.element_id == "assess", Task.state == "ready").order_by(Task.id)))
        assert len(assess) == INSTANCES
        decisions = {t: "grant" if n % 2 == 0 else "refuse" for n, t in enumerate(assess)}

        port = free_port()
        base = f"http://127.0.0.1:{port}/api"
        job_ids: list[str] = []

        # -- phase 1: load, then kill -9 -------------------------------------------------
        load = Load(base, bob, decisions)
        with server(pg_url, port, tmp_path, "first") as process:
            threads = load.run(assess)

            def enough() -> bool:
                if len(job_ids) < JOB_INSTANCES:  # jobs for the server's worker meanwhile
                    job_ids.append(engine.start(
                        "notify_group", actor=SYSTEM,
                        data={"applicant": "A", "recipient": "x@example.org"}).id)
                with load.lock:
                    return len(load.acknowledged) >= KILL_AFTER
            wait_for(enough, f"{KILL_AFTER} acknowledged completions", interval=0.02)
            load.stop.set()  # no new requests; those in flight meet the kill
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=20)
            for thread in threads:
                thread.join(timeout=30)
            assert not any(t.is_alive() for t in threads)
        first = list(load.acknowledged)
        in_doubt = list(load.no_answer)
        assert not load.refused, load.refused
        assert len(first) >= KILL_AFTER

        # -- phase 2: restart on the same database and port, finish ------------------------
        rest = leftover(load) + in_doubt
        load2 = Load(base, bob, decisions)
        with server(pg_url, port, tmp_path, "second"):
            for thread in load2.run(rest):
                thread.join(timeout=60)
            assert not load2.no_answer, load2.no_answer
            # a request in flight at the kill may have committed: only those may be refused
            assert set(load2.refused) <= set(in_doubt), load2.refused
            assert set(load2.refused.values()) <= {409}, load2.refused

            with db.connect() as connection:
                validate = list(connection.scalars(select(Task.id).where(
                    Task.element_id == "validate", Task.state == "ready")))
            assert len(validate) == INSTANCES // 2

            def finish(task: str) -> int | None:
                return call(base, "POST", f"/tasks/{task}/complete", dan,
                            {"data": {"validated": True}})[0]

            def load_instance(instance: str) -> int | None:
                return call(base, "GET", f"/process-instances/{instance}", bob)[0]
            with ThreadPoolExecutor(THREADS) as pool:
                assert set(pool.map(finish, validate)) == {200}
                assert set(pool.map(load_instance, review_ids)) == {200}

            with db.connect() as connection:
                stranded = connection.scalar(select(func.count()).select_from(Job).where(
                    Job.state == "pending", Job.locked_by.is_not(None)))

            # -- phase 3: time passes the killed server's leases and the deadlines -------
            status, moved = call(base, "POST", "/dev/clock", ada, {"advance": "P31D"})
            assert status == 200, status

            def jobs_done() -> bool:
                with db.connect() as connection:
                    return not connection.scalar(select(func.count()).select_from(Job).where(
                        Job.state != "done"))
            wait_for(jobs_done, "the stranded jobs to run once their leases expired")

        # -- outcomes --------------------------------------------------------------------
        with db.connect() as connection:
            tasks = connection.execute(select(Task.id, Task.instance_id, Task.element_id,
                                              Task.state).where(
                Task.instance_id.in_(review_ids))).all()
            completed_events = dict(connection.execute(
                select(AuditEvent.task_id, func.count()).where(
                    AuditEvent.action == "task.completed").group_by(AuditEvent.task_id)).all())
            states = dict(connection.execute(select(Instance.id, Instance.state)).all())
            jobs = connection.execute(select(Job.instance_id, Job.state)).all()
            fired = dict(connection.execute(
                select(AuditEvent.instance_id, func.count()).where(
                    AuditEvent.action == "timer.fired").group_by(AuditEvent.instance_id)).all())
            outbox = dict(connection.execute(
                select(OutboxMessage.instance_id, func.count())
                .group_by(OutboxMessage.instance_id)).all())
            waits = connection.execute(select(Wait.instance_id, Wait.kind)).all()

        by_id = {t.id: t for t in tasks}
        lost = [t for t in first if by_id[t].state != "completed"]
        assert not lost, f"acknowledged before the kill but not stored: {lost}"
        assert all(by_id[t].state == "completed" for t in assess)
        assert len(set(first) | set(load2.acknowledged) | set(load2.refused)) == INSTANCES
        # exactly one completion per task, one assess (and one validate when granted) each
        assert {t.id: completed_events.get(t.id) for t in tasks} == dict.fromkeys(by_id, 1)
        assert set(completed_events.values()) == {1}, "a task completed twice"
        per_instance: dict[tuple[str, str], int] = {}
        for t in tasks:
            key = (t.instance_id, t.element_id)
            per_instance[key] = per_instance.get(key, 0) + 1
        assert set(per_instance.values()) == {1}
        assert sum(1 for (_, e) in per_instance if e == "validate") == INSTANCES // 2
        assert {states[i] for i in review_ids} == {"completed"}
        # the deadlines lapsed: each timer fired once, on the moved clock
        assert {states[i] for i in deadline_ids} == {"completed"}
        assert {i: fired.get(i) for i in deadline_ids} == dict.fromkeys(deadline_ids, 1)

        # every job ran exactly once, its instance finished, nothing waits any more
        assert len(jobs) == len(job_ids) == JOB_INSTANCES
        assert {state for _, state in jobs} == {"done"}
        assert {states[i] for i in job_ids} == {"completed"}
        assert outbox == dict.fromkeys(job_ids, 1), "a notification lost or sent twice"
        assert not waits, waits
        assert datetime.fromisoformat(moved["now"]) > datetime.now(UTC)

        print(f"acknowledged before the kill {len(first)}, no answer {len(in_doubt)}, "
              f"refused after the restart {len(load2.refused)}, jobs {len(jobs)} "
              f"({stranded} stranded under the killed server's lease)")
        verify = subprocess.run([str(BIFLOW), "audit", "verify"], capture_output=True,
                                text=True, timeout=60,
                                env={**os.environ, "BIFLOW_DATABASE_URL": pg_url})
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        engine.close()
