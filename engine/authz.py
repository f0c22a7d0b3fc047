"""Who may do what with an instance or a task. The engine enforces; the API only asks."""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from engine.db.models import Instance, Task, TaskCandidate
from engine.dialect.specs import ProcessMeta
from engine.errors import Conflict, Forbidden
from engine.identity import Actor


def is_candidate(actor: Actor, task: Task) -> bool:
    return (actor.user_id in (task.candidate_users or ())
            or bool(actor.groups.intersection(task.candidate_groups or ())))


def may_work_on(actor: Actor, task: Task) -> bool:
    return actor.is_admin or task.assignee == actor.user_id or is_candidate(actor, task)


def require_starter(actor: Actor, meta: ProcessMeta, key: str) -> None:
    if not (meta.starter_groups or meta.starter_users) or actor.is_admin:
        return
    if actor.user_id in meta.starter_users or actor.groups.intersection(meta.starter_groups):
        return
    raise Forbidden(f"starting '{key}' needs membership of one of: "
                    f"{', '.join(meta.starter_groups) or '-'} (candidateStarterGroups)")


def require_ready(task: Task) -> None:
    if task.state != "ready":
        raise Conflict(f"the task is {task.state}, no longer ready")


def require_may_work_on(actor: Actor, task: Task) -> None:
    if not may_work_on(actor, task):
        raise Forbidden("you are neither the assignee nor a candidate of this task")


def require_free_or_mine(actor: Actor, task: Task) -> None:
    """A task claimed by someone else is theirs until unclaimed (admins excepted)."""
    if task.assignee and task.assignee != actor.user_id and not actor.is_admin:
        raise Conflict(f"the task is claimed by {task.assignee}")


def require_four_eyes(session: Session, task: Task, user_id: str, *, actor: Actor) -> None:
    """``fourEyesWith``: whoever completed one of the named tasks in this instance may not
    claim, be assigned or complete this one. Admins are bound too: the rule is about people.

    One indexed look-up of the instance's completed inbox rows; no workflow is loaded.
    """
    if not task.four_eyes_with:
        return
    done = session.execute(
        select(Task.name, Task.element_id).where(
            Task.instance_id == task.instance_id, Task.state == "completed",
            Task.element_id.in_(task.four_eyes_with), Task.completed_by == user_id)
        .limit(1)).first()
    if done is not None:
        who = "you" if user_id == actor.user_id else user_id
        raise Forbidden(f"four-eyes rule: {who} completed '{done.name or done.element_id}' in "
                        f"this instance; someone else must do '{task.name or task.element_id}'")


def may_view_task(actor: Actor, task: Task) -> bool:
    """Who worked on a task, may work on it, or is an admin may read it."""
    return may_work_on(actor, task) or task.completed_by == actor.user_id


def participation_clause(actor: Actor):
    """SQL: instances the actor started or holds, held or may take a task in."""
    candidates = [f"user:{actor.user_id}", *(f"group:{g}" for g in sorted(actor.groups))]
    took_part = exists().where(
        Task.instance_id == Instance.id,
        or_(Task.assignee == actor.user_id, Task.completed_by == actor.user_id,
            Task.id.in_(select(TaskCandidate.task_id)
                        .where(TaskCandidate.candidate.in_(candidates)))))
    return or_(Instance.started_by == actor.user_id, took_part)
