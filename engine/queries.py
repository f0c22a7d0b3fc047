"""The read side: inbox, instances, trail, incidents, outbox. Never loads a workflow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, distinct, exists, func, or_, select, union_all
from sqlalchemy.orm import Session

from engine.authz import participation_clause
from engine.db.models import (
    FAR_FUTURE,
    AuditEvent,
    Definition,
    Incident,
    Instance,
    OutboxMessage,
    Task,
    TaskCandidate,
    Wait,
)
from engine.errors import ValidationFailed
from engine.identity import Actor

MAX_LIMIT = 200
TASK_SORTS = {"due": Task.due_at, "created": Task.created_at, "priority": Task.priority}


@dataclass(frozen=True)
class TaskQuery:
    """Filters of the inbox. ``None`` means "no filter"."""

    assignee: str | None = None
    candidate_group: str | None = None
    unassigned: bool | None = None
    process_key: str | None = None
    business_key: str | None = None
    instance_id: str | None = None
    state: str = "ready"
    due_before: datetime | None = None
    due_after: datetime | None = None
    overdue: bool | None = None
    sort: str = "due"
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class Page:
    items: list
    total: int


def candidates_of(actor: Actor) -> list[str]:
    return [f"user:{actor.user_id}", *(f"group:{g}" for g in sorted(actor.groups))]


def may_work_on_clause(actor: Actor):
    """Assigned to the actor, or unassigned with the actor or a group of theirs as candidate."""
    candidate_tasks = select(TaskCandidate.task_id).where(
        TaskCandidate.candidate.in_(candidates_of(actor)))
    return or_(Task.assignee == actor.user_id,
               and_(Task.assignee.is_(None), Task.id.in_(candidate_tasks)))


def is_indexed(actor: Actor, query: TaskQuery) -> bool:
    """The inbox's own question, which the candidate index answers: ready tasks I may work
    on, by due date, maybe in a due range or in one of my groups."""
    return (not actor.is_admin and query.state == "ready" and query.sort == "due"
            and query.assignee is None and query.unassigned is None
            and query.process_key is None and query.business_key is None
            and query.instance_id is None
            and (query.candidate_group is None or query.candidate_group in actor.groups))


def _due_range(column, query: TaskQuery, now: datetime, null_is_far: bool) -> list:
    """``due_before``/``due_after``/``overdue`` on a due column (or its FAR_FUTURE key)."""
    conditions = []
    if query.due_before is not None:
        conditions.append(column < query.due_before)
    if query.due_after is not None:
        conditions.append(column > query.due_after)
        conditions.append(column < FAR_FUTURE if null_is_far else column.is_not(None))
    if query.overdue is not None:
        if query.overdue:
            conditions.append(column < now)
        else:
            conditions.append(column >= now if null_is_far
                              else or_(column.is_(None), column >= now))
    return conditions


def indexed_inbox(session: Session, actor: Actor, query: TaskQuery, now: datetime) -> Page:
    """One short index range scan per candidate value (``ix_task_candidates_inbox``) plus the
    tasks assigned to the actor, merged; then the page's rows by primary key.

    Only for queries :func:`is_indexed` accepts; it answers what :func:`tasks` would.
    """
    wanted = query.offset + query.limit
    group = query.candidate_group
    candidates = [f"group:{group}"] if group else candidates_of(actor)
    offered = [
        select(TaskCandidate.task_id.label("id"), TaskCandidate.due_key.label("due_key"))
        .where(TaskCandidate.candidate == candidate, TaskCandidate.unassigned.is_(True),
               *_due_range(TaskCandidate.due_key, query, now, null_is_far=True))
        .order_by(TaskCandidate.due_key, TaskCandidate.task_id).limit(wanted).subquery()
        for candidate in candidates
    ]
    mine_conditions = [Task.state == "ready", Task.assignee == actor.user_id,
                       *_due_range(Task.due_at, query, now, null_is_far=False)]
    if group:  # EXISTS, so that the few tasks assigned to me drive, not the group's many
        mine_conditions.append(exists().where(TaskCandidate.task_id == Task.id,
                                              TaskCandidate.candidate == f"group:{group}"))
    mine = (select(Task.id.label("id"), func.coalesce(Task.due_at, FAR_FUTURE).label("due_key"))
            .where(*mine_conditions).order_by(Task.due_at, Task.id).limit(wanted).subquery())
    merged = union_all(*(select(part.c.id, part.c.due_key) for part in (*offered, mine)))
    merged = merged.subquery()
    page = (select(merged.c.id).group_by(merged.c.id)
            .order_by(func.min(merged.c.due_key), merged.c.id)
            .limit(query.limit).offset(query.offset))
    ids = list(session.scalars(page))
    rows = {t.id: t for t in session.scalars(select(Task).where(Task.id.in_(ids)))} if ids else {}
    offers = (TaskCandidate.candidate.in_(candidates),
              TaskCandidate.unassigned.is_(True),
              *_due_range(TaskCandidate.due_key, query, now, null_is_far=True))
    single = session.scalar(select(func.count()).select_from(TaskCandidate).where(
        *offers, TaskCandidate.multi.is_(False))) or 0
    several = session.scalar(select(func.count(distinct(TaskCandidate.task_id))).where(
        *offers, TaskCandidate.multi.is_(True))) or 0
    offered_total = single + several
    mine_total = session.scalar(select(func.count()).select_from(Task)
                                .where(*mine_conditions)) or 0
    return Page([rows[i] for i in ids if i in rows], offered_total + mine_total)


def tasks(session: Session, actor: Actor, query: TaskQuery, now: datetime) -> Page:
    if query.state not in ("ready", "completed", "cancelled"):
        raise ValidationFailed("unknown state",
                               details={"state": ["ready, completed or cancelled"]})
    if not 1 <= query.limit <= MAX_LIMIT or query.offset < 0:
        raise ValidationFailed("bad paging", details={"limit": [f"1 to {MAX_LIMIT}"]})
    if query.sort.lstrip("-") not in TASK_SORTS:
        raise ValidationFailed("unknown sort", details={"sort": [
            "due, created or priority, with '-' for descending"]})
    if is_indexed(actor, query):
        return indexed_inbox(session, actor, query, now)
    return general_tasks(session, actor, query, now)


def general_tasks(session: Session, actor: Actor, query: TaskQuery, now: datetime) -> Page:
    """Any inbox query, over the tasks table (reads every matching row)."""
    descending = query.sort.startswith("-")
    column = TASK_SORTS[query.sort.lstrip("-")]
    conditions = [Task.state == query.state]
    if not actor.is_admin:
        if query.state == "ready":
            conditions.append(may_work_on_clause(actor))
        else:
            conditions.append(or_(Task.completed_by == actor.user_id,
                                  Task.assignee == actor.user_id))
    if query.assignee is not None:
        conditions.append(Task.assignee == (actor.user_id if query.assignee == "me"
                                            else query.assignee))
    if query.candidate_group is not None:
        conditions.append(Task.id.in_(select(TaskCandidate.task_id).where(
            TaskCandidate.candidate == f"group:{query.candidate_group}")))
    if query.unassigned is not None:
        conditions.append(Task.assignee.is_(None) if query.unassigned
                          else Task.assignee.is_not(None))
    for value, column_ in ((query.process_key, Task.process_key),
                           (query.business_key, Task.business_key),
                           (query.instance_id, Task.instance_id)):
        if value is not None:
            conditions.append(column_ == value)
    conditions += _due_range(Task.due_at, query, now, null_is_far=False)
    total = session.scalar(select(func.count()).select_from(Task).where(*conditions)) or 0
    order = column.desc() if descending else column.asc()
    # equal due dates break by id, as the indexed default inbox does; other sorts by age
    tie_break = [Task.id] if column is Task.due_at else [Task.created_at, Task.id]
    rows = session.scalars(
        select(Task).where(*conditions)
        .order_by(column.is_(None), order, *tie_break)
        .limit(query.limit).offset(query.offset))
    return Page(list(rows), total)


def ready_tasks_of(session: Session, instance_id: str) -> list[Task]:
    return list(session.scalars(select(Task).where(Task.instance_id == instance_id,
                                                   Task.state == "ready")
                                .order_by(Task.created_at, Task.id)))


def waits_of(session: Session, instance_id: str) -> list[Wait]:
    return list(session.scalars(select(Wait).where(Wait.instance_id == instance_id)
                                .order_by(Wait.id)))


def instances(session: Session, actor: Actor, *, process_key: str | None = None,
              state: str | None = None, business_key: str | None = None, limit: int = 50,
              offset: int = 0) -> Page:
    """Instances the actor may see (admins: all; others: those they take part in)."""
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise ValidationFailed("bad paging", details={"limit": [f"1 to {MAX_LIMIT}"]})
    conditions = [] if actor.is_admin else [participation_clause(actor)]
    for value, column in ((process_key, Instance.process_key), (state, Instance.state),
                          (business_key, Instance.business_key)):
        if value is not None:
            conditions.append(column == value)
    total = session.scalar(select(func.count()).select_from(Instance).where(*conditions)) or 0
    rows = session.scalars(select(Instance).where(*conditions)
                           .order_by(Instance.created_at.desc(), Instance.id)
                           .limit(limit).offset(offset))
    return Page(list(rows), total)


def latest_definitions(session: Session) -> list[Definition]:
    """The latest version of every deployed process key."""
    newest = (select(Definition.key, func.max(Definition.version).label("version"))
              .where(Definition.kind == "bpmn").group_by(Definition.key).subquery())
    return list(session.scalars(
        select(Definition).join(newest, (Definition.key == newest.c.key)
                                & (Definition.version == newest.c.version))
        .where(Definition.kind == "bpmn").order_by(Definition.key)))


def definition_versions(session: Session, key: str) -> list[Definition]:
    return list(session.scalars(select(Definition).where(
        Definition.kind == "bpmn", Definition.key == key).order_by(Definition.version)))


@dataclass(frozen=True)
class GroupCount:
    group: str
    ready: int
    unassigned: int
    overdue: int


def task_counts(session: Session, actor: Actor, now: datetime) -> list[GroupCount]:
    """Ready, unassigned and overdue tasks per candidate group of the actor."""
    groups = sorted(actor.groups)
    if not groups:
        return []
    rows = session.execute(
        select(TaskCandidate.candidate, func.count(),
               func.count().filter(Task.assignee.is_(None)),
               func.count().filter(Task.due_at < now))
        .join(Task, Task.id == TaskCandidate.task_id)
        .where(TaskCandidate.candidate.in_([f"group:{g}" for g in groups]),
               Task.state == "ready")
        .group_by(TaskCandidate.candidate)).all()
    found = {candidate.removeprefix("group:"): (r, u, o) for candidate, r, u, o in rows}
    return [GroupCount(g, *found.get(g, (0, 0, 0))) for g in groups]


def events(session: Session, instance_id: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id)
                                .order_by(AuditEvent.id)))


def incidents(session: Session, open_only: bool = True) -> list[Incident]:
    query = select(Incident).order_by(Incident.id)
    if open_only:
        query = query.where(Incident.resolved_at.is_(None))
    return list(session.scalars(query))


def outbox(session: Session, instance_id: str | None = None, *, status: str | None = None,
           limit: int = 50, offset: int = 0) -> list[OutboxMessage]:
    """Outbox messages, newest first (by id: the order they were recorded in)."""
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise ValidationFailed("bad paging", details={"limit": [f"1 to {MAX_LIMIT}"]})
    conditions = []
    for value, column in ((instance_id, OutboxMessage.instance_id),
                          (status, OutboxMessage.status)):
        if value is not None:
            conditions.append(column == value)
    return list(session.scalars(select(OutboxMessage).where(*conditions)
                                .order_by(OutboxMessage.id.desc()).limit(limit).offset(offset)))
