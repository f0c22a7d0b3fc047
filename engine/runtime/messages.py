"""Delivering a message from an outside party to the instances that wait for it."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import audit
from engine.authz import participation_clause
from engine.data import check_user_data
from engine.db.models import Instance, Wait
from engine.dialect.messages import message_event, payload_form
from engine.errors import NotFound, ValidationFailed
from engine.runtime.context import Context
from engine.runtime.loaded import load, run, save


def correlate(ctx: Context, name: str, instance_id: str | None, business_key: str | None,
              data: dict[str, Any] | None) -> list[Instance]:
    """Deliver message ``name`` to the instance(s) named; raise NotFound when none waits."""
    if not name:
        raise ValidationFailed("a message name is required", details={"name": ["required"]})
    if instance_id is None and business_key is None:
        raise ValidationFailed("name the instance_id or the business_key the message is for",
                               details={"instance_id": ["instance_id or business_key required"]})
    check_user_data(data or {})
    query = (select(Wait.instance_id).join(Instance, Instance.id == Wait.instance_id)
             .where(Wait.kind == "message", Wait.message_name == name,
                    Instance.state == "running").distinct())
    if not ctx.actor.is_admin:  # outsiders of an instance cannot steer it (nor learn of it)
        query = query.where(participation_clause(ctx.actor))
    if instance_id is not None:
        query = query.where(Instance.id == instance_id)
    if business_key is not None:
        query = query.where(Instance.business_key == business_key)
    targets = sorted(ctx.session.scalars(query))
    if not targets:
        raise NotFound(f"no running instance waits for message '{name}'")
    reached = []
    for target in targets:
        loaded = load(ctx, target)
        payload = declared_payload(loaded.workflow, name, data)
        run(loaded, lambda workflow, p=payload: workflow.send_event(message_event(name, p)))
        audit.record(ctx.session, now=ctx.now, actor=ctx.actor.user_id,
                     action="message.received", instance=loaded.row,
                     data={"name": name, "data": payload})
        save(ctx, loaded)
        reached.append(loaded.row)
    return reached


def declared_payload(workflow, name: str, data: dict[str, Any] | None) -> dict[str, Any]:
    """``data`` checked against the payload the waiting event declares (if it declares one);
    raises ValidationFailed naming the fields at fault."""
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        definitions = (definition.event_definitions
                       if isinstance(definition, MultipleEventDefinition) else [definition])
        if any(isinstance(d, MessageEventDefinition) and d.name == name for d in definitions):
            form = payload_form(getattr(task.task_spec, "properties", None))
            if form is not None:
                return form.validate(data)
    return dict(data or {})
