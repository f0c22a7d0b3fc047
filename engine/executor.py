"""The job executor: runs due service-task jobs with their handlers, in this process."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from engine.data import check_user_data
from engine.errors import Conflict, NotFound, ProcessError, ValidationFailed
from engine.identity import SYSTEM
from engine.runtime import jobs, leases
from handlers import as_result

if TYPE_CHECKING:
    from engine.core import Engine

log = logging.getLogger(__name__)


class JobExecutor:
    """Claims due jobs in batches (leased), runs each handler, applies its result.

    A handler's exception is a failed attempt (retried with exponential backoff, then an
    incident). A model failure while applying the result opens an incident at once.
    """

    def __init__(self, engine: Engine, worker_id: str | None = None, batch: int = 20,
                 lease: timedelta = timedelta(minutes=5), finish_retries: int = 3) -> None:
        self.engine = engine
        self.worker_id = worker_id or leases.new_worker_id()
        self.batch = batch
        self.lease = lease
        self.finish_retries = finish_retries

    def run_due(self, max_jobs: int | None = None) -> int:
        done = 0
        while max_jobs is None or done < max_jobs:
            limit = self.batch if max_jobs is None else min(self.batch, max_jobs - done)
            claimed = self.engine._command(SYSTEM, lambda ctx, n=limit: jobs.claim_due(
                ctx, self.worker_id, n, self.lease))
            if not claimed:
                break
            for job_id in claimed:
                self.run_one(job_id)
                done += 1
        return done

    def run_one(self, job_id: int) -> None:
        services = self.engine.services
        try:
            context = self.engine._read(lambda ctx: jobs.handler_context(ctx, job_id))
            handler = services.handlers.get(context.topic)
            if handler is None:
                raise LookupError(f"no handler for topic '{context.topic}'")
            result = as_result(handler(context))
            check_user_data(result.output)
        except Exception as exc:  # a handler may fail in any way: that is an attempt
            log.warning("job %s failed: %s", job_id, exc)
            self._fail(job_id, f"{type(exc).__name__}: {exc}")
            return
        for attempt in range(self.finish_retries):
            try:
                self.engine._command(SYSTEM, lambda ctx: jobs.succeed(
                    ctx, job_id, self.worker_id, result))
                return
            except (ProcessError, ValidationFailed, NotFound) as exc:
                self._fail(job_id, exc.message, final=True)
                return
            except Conflict:
                if attempt == self.finish_retries - 1:
                    log.warning("job %s: instance kept changing; its lease will expire", job_id)

    def _fail(self, job_id: int, error: str, final: bool = False) -> None:
        backoff = self.engine.services.job_backoff_seconds
        self.engine._command(SYSTEM, lambda ctx: jobs.fail(
            ctx, job_id, self.worker_id, error, backoff_seconds=backoff, final=final))
