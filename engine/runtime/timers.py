"""Firing due timers of running instances.

A waiting timer is a ``waits`` row with its due time (written by :mod:`sync`). A worker
claims due rows with a lease, then fires each in its own transaction: load the instance,
let SpiffWorkflow see that the time has passed, run the engine steps, save. The
instance's optimistic version makes a second firing of the same timer impossible: it
either finds the row gone or loses the commit.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.db.models import FAR_FUTURE, Incident, Wait
from engine.runtime import leases
from engine.runtime.context import Context
from engine.runtime.loaded import load, run, save

#: ``locked_by`` of a timer whose firing failed: it waits for an admin to retry the incident
INCIDENT_LOCK = "incident"


def claim_due(ctx: Context, worker: str, limit: int, lease: timedelta) -> list[int]:
    waits = leases.claim(ctx.session, Wait, [Wait.kind == "timer", Wait.due_at <= ctx.now],
                         [Wait.due_at, Wait.id], worker=worker, limit=limit, lease=lease,
                         now=ctx.now)
    return [wait.id for wait in waits]


def fire(ctx: Context, wait_id: int, worker: str) -> bool:
    """Fire the timer of a claimed wait; False when there was nothing (left) to fire."""
    wait = ctx.session.get(Wait, wait_id)
    if wait is None or wait.locked_by != worker:
        return False
    loaded = load(ctx, wait.instance_id)
    wait.locked_by = wait.lock_expires_at = None
    if loaded.row.state != "running":
        ctx.session.delete(wait)
        return False
    run(loaded, lambda workflow: workflow.refresh_timers())
    save(ctx, loaded)
    return True


def fail(ctx: Context, wait_id: int, worker: str, error: str) -> None:
    """The model failed when the timer fired: an incident; the timer waits for a retry."""
    wait = ctx.session.get(Wait, wait_id)
    if wait is None or wait.locked_by != worker:
        return
    wait.locked_by, wait.lock_expires_at = INCIDENT_LOCK, FAR_FUTURE
    ctx.session.add(Incident(instance_id=wait.instance_id, element_id=wait.element_id,
                             kind="timer_failed", message=error, created_at=ctx.now))


def release_failed(ctx: Context, instance_id: str, element_id: str | None) -> None:
    """Let the timers held by an incident fire again (the incident is being retried)."""
    for wait in ctx.session.scalars(select(Wait).where(
            Wait.instance_id == instance_id, Wait.locked_by == INCIDENT_LOCK,
            Wait.element_id == element_id)):
        wait.locked_by = wait.lock_expires_at = None
