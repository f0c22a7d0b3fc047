"""Many timers due at once fire exactly once, with one worker in process and with three
``biflow worker`` processes on PostgreSQL sharing them by leases, even when one of them is
killed (kill -9) holding leases: they expire and the others take its timers.

The instances are created by an engine whose clock stands still at the wall-clock moment the
test begins, so that no timer can fall due (and fire inline) while 2,000 instances are being
created; the worker processes, started afterwards, run on the wall clock and find every timer
due at the same moment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from conftest import MODELS, PG_URL, wait_for
from sqlalchemy import func, select
from sqlalchemy.engine import Engine as SqlEngine

from engine import Engine
from engine.clock import ManualClock
from engine.db import Database
from engine.db.models import AuditEvent, Instance, Wait
from engine.identity import SYSTEM

T = TypeVar("T")
BIFLOW = Path(sys.executable).parent / "biflow"
PROCESS = "timer_fanout"
TIMERS = 2_000
WORKERS = 3
LEASE_SECONDS = 3
KILL_AFTER = 300  # timers fired before one worker is killed
WORKER_OPTIONS = ["--poll", "0.2", "--lease", str(LEASE_SECONDS), "--batch", "25"]
CREATING_THREADS = 4  # starting is CPU-bound in Python; threads overlap the round trips


def start_instances(engine: Engine, count: int, fire_at: datetime, threads: int = 1
                    ) -> list[str]:
    """Start ``count`` instances whose timer is due at ``fire_at``; answers their ids."""
    data = {"fire_at": fire_at.isoformat()}

    def start(_: int) -> str:
        return engine.start(PROCESS, actor=SYSTEM, data=data).id
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(start, range(count)))


def fired_count(db: SqlEngine) -> int:
    with db.connect() as connection:
        return connection.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "timer.fired"))


def assert_fired_exactly_once(db: SqlEngine, instance_ids: list[str]) -> None:
    """One ``timer.fired`` event per instance, every instance completed, no timer waiting."""
    with db.connect() as connection:
        fired = dict(connection.execute(
            select(AuditEvent.instance_id, func.count()).where(
                AuditEvent.action == "timer.fired").group_by(AuditEvent.instance_id)).all())
        states = dict(connection.execute(
            select(Instance.state, func.count()).group_by(Instance.state)).all())
        waiting = connection.scalar(select(func.count()).select_from(Wait)
                                    .where(Wait.kind == "timer"))
    assert fired == dict.fromkeys(instance_ids, 1)
    assert states == {"completed": len(instance_ids)}
    assert waiting == 0


def test_one_worker_fires_timers_due_at_once_exactly_once(engine, clock, deploy):
    deploy("timer_fanout.bpmn")
    due = clock.now() + timedelta(minutes=5)
    ids = start_instances(engine, 200, due)
    assert engine.run_due() == 0  # not due yet
    clock.set(due)
    assert engine.run_due() == 200
    assert engine.run_due() == 0
    assert_fired_exactly_once(engine.db.engine, ids)


# -- worker processes on PostgreSQL ------------------------------------------------------

@contextmanager
def worker_processes(url: str, count: int, folder: Path, options: list[str]
                     ) -> Iterator[list[subprocess.Popen]]:
    """``biflow worker OPTIONS`` processes, their output in ``folder/worker-N.log``; always
    ended on exit (bench/timers.py uses it too)."""
    env = {**os.environ, "BIFLOW_DATABASE_URL": url}
    processes: list[subprocess.Popen] = []
    folder.mkdir(parents=True, exist_ok=True)
    try:
        for n in range(count):
            with (folder / f"worker-{n}.log").open("wb") as log:
                processes.append(subprocess.Popen(
                    [str(BIFLOW), "worker", *options], cwd=folder, env=env,
                    stdout=log, stderr=subprocess.STDOUT))
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)  # in case it was left stopped
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def leases_of(db: SqlEngine, pid: int) -> int:
    """Timer waits leased by the worker of process ``pid`` (its ids are host:pid:random)."""
    with db.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Wait).where(
            Wait.kind == "timer", Wait.locked_by.like(f"%:{pid}:%")))


def kill_holding_leases(victim: subprocess.Popen, db: SqlEngine) -> int:
    """Once ``KILL_AFTER`` timers fired, SIGKILL ``victim`` while it holds leases; answers
    how many it left behind. It is stopped (SIGSTOP) first so that its leases can be
    counted without it changing them; at least two, as one commit may still be in flight."""
    def frozen_with_leases() -> int | None:
        assert victim.poll() is None, "the worker to kill has exited by itself"
        if fired_count(db) < KILL_AFTER:
            return None
        victim.send_signal(signal.SIGSTOP)
        os.waitpid(victim.pid, os.WUNTRACED)
        if leases_of(db, victim.pid) >= 2:
            victim.kill()
            victim.wait()
            return leases_of(db, victim.pid)
        victim.send_signal(signal.SIGCONT)
        return None
    return wait_for(frozen_with_leases, f"{KILL_AFTER} fired timers and a worker with leases",
                    interval=0.05)


def all_fired(db: SqlEngine, count: int) -> Callable[[], bool]:
    def done() -> bool:
        with db.connect() as connection:
            waiting = connection.scalar(select(func.count()).select_from(Wait)
                                        .where(Wait.kind == "timer"))
        return waiting == 0 and fired_count(db) >= count
    return done


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (BIFLOW_TEST_DATABASE_URL)")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("kill_one", [False, True], ids=["all-live", "one-killed"])
def test_worker_processes_fire_each_timer_exactly_once(database_url, tmp_path, kill_one):
    now = datetime.now(UTC)
    engine = Engine(Database(database_url), clock=ManualClock(now))
    try:
        engine.deploy_paths([MODELS / "timer_fanout.bpmn"])
        ids = start_instances(engine, TIMERS, now + timedelta(seconds=1), CREATING_THREADS)
        db = engine.db.engine
        assert fired_count(db) == 0
        with worker_processes(database_url, WORKERS, tmp_path, WORKER_OPTIONS) as processes:
            if kill_one:
                assert kill_holding_leases(processes[0], db) >= 1
            wait_for(all_fired(db, TIMERS), f"{TIMERS} fired timers", timeout=120)
            survivors = processes[1:] if kill_one else processes
            for process in survivors:
                process.terminate()
                assert process.wait(timeout=20) == 0
        for log in tmp_path.glob("worker-*.log"):
            assert "Traceback" not in log.read_text(), log.read_text()
        assert_fired_exactly_once(db, ids)
    finally:
        engine.close()
