"""The worker: everything that happens without a request.

One pass fires due timer start events, due timers and due jobs, then delivers pending
e-mail, and repeats while something was due (a fired timer may make a job due at once).
``Worker.start`` runs passes on an APScheduler background scheduler: every
``poll_seconds`` (a cheap indexed query notices work created by other processes) and,
between polls, exactly at the nearest due time it knows of, or at once when a command of
this process made work due.

Each item is claimed with a lease (:mod:`engine.runtime.leases`) and done in its own
transaction, so any number of workers on PostgreSQL share the work, each item once; on
SQLite the writer lock serialises them (run one worker there).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import func, select

from engine.db.models import Job, OutboxMessage, StartTimer, Wait
from engine.errors import Conflict, NotFound, ProcessError, ValidationFailed
from engine.executor import JobExecutor
from engine.identity import SYSTEM
from engine.runtime import leases, start_timers, timers
from engine.runtime.context import Context

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

    from engine.core import Engine

log = logging.getLogger(__name__)


class _SkippedPasses(logging.Filter):
    """A pass longer than the poll interval makes APScheduler skip the next ones (by design:
    one pass at a time) and warn at every poll; that is no news, so it is not logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


logging.getLogger("apscheduler.scheduler").addFilter(_SkippedPasses())
T = TypeVar("T")
PASS_JOB = "biflow-pass"


class Worker:
    def __init__(self, engine: Engine, worker_id: str | None = None, *, batch: int = 50,
                 lease: timedelta = timedelta(minutes=5), conflict_retries: int = 3) -> None:
        self.engine = engine
        self.worker_id = worker_id or leases.new_worker_id()
        self.batch = batch
        self.lease = lease
        self.conflict_retries = conflict_retries
        self.jobs = JobExecutor(engine, self.worker_id, batch=batch, lease=lease)
        self._scheduler: BackgroundScheduler | None = None

    # -- one pass ------------------------------------------------------------------------

    def run_until_idle(self, max_rounds: int = 1000) -> int:
        """Passes until nothing is due; answers how many items were done."""
        total = 0
        for _ in range(max_rounds):
            done = self.run_pass()
            total += done
            if not done:
                break
        return total

    def run_pass(self) -> int:
        done = self._drain(start_timers.claim_due, self._fire_start_timer)
        done += self._drain(timers.claim_due, self._fire_timer)
        done += self.jobs.run_due()
        done += self.engine.deliver_notifications(worker_id=self.worker_id)
        return done

    def _drain(self, claim: Callable[..., list[int]], fire: Callable[[int], bool]) -> int:
        done = 0
        while True:
            claimed = self.engine._command(SYSTEM, lambda ctx: claim(
                ctx, self.worker_id, self.batch, self.lease))
            if not claimed:
                return done
            done += sum(1 for item in claimed if fire(item))

    def _fire_timer(self, wait_id: int) -> bool:
        return self._fire(wait_id, Wait, lambda ctx: timers.fire(ctx, wait_id, self.worker_id),
                          lambda ctx, error: timers.fail(ctx, wait_id, self.worker_id, error))

    def _fire_start_timer(self, timer_id: int) -> bool:
        def fail(ctx: Context, error: str) -> None:
            log.error("timer start event %s failed: %s", timer_id, error)
            _release(ctx, StartTimer, timer_id, self.worker_id, ctx.now + self.lease)
        return self._fire(timer_id, StartTimer, lambda ctx: start_timers.fire(
            ctx, timer_id, self.worker_id) is not None, fail)

    def _fire(self, item: int, model, action: Callable[[Context], bool],
              fail: Callable[[Context, str], None]) -> bool:
        """Run ``action`` in a command, retrying when the instance changed meanwhile."""
        for _ in range(self.conflict_retries):
            try:
                return self.engine._command(SYSTEM, action)
            except Conflict:
                continue
            except (ProcessError, ValidationFailed, NotFound) as exc:
                log.warning("%s %s failed: %s", model.__tablename__, item, exc.message)
                self.engine._command(SYSTEM, lambda ctx, e=exc: fail(ctx, e.message))
                return False
        self.engine._command(SYSTEM, lambda ctx: _release(ctx, model, item, self.worker_id,
                                                          ctx.now))
        return False

    def next_due(self) -> datetime | None:
        """The earliest due time of unleased timers, start timers and pending jobs."""
        def earliest(ctx: Context) -> datetime | None:
            moments = [
                ctx.session.scalar(select(func.min(Wait.due_at)).where(
                    Wait.kind == "timer", leases.unleased(Wait, ctx.now))),
                ctx.session.scalar(select(func.min(StartTimer.due_at)).where(
                    leases.unleased(StartTimer, ctx.now))),
                ctx.session.scalar(select(func.min(Job.due_at)).where(
                    Job.state == "pending", leases.unleased(Job, ctx.now))),
            ]
            if self.engine.smtp_url:
                moments.append(ctx.session.scalar(
                    select(func.min(func.coalesce(OutboxMessage.deliver_after,
                                                  OutboxMessage.created_at)))
                    .where(OutboxMessage.status == "pending",
                           leases.unleased(OutboxMessage, ctx.now))))
            found = [m for m in moments if m is not None]
            return min(found) if found else None
        return self.engine._read(earliest)

    # -- in the background ---------------------------------------------------------------

    def start(self, poll_seconds: float = 1.0) -> Callable[[], None]:
        """Run passes in the background; answers a function that stops them."""
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(1)}, timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        scheduler.add_job(self._background_pass, "interval", seconds=poll_seconds,
                          id=PASS_JOB, next_run_time=datetime.now(UTC),
                          kwargs={"poll": timedelta(seconds=poll_seconds)})
        self._scheduler = scheduler
        self.engine._wake = self.wake
        scheduler.start()

        def halt() -> None:
            """Stop, after a last pass for what commands made due meanwhile."""
            self.engine._wake = None
            self._scheduler = None
            scheduler.shutdown(wait=True)
            try:
                self.run_until_idle()
            except Exception:  # stopping anyway; the failure is logged
                log.exception("last worker pass failed")
        return halt

    def wake(self, at: datetime | None = None) -> None:
        """Run a pass now, or at engine-clock moment ``at``."""
        scheduler = self._scheduler
        if scheduler is None:
            return
        when = datetime.now(UTC)
        if at is not None:
            when += max(at - self.engine.clock.now(), timedelta(0))
        with contextlib.suppress(LookupError):  # shutting down
            scheduler.modify_job(PASS_JOB, next_run_time=when)

    def _background_pass(self, poll: timedelta) -> None:
        """Claims (write transactions) only when a read says something is due: an idle
        worker costs a few indexed reads per poll."""
        try:
            due = self.next_due()
            if due is not None and due <= self.engine.clock.now():
                self.run_until_idle()
                due = self.next_due()
        except Exception:  # keep the scheduler alive; the failure is logged
            log.exception("worker pass failed")
            return
        if due is not None and due - self.engine.clock.now() < poll:
            self.wake(due)


def _release(ctx: Context, model, item: int, worker: str, until: datetime) -> None:
    """Give a claimed row back (now, or after ``until`` for one that keeps failing)."""
    row = ctx.session.get(model, item)
    if row is not None and row.locked_by == worker:
        row.locked_by = None
        row.lock_expires_at = until
