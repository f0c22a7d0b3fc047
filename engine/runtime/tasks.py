"""User-task commands: complete, claim, unclaim, assign."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update

from engine import audit, authz
from engine.data import check_user_data
from engine.db.models import Instance, Task, TaskCandidate
from engine.errors import Conflict, Forbidden, NotFound, ValidationFailed
from engine.runtime.context import Context
from engine.runtime.loaded import load_row, run, save


def get(ctx: Context, task_id: str) -> Task:
    row = ctx.session.get(Task, task_id)
    if row is None:
        raise NotFound(f"no task with id '{task_id}'")
    return row


def get_with_instance(ctx: Context, task_id: str) -> tuple[Task, Instance]:
    """The task row and its instance row, in one query."""
    found = ctx.session.execute(
        select(Task, Instance).join(Instance, Instance.id == Task.instance_id)
        .where(Task.id == task_id)).first()
    if found is None:
        raise NotFound(f"no task with id '{task_id}'")
    return found[0], found[1]


def complete(ctx: Context, task_id: str, data: dict[str, Any] | None) -> Task:
    row, instance = get_with_instance(ctx, task_id)
    authz.require_may_work_on(ctx.actor, row)
    authz.require_ready(row)
    authz.require_free_or_mine(ctx.actor, row)
    authz.require_four_eyes(ctx.session, row, ctx.actor.user_id, actor=ctx.actor)
    check_user_data(data or {})
    loaded = load_row(ctx, instance)
    spiff_task = loaded.workflow.get_task_from_id(UUID(task_id))
    if spiff_task is None or spiff_task.state != TaskState.READY:
        raise Conflict("the task is no longer ready")
    clean = loaded.bundle.form_of(spiff_task.task_spec).validate(data)

    def step(workflow) -> None:
        spiff_task.set_data(**clean)
        loaded.run_task(spiff_task)

    run(loaded, step)
    row.completed_by = ctx.actor.user_id
    audit.record(ctx.session, now=ctx.now, actor=ctx.actor.user_id, action="task.completed",
                 instance=instance, task_id=row.id, element_id=row.element_id,
                 data={"data": clean})
    save(ctx, loaded)
    return row


def claim(ctx: Context, task_id: str) -> Task:
    row, instance = get_with_instance(ctx, task_id)
    authz.require_may_work_on(ctx.actor, row)
    authz.require_ready(row)
    authz.require_four_eyes(ctx.session, row, ctx.actor.user_id, actor=ctx.actor)
    if row.assignee == ctx.actor.user_id:
        return row
    if row.assignee:
        raise Conflict(f"the task is claimed by {row.assignee}")
    return _set_assignee(ctx, row, instance, ctx.actor.user_id, "task.claimed")


def unclaim(ctx: Context, task_id: str) -> Task:
    row, instance = get_with_instance(ctx, task_id)
    authz.require_ready(row)
    if row.assignee != ctx.actor.user_id and not ctx.actor.is_admin:
        raise Forbidden("only the assignee or an admin may unclaim a task")
    return _set_assignee(ctx, row, instance, None, "task.unclaimed")


def assign(ctx: Context, task_id: str, user_id: str) -> Task:
    row, instance = get_with_instance(ctx, task_id)
    if not (ctx.actor.is_admin or ctx.actor.groups.intersection(row.candidate_groups or ())):
        raise Forbidden("only an admin or a member of a candidate group may assign a task")
    authz.require_ready(row)
    if not user_id or not user_id.strip():
        raise ValidationFailed("a user is required", details={"user": ["required"]})
    authz.require_four_eyes(ctx.session, row, user_id.strip(), actor=ctx.actor)
    return _set_assignee(ctx, row, instance, user_id.strip(), "task.assigned")


def _set_assignee(ctx: Context, row: Task, instance: Instance, user_id: str | None,
                  action: str) -> Task:
    previous = row.assignee
    row.assignee = user_id
    ctx.session.execute(update(TaskCandidate).where(TaskCandidate.task_id == row.id)
                        .values(unassigned=user_id is None)
                        .execution_options(synchronize_session=False))
    audit.record(ctx.session, now=ctx.now, actor=ctx.actor.user_id, action=action,
                 instance=instance, task_id=row.id, element_id=row.element_id,
                 data={"assignee": user_id, "previous": previous})
    return row
