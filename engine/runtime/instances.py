"""Starting and cancelling instances."""

from __future__ import annotations

import uuid
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, authz
from engine.data import check_user_data
from engine.db.models import Definition, Instance
from engine.deployment.repository import latest, latest_or_404
from engine.errors import Conflict, Forbidden, NotFound, ProcessError, ValidationFailed
from engine.runtime.context import Context
from engine.runtime.loaded import Loaded, bundle_of, load, run, save

MAX_BUSINESS_KEY = 255


def pins_for(session: Session, definition: Definition) -> list[int]:
    """Latest versions of what the definition calls, transitively: pinned for the instance."""
    pinned: list[int] = []
    seen: set[str] = set()
    queue = list(definition.calls)
    while queue:
        ref = queue.pop(0)
        if ref in seen:
            continue
        seen.add(ref)
        kind, key = ref.split(":", 1)
        callee = latest(session, key, kind)
        if callee is None:
            raise ProcessError(f"'{definition.key}' calls '{key}', which is not deployed",
                               details={"called": key})
        pinned.append(callee.id)
        queue.extend(callee.calls)
    return pinned


def start(ctx: Context, process_key: str, business_key: str | None,
          data: dict[str, Any] | None) -> Instance:
    """Start the latest version of a process, by a person or a system (a plain start)."""
    return start_definition(ctx, latest_or_404(ctx.session, process_key), business_key, data)


def start_definition(ctx: Context, definition: Definition, business_key: str | None,
                     data: dict[str, Any] | None, *, by_timer: str | None = None) -> Instance:
    """``by_timer``: the timer start event that starts this instance (the worker's call)."""
    if business_key is not None and (not business_key.strip()
                                     or len(business_key) > MAX_BUSINESS_KEY):
        raise ValidationFailed("invalid business key", details={
            "business_key": [f"must be 1 to {MAX_BUSINESS_KEY} characters"]})
    row = Instance(
        id=str(uuid.uuid4()), definition_id=definition.id, process_key=definition.key,
        process_version=definition.version, business_key=business_key, state="running",
        pinned=pins_for(ctx.session, definition), workflow="", started_by=ctx.actor.user_id,
        created_at=ctx.now, updated_at=ctx.now,
    )
    bundle = bundle_of(ctx, row)
    if by_timer is None:
        authz.require_starter(ctx.actor, bundle.meta, definition.key)
        if not bundle.starts_by_hand:
            raise Conflict(f"'{definition.key}' starts only by its timer start event(s): "
                           + ", ".join(sorted(bundle.start_timers)),
                           details={"start_timers": sorted(bundle.start_timers)})
    check_user_data(data or {})
    clean = bundle.start_form.validate(data)
    workflow = BpmnWorkflow(bundle.spec, bundle.subprocess_specs,
                            script_engine=ctx.services.script_engine)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(clean)
    if by_timer is not None:
        for task in workflow.get_tasks():
            if isinstance(task.task_spec, StartEvent) and task.task_spec.bpmn_id == by_timer:
                task._set_internal_data(event_fired=True)
    loaded = Loaded(row, workflow, bundle)
    run(loaded, lambda _wf: None)
    ctx.session.add(row)
    audit.record(ctx.session, now=ctx.now, actor=ctx.actor.user_id, action="instance.started",
                 instance=row, data={"process_key": row.process_key,
                                     "version": row.process_version,
                                     "business_key": business_key, "data": clean,
                                     **({"timer": by_timer} if by_timer else {})})
    save(ctx, loaded)
    return row


def cancel(ctx: Context, instance_id: str, reason: str) -> Instance:
    if not reason or not reason.strip():
        raise ValidationFailed("a reason is required", details={"reason": ["required"]})
    visible = ctx.actor.is_admin or ctx.session.scalar(
        select(Instance.id).where(Instance.id == instance_id,
                                  authz.participation_clause(ctx.actor)))
    if not visible:  # as if it did not exist: a 403 would confirm it does
        raise NotFound(f"no instance with id '{instance_id}'")
    loaded = load(ctx, instance_id)
    row = loaded.row
    if not (ctx.actor.is_admin or ctx.actor.user_id == row.started_by):
        raise Forbidden("only an admin or the user who started the instance may cancel it")
    if row.state != "running":
        raise Conflict(f"the instance is {row.state}")
    loaded.workflow.cancel()
    row.state = "cancelled"
    row.ended_at = ctx.now
    row.end_reason = reason
    save(ctx, loaded)
    audit.record(ctx.session, now=ctx.now, actor=ctx.actor.user_id, action="instance.cancelled",
                 instance=row, data={"reason": reason})
    return row


def get(ctx: Context, instance_id: str) -> Instance:
    row = ctx.session.get(Instance, instance_id)
    if row is None:
        raise NotFound(f"no instance with id '{instance_id}'")
    return row
