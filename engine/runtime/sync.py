"""Keeping the inbox, the jobs and the waits in step with a workflow, in the same transaction.

After every command the workflow says which user tasks are ready, which service tasks wait
for a handler and which events it waits for; the rows of the instance are made to match.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select, update
from sqlalchemy.orm.util import identity_key

from engine.calendar.moments import to_moment
from engine.db.models import FAR_FUTURE, Instance, Job, Task, TaskCandidate, Wait
from engine.deployment.bundle import SpecBundle
from engine.dialect.specs import ExternalServiceTask, UserTask
from engine.errors import ProcessError
from engine.expressions import ExpressionError
from engine.runtime.context import WORK_DUE, Context
from engine.runtime.fired import timer_definitions

DEFAULT_PRIORITY = 50


def synchronise(ctx: Context, row: Instance, workflow: BpmnWorkflow, bundle: SpecBundle,
                open_before: frozenset[str]) -> None:
    """``open_before``: the user tasks that were ready (and so had open rows) before.

    Runs without autoflush so that the instance row is written once, at commit.
    """
    if workflow.is_completed() and row.state == "running":
        row.state = "completed"
        row.ended_at = ctx.now
    with ctx.session.no_autoflush:
        _synchronise(ctx, row, workflow, bundle, open_before)


def _synchronise(ctx: Context, row: Instance, workflow: BpmnWorkflow, bundle: SpecBundle,
                 open_before: frozenset[str]) -> None:
    ready_user: dict[str, Any] = {}
    ready_service: dict[str, Any] = {}
    for task in workflow.get_tasks(state=TaskState.READY):
        if isinstance(task.task_spec, UserTask):
            ready_user[str(task.id)] = task
        elif isinstance(task.task_spec, ExternalServiceTask):
            ready_service[str(task.id)] = task
    _sync_inbox(ctx, row, workflow, open_before, ready_user)
    if bundle.has_service_tasks:
        _sync_jobs(ctx, row, ready_service)
    if bundle.has_waits:
        _sync_waits(ctx, row, workflow)


def _sync_inbox(ctx: Context, row: Instance, workflow: BpmnWorkflow,
                open_before: frozenset[str], ready: dict[str, Any]) -> None:
    """Close the rows of tasks no longer ready, open rows for newly ready ones.

    Rows already in the session (the task the command acted on) are changed through the
    ORM, under their version check; others are closed with one UPDATE per end state.
    """
    session = ctx.session
    closed = sorted(open_before.difference(ready))
    unloaded: dict[str, list[str]] = {"completed": [], "cancelled": []}
    for task_id in closed:
        spiff_task = workflow.get_task_from_id(UUID(task_id))
        done = spiff_task is not None and spiff_task.state == TaskState.COMPLETED
        state = "completed" if done else "cancelled"
        task_row = session.identity_map.get(identity_key(Task, task_id))
        if task_row is None:
            unloaded[state].append(task_id)
        else:
            task_row.state = state
            task_row.ended_at = ctx.now
    for state, ids in unloaded.items():
        if ids:
            session.execute(
                update(Task).where(Task.id.in_(ids), Task.state == "ready")
                .values(state=state, ended_at=ctx.now, version=Task.version + 1)
                .execution_options(synchronize_session=False))
    if closed:
        session.execute(delete(TaskCandidate).where(TaskCandidate.task_id.in_(closed))
                        .execution_options(synchronize_session=False))
    for task_id, task in ready.items():
        if task_id not in open_before:
            _open_task(ctx, row, task)


def _open_task(ctx: Context, row: Instance, task) -> None:
    spec: UserTask = task.task_spec
    rule = spec.assignment
    assignee = _evaluated(ctx, task, rule.assignee) if rule.assignee else None
    due = _moment(ctx, task, rule.due_date, "camunda:dueDate")
    follow_up = _moment(ctx, task, rule.follow_up_date, "camunda:followUpDate")
    priority = DEFAULT_PRIORITY
    if rule.priority:
        value = _evaluated(ctx, task, rule.priority)
        try:
            priority = int(value)
        except (TypeError, ValueError):
            raise _error(task, f"camunda:priority gave {value!r}, not a whole number") from None
    task_id = str(task.id)
    ctx.session.add(Task(
        id=task_id, instance_id=row.id, element_id=spec.bpmn_id, name=spec.bpmn_name,
        process_key=row.process_key, process_version=row.process_version,
        business_key=row.business_key, candidate_groups=list(rule.candidate_groups),
        candidate_users=list(rule.candidate_users), assignee=str(assignee) if assignee else None,
        due_at=due, follow_up_at=follow_up, priority=priority, state="ready",
        created_at=ctx.now, four_eyes_with=list(spec.four_eyes_with) or None,
    ))
    candidates = {f"group:{g}" for g in rule.candidate_groups}
    candidates |= {f"user:{u}" for u in rule.candidate_users}
    ctx.session.add_all(TaskCandidate(task_id=task_id, candidate=c, unassigned=not assignee,
                                      due_key=due or FAR_FUTURE, multi=len(candidates) > 1)
                        for c in sorted(candidates))


def _evaluated(ctx: Context, task, text: str) -> Any:
    if "${" not in text and "#{" not in text:
        return text
    try:
        return ctx.services.sandbox.evaluate(text, task.data)
    except ExpressionError as exc:
        raise _error(task, f"'{text}': {exc.message}") from None


def _moment(ctx: Context, task, text: str | None, what: str) -> datetime | None:
    if not text:
        return None
    try:
        value = ctx.services.sandbox.evaluate(text, task.data)
    except ExpressionError as exc:
        raise _error(task, f"{what} '{text}': {exc.message}") from None
    try:
        return to_moment(value, ctx.now)
    except ValueError as exc:
        raise _error(task, f"{what} gave {value!r}: {exc}") from None


def _error(task, message: str) -> ProcessError:
    spec = task.task_spec
    return ProcessError(f"the model failed at '{spec.bpmn_id}': {message}",
                        details={"element_id": spec.bpmn_id, "element_name": spec.bpmn_name,
                                 "reason": message})


def _sync_jobs(ctx: Context, row: Instance, ready: dict[str, Any]) -> None:
    session = ctx.session
    open_jobs = {j.task_id: j for j in session.scalars(
        select(Job).where(Job.instance_id == row.id, Job.state.in_(("pending", "external"))))}
    for task_id, job in open_jobs.items():
        if task_id not in ready:
            job.state = "cancelled"
            job.updated_at = ctx.now
    for task_id, task in ready.items():
        if task_id in open_jobs:
            continue
        topic = task.task_spec.topic
        if topic in ctx.services.handlers:
            session.info[WORK_DUE] = True
        session.add(Job(
            instance_id=row.id, task_id=task_id, element_id=task.task_spec.bpmn_id, topic=topic,
            state="pending" if topic in ctx.services.handlers else "external",
            attempts=0, max_attempts=ctx.services.job_max_attempts, due_at=ctx.now,
            created_at=ctx.now, updated_at=ctx.now,
        ))


def _sync_waits(ctx: Context, row: Instance, workflow: BpmnWorkflow) -> None:
    wanted: dict[tuple[str, str, str | None], datetime | None] = {}
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if definition is None:
            continue
        definitions = (definition.event_definitions
                       if isinstance(definition, MultipleEventDefinition) else [definition])
        for each in definitions:
            if isinstance(each, MessageEventDefinition):
                wanted[(str(task.id), "message", each.name)] = None
        for each in timer_definitions(task.task_spec):
            due = _timer_due(each, task)
            if due is not None:
                key = (str(task.id), "timer", None)
                wanted[key] = min(due, wanted.get(key) or due)  # gateways: the earliest
    existing = list(ctx.session.scalars(select(Wait).where(Wait.instance_id == row.id)))
    for wait in existing:
        key = (wait.task_id, wait.kind, wait.message_name)
        if key in wanted and wanted[key] == wait.due_at:
            del wanted[key]
        else:
            ctx.session.delete(wait)
    for (task_id, kind, message_name), due in wanted.items():
        if kind == "timer":
            ctx.session.info[WORK_DUE] = True
        task = workflow.get_task_from_id(UUID(task_id))
        ctx.session.add(Wait(instance_id=row.id, task_id=task_id,
                             element_id=task.task_spec.bpmn_id, kind=kind,
                             message_name=message_name, due_at=due))


def _timer_due(definition, task) -> datetime | None:
    value = definition.details(task).value
    if isinstance(value, dict):
        value = value.get("next")
    if not value:
        return None
    return datetime.fromisoformat(str(value))
