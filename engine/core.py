"""The engine's service layer: one method per command, each in one unit of work.

Callers (the CLI, the API, tests) use :class:`Engine` and nothing below it. Commands
return ORM rows detached from their session (read them, do not change them).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select

from engine import queries, users
from engine.calendar.days import LegalCalendar
from engine.calendar.moments import add_duration
from engine.clock import Clock, MovableClock
from engine.db import Database, UnitOfWork
from engine.db.models import Definition, Incident, Instance, Job, Task
from engine.delivery import OutboxDelivery, check_configuration
from engine.deployment.bundle import SpecCache
from engine.deployment.deploy import Deployed, deploy
from engine.devclock import DevClock
from engine.errors import Conflict, Forbidden, NotFound, ValidationFailed
from engine.executor import JobExecutor
from engine.expressions import Sandbox
from engine.expressions.functions import builtin_functions
from engine.expressions.spiff import SandboxedScriptEngine
from engine.identity import SYSTEM, Actor
from engine.runtime import instances, jobs, messages, start_timers, tasks, views
from engine.runtime.context import WORK_DUE, Context, Services
from engine.runtime.state import WorkflowState
from engine.worker import Worker
from handlers import HandlerResult, Registry, default_registry

T = TypeVar("T")
log = logging.getLogger(__name__)
DEFAULT_DATABASE_URL = "sqlite:///var/biflow.db"
DEFAULT_SENDER = "biflow@localhost"
MODEL_SUFFIXES = (".bpmn", ".dmn")


def database_url() -> str:
    return os.environ.get("BIFLOW_DATABASE_URL", DEFAULT_DATABASE_URL)


class Engine:
    def __init__(self, db: Database, *, clock: Clock | None = None,
                 handlers: Registry | None = None, job_max_attempts: int = 3,
                 job_backoff_seconds: float = 10.0, calendar: LegalCalendar | None = None,
                 smtp_url: str | None = None, smtp_sender: str = DEFAULT_SENDER) -> None:
        check_configuration(smtp_url, smtp_sender)
        self.db = db
        self.clock = clock or Clock()
        self.calendar = calendar or LegalCalendar()
        #: where ``notify`` e-mail goes (``smtp://host:port``); None: only recorded
        self.smtp_url = smtp_url
        self.smtp_sender = smtp_sender
        #: set by a running :class:`Worker` of this process: call it to wake it up
        self._wake: Callable[[], None] | None = None
        sandbox = Sandbox(builtin_functions(self.clock, self.calendar))
        self.services = Services(
            sandbox=sandbox, script_engine=SandboxedScriptEngine(sandbox, self.clock),
            specs=SpecCache(),
            state=WorkflowState(), handlers=handlers or default_registry(),
            job_max_attempts=job_max_attempts, job_backoff_seconds=job_backoff_seconds,
            delivers_email=smtp_url is not None,
        )

    @classmethod
    def from_url(cls, url: str | None = None, *, upgrade: bool = True, dev_clock: bool = False,
                 **options: Any) -> Engine:
        """An engine configured from the environment; ``dev_clock``: on a :class:`DevClock`
        that every process of the database shares and admins may move."""
        db = Database(url or database_url())
        if upgrade:
            db.upgrade()
        if dev_clock:
            options.setdefault("clock", DevClock(db))
        options.setdefault("calendar", LegalCalendar.from_environment())
        options.setdefault("smtp_url", os.environ.get("BIFLOW_SMTP_URL") or None)
        options.setdefault("smtp_sender", os.environ.get("BIFLOW_SMTP_FROM") or DEFAULT_SENDER)
        return cls(db, **options)

    # -- plumbing ------------------------------------------------------------------------

    def _command(self, actor: Actor, action: Callable[[Context], T]) -> T:
        with UnitOfWork(self.db) as uow:
            result = action(Context(uow.session, self.clock.now(), actor, self.services))
            jobs_due = uow.session.info.get(WORK_DUE, False)
        if jobs_due:
            self.wake_executor()
        return result

    def wake_executor(self) -> None:
        """Tell an in-process background executor that there may be work."""
        wake = self._wake
        if wake is not None:
            wake()

    def _read(self, action: Callable[[Context], T], actor: Actor = SYSTEM) -> T:
        with UnitOfWork(self.db, read_only=True) as uow:
            return action(Context(uow.session, self.clock.now(), actor, self.services))

    # -- deployment ----------------------------------------------------------------------

    def deploy(self, sources: Iterable[tuple[str, bytes]], actor: Actor = SYSTEM
               ) -> list[Deployed]:
        """Deploy ``(file name, content)`` pairs; raises DeploymentFailed with every problem."""
        sources = list(sources)

        def deploy_and_schedule(ctx: Context) -> list[Deployed]:
            deployed = deploy(ctx.session, sources, actor=actor.user_id, now=ctx.now,
                              functions=self.services.sandbox.function_names)
            for each in deployed:
                if each.kind == "bpmn" and not each.unchanged:
                    start_timers.schedule(ctx, ctx.session.get(Definition, each.definition_id))
            return deployed
        return self._command(actor, deploy_and_schedule)

    def deploy_paths(self, paths: Sequence[str | Path], actor: Actor = SYSTEM) -> list[Deployed]:
        """Deploy files, and every ``.bpmn``/``.dmn`` below the directories given (except in
        ``tests/`` folders inside them, where scenario tests keep their fixtures)."""
        return self.deploy(((p.name, p.read_bytes()) for p in model_files(paths)), actor)

    def definition(self, key: str, version: int | None = None) -> Definition:
        def find(ctx: Context) -> Definition:
            query = select(Definition).where(Definition.kind == "bpmn", Definition.key == key)
            query = (query.where(Definition.version == version) if version is not None
                     else query.order_by(Definition.version.desc()).limit(1))
            found = ctx.session.scalars(query).first()
            if found is None:
                raise NotFound(f"no process '{key}'" + (f" version {version}" if version else ""))
            return found
        return self._read(find)

    # -- instances and tasks -------------------------------------------------------------

    def start(self, process_key: str, *, actor: Actor, business_key: str | None = None,
              data: dict[str, Any] | None = None) -> Instance:
        return self._command(actor, lambda ctx: instances.start(ctx, process_key, business_key,
                                                                data))

    def start_and_show(self, process_key: str, *, actor: Actor, business_key: str | None = None,
                       data: dict[str, Any] | None = None) -> views.Progress:
        """:meth:`start`, answering the instance and its ready tasks from the same
        transaction (what the API returns, without reading twice)."""
        return self._command(actor, lambda ctx: views.progress(
            ctx, instances.start(ctx, process_key, business_key, data)))

    def complete_and_show(self, task_id: str, data: dict[str, Any] | None = None, *,
                          actor: Actor) -> views.Progress:
        """:meth:`complete_task`, answering the instance and its new ready tasks."""
        def complete(ctx: Context) -> views.Progress:
            task = tasks.complete(ctx, task_id, data)
            return views.progress(ctx, ctx.session.get(Instance, task.instance_id))
        return self._command(actor, complete)

    def cancel(self, instance_id: str, reason: str, *, actor: Actor) -> Instance:
        return self._command(actor, lambda ctx: instances.cancel(ctx, instance_id, reason))

    def complete_task(self, task_id: str, data: dict[str, Any] | None = None, *,
                      actor: Actor) -> Task:
        return self._command(actor, lambda ctx: tasks.complete(ctx, task_id, data))

    def claim(self, task_id: str, *, actor: Actor) -> Task:
        return self._command(actor, lambda ctx: tasks.claim(ctx, task_id))

    def unclaim(self, task_id: str, *, actor: Actor) -> Task:
        return self._command(actor, lambda ctx: tasks.unclaim(ctx, task_id))

    def assign(self, task_id: str, user_id: str, *, actor: Actor) -> Task:
        return self._command(actor, lambda ctx: tasks.assign(ctx, task_id, user_id))

    def correlate(self, name: str, *, actor: Actor, instance_id: str | None = None,
                  business_key: str | None = None, data: dict[str, Any] | None = None
                  ) -> list[Instance]:
        return self._command(actor, lambda ctx: messages.correlate(
            ctx, name, instance_id, business_key, data))

    # -- jobs ----------------------------------------------------------------------------

    def executor(self, worker_id: str | None = None) -> JobExecutor:
        return JobExecutor(self, worker_id)

    def worker(self, worker_id: str | None = None, **options: Any) -> Worker:
        return Worker(self, worker_id, **options)

    def run_in_background(self, poll_seconds: float = 1.0, **options: Any
                          ) -> Callable[[], None]:
        """Run a :class:`Worker` (timers, jobs, e-mail) in this process, on a background
        scheduler: woken after every command that made work due, at the nearest due time
        and every ``poll_seconds``. Returns a function that stops it."""
        return self.worker(**options).start(poll_seconds)

    def run_due(self) -> int:
        """Fire due timers, run due jobs and deliver e-mail in this process until nothing
        is due; return how many items were done (what tests and the dev clock call)."""
        return self.worker().run_until_idle()

    def deliver_notifications(self, max_messages: int | None = None,
                              worker_id: str | None = None) -> int:
        """Send due outbox e-mail over SMTP (when configured); return how many were sent."""
        return OutboxDelivery(self, worker_id).run_due(max_messages)

    def run_jobs(self, max_jobs: int | None = None) -> int:
        """Run due jobs in this process until none is due; return how many ran."""
        return self.executor().run_due(max_jobs)

    def complete_external_job(self, job_id: int, output: dict[str, Any] | None = None, *,
                              actor: Actor) -> Job:
        return self._command(actor, lambda ctx: jobs.succeed(
            ctx, job_id, None, HandlerResult(output=output or {})))

    def retry_incident(self, incident_id: int, *, actor: Actor) -> Incident:
        return self._command(actor, lambda ctx: jobs.retry_incident(ctx, incident_id))

    # -- the clock -----------------------------------------------------------------------

    def move_clock(self, *, actor: Actor, advance: str | None = None,
                   to: datetime | None = None) -> datetime:
        """Move a movable clock forward (``advance``: an ISO 8601 duration, or ``to``), then
        fire what fell due; answers the new now. Admins only."""
        if not actor.is_admin:
            raise Forbidden("only an admin may move the clock")
        if not isinstance(self.clock, MovableClock):
            raise Conflict("this engine runs on the wall clock (start it with --dev-clock)")
        if (advance is None) == (to is None):
            raise ValidationFailed("give either advance or to", details={
                "advance": ["give either advance (a duration such as P3D) or to"]})
        try:
            target = add_duration(self.clock.now(), advance) if advance else to
        except ValueError as exc:
            raise ValidationFailed("invalid duration", details={"advance": [str(exc)]}) from None
        if target.tzinfo is None:
            raise ValidationFailed("invalid moment", details={"to": ["give a time zone"]})
        try:
            self.clock.set(target)
        except ValueError as exc:
            raise ValidationFailed("the clock only moves forward",
                                   details={"advance" if advance else "to": [str(exc)]}) from None
        self.run_due()
        return self.clock.now()

    # -- users ---------------------------------------------------------------------------

    def add_user(self, name: str, groups: Sequence[str], *, display_name: str | None = None,
                 email: str | None = None) -> str:
        """Create a user and return a first API token (shown once)."""
        def create(ctx: Context) -> str:
            users.add_user(ctx.session, name, groups, now=ctx.now, display_name=display_name,
                           email=email)
            ctx.session.flush()
            return users.issue_token(ctx.session, name, now=ctx.now)
        return self._command(SYSTEM, create)

    def issue_token(self, name: str) -> str:
        return self._command(SYSTEM, lambda ctx: users.issue_token(ctx.session, name,
                                                                   now=ctx.now))

    def revoke_tokens(self, name: str) -> int:
        return self._command(SYSTEM, lambda ctx: users.revoke_tokens(ctx.session, name,
                                                                     now=ctx.now))

    def authenticate(self, token: str) -> Actor | None:
        return self._read(lambda ctx: users.authenticate(ctx.session, token))

    # -- reads ---------------------------------------------------------------------------

    def read(self, query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a function of :mod:`engine.queries` in a read-only session."""
        return self._read(lambda ctx: query(ctx.session, *args, **kwargs))

    def definition_detail(self, key: str) -> views.DefinitionDetail:
        return self._read(lambda ctx: views.definition_detail(ctx, key))

    def groups_in_use(self) -> set[str]:
        return self._read(views.groups_in_use)

    def ping(self) -> str:
        """``"ok"`` when the database answers a query; raises otherwise."""
        with self.db.read_engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return "ok"

    def task_detail(self, task_id: str, *, actor: Actor) -> views.TaskDetail:
        return self._read(lambda ctx: views.task_detail(ctx, task_id), actor)

    def instance_detail(self, instance_id: str, *, actor: Actor) -> views.InstanceDetail:
        return self._read(lambda ctx: views.instance_detail(ctx, instance_id), actor)

    def instance_events(self, instance_id: str, *, actor: Actor) -> list:
        def events(ctx: Context) -> list:
            views.visible_instance(ctx, instance_id)
            return queries.events(ctx.session, instance_id)
        return self._read(events, actor)

    def comments(self, task_id: str, *, actor: Actor) -> list:
        return self._read(lambda ctx: views.comments(ctx, task_id), actor)

    def add_comment(self, task_id: str, message: str, *, actor: Actor):
        return self._command(actor, lambda ctx: views.add_comment(ctx, task_id, message))

    def instance(self, instance_id: str) -> Instance:
        return self._read(lambda ctx: instances.get(ctx, instance_id))

    def task(self, task_id: str) -> Task:
        return self._read(lambda ctx: tasks.get(ctx, task_id))

    def close(self) -> None:
        self.db.dispose()

    def verify_audit(self) -> tuple[list, int, int]:
        """``(findings, events, chains)`` of :func:`engine.audit.report`, in one read."""
        from engine import audit  # local: this method is the engine's only use of it

        return self.read(audit.report)


def model_files(paths: Sequence[str | Path]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in MODEL_SUFFIXES
                            and "tests" not in p.relative_to(path).parts[:-1])
        elif path.exists():
            found.append(path)
        else:
            raise NotFound(f"no such file or directory: {path}")
    return found
