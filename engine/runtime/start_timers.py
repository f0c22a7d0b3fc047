"""Timer start events: scheduled per process version, each firing starts an instance.

Deploying a process version schedules its timer start events (``start_timers`` rows) and
removes the rows of its older versions: a new version replaces the old one's timers.
A worker claims due rows with a lease and fires each in its own transaction: start an
instance of that exact version through the timer's start event, then move the row to its
next occurrence (repeating timers) or delete it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from lxml import etree
from sqlalchemy import delete

from engine import audit
from engine.calendar.cycles import Cycle, is_cron, parse_cycle
from engine.calendar.moments import add_duration, to_moment
from engine.db.models import Definition, StartTimer
from engine.deployment.documents import NSMAP, safe_parser
from engine.errors import DeploymentFailed, Problem
from engine.expressions import ExpressionError
from engine.runtime import instances, leases
from engine.runtime.context import Context


def first_due(ctx: Context, kind: str, expression: str) -> tuple[datetime, dict[str, Any] | None]:
    """When a timer start event first fires, and its cycle state if it repeats."""
    value = expression if is_cron(expression) else ctx.services.sandbox.evaluate(expression, {})
    if kind == "timeCycle":
        cycle = parse_cycle(str(value), ctx.now)
        return cycle.first, cycle.state()
    if kind == "timeDuration":
        return add_duration(ctx.now, str(value)), None
    return to_moment(value, ctx.now), None


def timer_start_events(definition: Definition) -> list[tuple[str, str | None, str, str]]:
    """``(element id, name, timeDate|timeDuration|timeCycle, expression)`` of the process's
    own timer start events (read from its XML: no callee needs to be loaded)."""
    root = etree.fromstring(definition.xml.encode(), parser=safe_parser())
    found = []
    for event in root.xpath(f"//bpmn:process[@id='{definition.key}']/bpmn:startEvent",
                            namespaces=NSMAP):
        for value in event.xpath("./bpmn:timerEventDefinition/*", namespaces=NSMAP):
            kind = etree.QName(value).localname
            if kind in ("timeDate", "timeDuration", "timeCycle"):
                found.append((event.get("id"), event.get("name"), kind,
                              (value.text or "").strip()))
    return found


def schedule(ctx: Context, definition: Definition) -> None:
    """Replace the start timers of ``definition.key`` by those of this version."""
    ctx.session.execute(delete(StartTimer).where(StartTimer.process_key == definition.key)
                        .execution_options(synchronize_session=False))
    problems = []
    for element_id, name, kind, expression in timer_start_events(definition):
        try:
            due, cycle = first_due(ctx, kind, expression)
        except (ExpressionError, ValueError, TypeError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            problems.append(Problem(definition.file_name, element_id, name,
                                    f"the timer start event cannot be scheduled: {message}"))
            continue
        ctx.session.add(StartTimer(definition_id=definition.id, process_key=definition.key,
                                   element_id=element_id, due_at=due, fired=0, cycle=cycle))
    if problems:
        raise DeploymentFailed(problems)


def claim_due(ctx: Context, worker: str, limit: int, lease: timedelta) -> list[int]:
    rows = leases.claim(ctx.session, StartTimer, [StartTimer.due_at <= ctx.now],
                        [StartTimer.due_at, StartTimer.id], worker=worker, limit=limit,
                        lease=lease, now=ctx.now)
    return [row.id for row in rows]


def fire(ctx: Context, timer_id: int, worker: str) -> str | None:
    """Start the instance of a claimed start timer; answers its id (None: nothing to do)."""
    row = ctx.session.get(StartTimer, timer_id)
    if row is None or row.locked_by != worker:
        return None
    definition = ctx.session.get(Definition, row.definition_id)
    instance = instances.start_definition(ctx, definition, None, None, by_timer=row.element_id)
    row.fired += 1
    audit.record(ctx.session, now=ctx.now, actor=ctx.actor.user_id, action="timer.fired",
                 instance=instance, element_id=row.element_id,
                 data={"due": row.due_at.isoformat(), "occurrence": row.fired})
    following = (Cycle.from_state(row.cycle).occurrence(row.fired, row.due_at)
                 if row.cycle else None)
    if following is None:
        ctx.session.delete(row)
    else:
        row.due_at = following
        row.locked_by = row.lock_expires_at = None
    return instance.id
