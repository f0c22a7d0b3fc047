"""Read models that need the workflow: a task with its form, an instance with its data.

These load (deserialize) one workflow; listings never do (see ``engine/queries.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import audit, authz, queries
from engine.db.models import Comment, Definition, Instance, Task, Wait
from engine.deployment.repository import load_bundle
from engine.dialect.messages import payload_form
from engine.dialect.specs import UserTask
from engine.errors import Forbidden, NotFound, ValidationFailed
from engine.runtime.context import Context
from engine.runtime.instances import pins_for
from engine.runtime.loaded import load_row

MAX_COMMENT = 4000


@dataclass(frozen=True)
class TaskDetail:
    task: Task
    form: dict[str, Any]
    data: dict[str, Any]


@dataclass(frozen=True)
class Progress:
    """An instance after a command, with the tasks now ready in it."""

    instance: Instance
    ready_tasks: list[Task]


def progress(ctx: Context, instance: Instance) -> Progress:
    ctx.session.flush()
    return Progress(instance, queries.ready_tasks_of(ctx.session, instance.id))


@dataclass(frozen=True)
class InstanceDetail:
    instance: Instance
    data: dict[str, Any]
    ready_tasks: list[Task]
    waiting: list[Wait]


def visible_task(ctx: Context, task_id: str) -> Task:
    task = ctx.session.get(Task, task_id)
    if task is None:
        raise NotFound(f"no task with id '{task_id}'")
    if not authz.may_view_task(ctx.actor, task):
        raise Forbidden("you are neither the assignee nor a candidate of this task")
    return task


def visible_instance(ctx: Context, instance_id: str) -> Instance:
    query = select(Instance).where(Instance.id == instance_id)
    if not ctx.actor.is_admin:
        query = query.where(authz.participation_clause(ctx.actor))
    instance = ctx.session.scalars(query).first()
    if instance is None:  # not found or not visible: the same answer, to leak nothing
        raise NotFound(f"no instance with id '{instance_id}'")
    return instance


def task_detail(ctx: Context, task_id: str) -> TaskDetail:
    task = visible_task(ctx, task_id)
    instance = ctx.session.get(Instance, task.instance_id)
    loaded = load_row(ctx, instance)
    spiff_task = loaded.workflow.get_task_from_id(UUID(task_id))
    form = loaded.bundle.form_of(spiff_task.task_spec)
    data = {name: spiff_task.data[name] for name in form.field_ids if name in spiff_task.data}
    return TaskDetail(task, form.json_schema(), data)


def instance_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The variables of an instance: those of its open tasks, or of its last task."""
    if workflow.is_completed() and workflow.last_task is not None:
        return dict(workflow.last_task.data)
    data: dict[str, Any] = {}
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING
                                   | TaskState.STARTED):
        data.update(task.data)
    return data


def instance_detail(ctx: Context, instance_id: str) -> InstanceDetail:
    instance = visible_instance(ctx, instance_id)
    loaded = load_row(ctx, instance)
    return InstanceDetail(instance, instance_data(loaded.workflow),
                          queries.ready_tasks_of(ctx.session, instance_id),
                          queries.waits_of(ctx.session, instance_id))


def comments(ctx: Context, task_id: str) -> list[Comment]:
    visible_task(ctx, task_id)
    return list(ctx.session.scalars(select(Comment).where(Comment.task_id == task_id)
                                    .order_by(Comment.id)))


def add_comment(ctx: Context, task_id: str, message: str) -> Comment:
    task = visible_task(ctx, task_id)
    text = (message or "").strip()
    if not text or len(text) > MAX_COMMENT:
        raise ValidationFailed("invalid comment", details={
            "message": [f"1 to {MAX_COMMENT} characters"]})
    comment = Comment(task_id=task.id, instance_id=task.instance_id, author=ctx.actor.user_id,
                      message=text, created_at=ctx.now)
    ctx.session.add(comment)
    instance = ctx.session.get(Instance, task.instance_id)
    audit.record(ctx.session, now=ctx.now, actor=ctx.actor.user_id, action="task.commented",
                 instance=instance, task_id=task.id, element_id=task.element_id,
                 data={"message": text})
    ctx.session.flush()
    return comment


@dataclass(frozen=True)
class DefinitionDetail:
    key: str
    name: str | None
    versions: list[Definition]
    start_form: dict[str, Any]
    starter_groups: list[str]
    starter_users: list[str]
    #: the messages the process (and what it calls) may wait for: name, catching element,
    #: the payload's JSON Schema (None: any payload)
    messages: list[dict[str, Any]]


def definition_detail(ctx: Context, key: str) -> DefinitionDetail:
    versions = queries.definition_versions(ctx.session, key)
    if not versions:
        raise NotFound(f"no process with key '{key}' is deployed")
    latest = versions[-1]
    bundle = load_bundle(ctx.session, ctx.services.specs, latest.id,
                         pins_for(ctx.session, latest))
    return DefinitionDetail(key, latest.name, versions, bundle.start_form.json_schema(),
                            list(bundle.meta.starter_groups), list(bundle.meta.starter_users),
                            _messages(bundle))


def _messages(bundle) -> list[dict[str, Any]]:
    found = []
    for spec in (bundle.spec, *bundle.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if isinstance(definition, MessageEventDefinition) and isinstance(
                    task_spec, CatchingEvent):
                form = payload_form(getattr(task_spec, "properties", None))
                found.append({"name": definition.name, "process": spec.name,
                              "element_id": task_spec.bpmn_id,
                              "element_name": task_spec.bpmn_name,
                              "payload": form.json_schema() if form else None})
    return sorted(found, key=lambda m: (m["name"], m["process"], m["element_id"]))


def groups_in_use(ctx: Context) -> set[str]:
    """Candidate and starter groups named by the latest version of every process."""
    groups: set[str] = set()
    for definition in queries.latest_definitions(ctx.session):
        bundle = load_bundle(ctx.session, ctx.services.specs, definition.id,
                             pins_for(ctx.session, definition))
        groups.update(bundle.meta.starter_groups)
        for spec in (bundle.spec, *bundle.subprocess_specs.values()):
            for task_spec in spec.task_specs.values():
                if isinstance(task_spec, UserTask):
                    groups.update(task_spec.assignment.candidate_groups)
    return groups
