"""The tables of biflow, as SQLAlchemy 2 typed models.

Every command writes its instance, inbox rows, jobs, waits and audit events in one
transaction (see :mod:`engine.db.uow`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine.db.types import JsonType, UtcDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JsonType,
                           list[Any]: JsonType}


class Definition(Base):
    """One deployed version of a process (``kind='bpmn'``) or decision (``kind='dmn'``)."""

    __tablename__ = "definitions"
    __table_args__ = (UniqueConstraint("kind", "key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(255))
    version: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(255))
    file_name: Mapped[str] = mapped_column(String(255))
    xml: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    #: ``kind:key`` of the processes and decisions it calls that its file does not define
    calls: Mapped[list[Any]]
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str | None] = mapped_column(String(255))


class Instance(Base):
    """A running or ended process instance: SpiffWorkflow's state without the spec."""

    __tablename__ = "instances"
    __table_args__ = (
        Index("ix_instances_key_state", "process_key", "state"),
        Index("ix_instances_business_key", "business_key"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    process_key: Mapped[str] = mapped_column(String(255))
    process_version: Mapped[int]
    business_key: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))
    #: definition ids of the called processes and decisions, pinned at start
    pinned: Mapped[list[Any]]
    workflow: Mapped[str] = mapped_column(Text)
    started_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(Text)
    #: hash of the instance's latest audit event: the head of its chain
    audit_head: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}


class Task(Base):
    """The inbox: one row per user task, kept in step with its instance."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_instance_state", "instance_id", "state"),
        Index("ix_tasks_state_assignee_due", "state", "assignee", "due_at"),
        Index("ix_tasks_state_due", "state", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"))
    element_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    process_key: Mapped[str] = mapped_column(String(255))
    process_version: Mapped[int]
    business_key: Mapped[str | None] = mapped_column(String(255))
    candidate_groups: Mapped[list[Any]]
    candidate_users: Mapped[list[Any]]
    assignee: Mapped[str | None] = mapped_column(String(255))
    due_at: Mapped[datetime | None]
    follow_up_at: Mapped[datetime | None]
    priority: Mapped[int] = mapped_column(default=50)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(255))
    #: element ids whose completers in this instance may not work on it (``fourEyesWith``),
    #: copied from the spec so that claiming needs no workflow
    four_eyes_with: Mapped[list[Any] | None]
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}


#: the sort key of "no due date": after every real date
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)


class TaskCandidate(Base):
    """``group:NAME`` or ``user:NAME`` for each ready task; the inbox's index.

    Rows exist only while their task is ready, so the index stays the size of the open work.
    They carry copies of the task's "unassigned" and due date, so that a page of "tasks I may
    work on, by due date" is a short range scan of one index per candidate value.
    """

    __tablename__ = "task_candidates"
    __table_args__ = (Index("ix_task_candidates_inbox", "candidate", "unassigned", "due_key",
                            "task_id", "multi"),)

    task_id: Mapped[str] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    candidate: Mapped[str] = mapped_column(String(300), primary_key=True)
    unassigned: Mapped[bool] = mapped_column(default=True)
    #: the task's due date, or FAR_FUTURE when it has none
    due_key: Mapped[datetime]
    #: the task has other candidate rows too; counting "tasks offered to me" needs DISTINCT
    #: only over such rows, which are few (a plain count over the rest reads the index only)
    multi: Mapped[bool] = mapped_column(default=False)


class Wait(Base):
    """What an instance waits for: a message by name, or a timer by due time."""

    __tablename__ = "waits"
    __table_args__ = (
        Index("ix_waits_message", "kind", "message_name"),
        Index("ix_waits_due", "kind", "due_at", "id"),
        Index("ix_waits_instance", "instance_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"))
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    message_name: Mapped[str | None] = mapped_column(String(255))
    due_at: Mapped[datetime | None]
    #: a worker firing a due timer holds a lease, like a job
    locked_by: Mapped[str | None] = mapped_column(String(255))
    lock_expires_at: Mapped[datetime | None]


class StartTimer(Base):
    """A timer start event of a deployed process version: when it next starts an instance.

    Scheduled on deploy; a new version of the process replaces the older versions' rows.
    ``cycle`` keeps what a repeating timer needs (its expression, start, count so far).
    """

    __tablename__ = "start_timers"
    __table_args__ = (Index("ix_start_timers_due", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    process_key: Mapped[str] = mapped_column(String(255))
    element_id: Mapped[str] = mapped_column(String(255))
    due_at: Mapped[datetime]
    fired: Mapped[int] = mapped_column(default=0)
    cycle: Mapped[dict[str, Any] | None]
    locked_by: Mapped[str | None] = mapped_column(String(255))
    lock_expires_at: Mapped[datetime | None]


class Sequence(Base):
    """A gap-free counter (``BI-LIC-2027`` ...): the last number given out."""

    __tablename__ = "sequences"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class Setting(Base):
    """Engine-wide values shared by every process (the dev clock's offset)."""

    __tablename__ = "settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Job(Base):
    """A service task to run: by a handler in ``handlers/`` or by an external worker."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_due", "state", "due_at"),
                      Index("ix_jobs_instance_state", "instance_id", "state"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"))
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    element_id: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    #: pending (a handler runs it), external (a worker must), done, incident, cancelled
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    due_at: Mapped[datetime]
    locked_by: Mapped[str | None] = mapped_column(String(255))
    lock_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Incident(Base):
    """Work that needs a person: a job out of retries, a model that failed at run time."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_open", "resolved_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    element_id: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(255))


class OutboxMessage(Base):
    """What handlers asked to send (notifications, denial notices), recorded with content."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status", "status", "deliver_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("instances.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    topic: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str | None] = mapped_column(String(500))
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    #: pending (to deliver), sent, recorded (kept, not delivered: no SMTP configured or a
    #: channel biflow does not deliver), failed (out of attempts)
    status: Mapped[str] = mapped_column(String(16), default="recorded")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    deliver_after: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(255))
    lock_expires_at: Mapped[datetime | None]


class AuditEvent(Base):
    """Append-only trail: who did what, when, with which data; hash-chained per instance."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_instance", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str | None] = mapped_column(String(36))
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(255))
    actor: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class User(Base):
    """A person who uses biflow. Groups decide what they may do (see ``engine/authz.py``)."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime]


class UserGroup(Base):
    __tablename__ = "user_groups"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    group: Mapped[str] = mapped_column(String(255), primary_key=True)


class ApiToken(Base):
    """An API token, stored as its SHA-256 only: the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Comment(Base):
    """A case worker's note on a task."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_task", "task_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"))
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"))
    author: Mapped[str] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
