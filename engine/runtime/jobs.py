"""Service-task jobs: claiming with a lease, finishing with the handler's output, retries,
incidents.

A job is claimed in a short transaction (a lease: owner and expiry; ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL), its handler runs outside any transaction, and its result is
applied in a transaction of its own. A worker that dies leaves a lease that expires.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from SpiffWorkflow.util.task import TaskState

from engine import audit
from engine.data import check_user_data
from engine.db.models import Incident, Instance, Job, OutboxMessage
from engine.errors import Conflict, Forbidden, NotFound
from engine.runtime import leases, sequences, timers
from engine.runtime.context import WORK_DUE, Context
from engine.runtime.loaded import load, run, save
from handlers.registry import HandlerContext, HandlerResult

MAX_ERROR_LENGTH = 4000


def claim_due(ctx: Context, worker: str, limit: int, lease: timedelta) -> list[int]:
    jobs = leases.claim(ctx.session, Job, [Job.state == "pending", Job.due_at <= ctx.now],
                        [Job.due_at, Job.id], worker=worker, limit=limit, lease=lease,
                        now=ctx.now)
    for job in jobs:
        job.updated_at = ctx.now
    return [job.id for job in jobs]


def _job(ctx: Context, job_id: int) -> Job:
    job = ctx.session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job with id {job_id}")
    return job


def handler_context(ctx: Context, job_id: int) -> HandlerContext:
    """What the handler of a job may see: a copy of the task data, its properties."""
    job = _job(ctx, job_id)
    loaded = load(ctx, job.instance_id)
    task = loaded.workflow.get_task_from_id(UUID(job.task_id))
    return HandlerContext(
        instance_id=job.instance_id, business_key=loaded.row.business_key,
        element_id=job.element_id, topic=job.topic, data=dict(task.data),
        properties=task.task_spec.properties, idempotency_key=f"job-{job.id}",
        attempt=job.attempts + 1, now=ctx.now,
    )


def succeed(ctx: Context, job_id: int, worker: str | None, result: HandlerResult) -> Job:
    """Complete the job's service task with the handler's (or external worker's) output."""
    job = _job(ctx, job_id)
    if job.state == "external":
        if worker is not None:
            raise Conflict("the job waits for an external worker")
    elif job.state != "pending" or job.locked_by != worker:
        raise Conflict(f"the job is {job.state} and not leased to this worker")
    output = dict(result.output)
    check_user_data(output)
    loaded = load(ctx, job.instance_id)
    task = loaded.workflow.get_task_from_id(UUID(job.task_id))
    if task is None or task.state != TaskState.READY:
        job.state = "cancelled"
        job.updated_at = ctx.now
        return job

    for request in result.numbers:
        number = sequences.next_number(ctx.session, request.sequence)
        output[request.variable] = request.template.format(n=number)

    def step(workflow) -> None:
        task.set_data(**output)
        loaded.run_task(task)

    run(loaded, step)
    audit.record(ctx.session, now=ctx.now, actor=ctx.actor.user_id, action="job.completed",
                 instance=loaded.row, task_id=job.task_id, element_id=job.element_id,
                 data={"topic": job.topic, "output": output, "attempt": job.attempts + 1})
    save(ctx, loaded)
    job.state = "done"
    job.locked_by = job.lock_expires_at = None
    job.updated_at = ctx.now
    for message in result.messages:
        ctx.session.add(OutboxMessage(
            instance_id=job.instance_id, task_id=job.task_id, topic=job.topic,
            channel=message.channel, recipient=message.recipient, subject=message.subject,
            body=message.body, payload=dict(message.payload), created_at=ctx.now,
            status="pending" if message.channel == "email" and ctx.services.delivers_email
            else "recorded"))
    return job


def fail(ctx: Context, job_id: int, worker: str | None, error: str, *,
         backoff_seconds: float, final: bool = False) -> Job:
    """Count a failed attempt: retry later with exponential backoff, or open an incident."""
    job = _job(ctx, job_id)
    if job.state != "pending" or (worker is not None and job.locked_by != worker):
        return job
    job.attempts += 1
    job.last_error = error[:MAX_ERROR_LENGTH]
    job.locked_by = job.lock_expires_at = None
    job.updated_at = ctx.now
    if final or job.attempts >= job.max_attempts:
        job.state = "incident"
        ctx.session.add(Incident(instance_id=job.instance_id, job_id=job.id,
                                 element_id=job.element_id, kind="job_failed",
                                 message=job.last_error, created_at=ctx.now))
        action = "incident.opened"
    else:
        job.due_at = ctx.now + timedelta(seconds=backoff_seconds * 2 ** (job.attempts - 1))
        action = "job.failed"
    audit.record(ctx.session, now=ctx.now, actor=ctx.actor.user_id, action=action,
                 instance=ctx.session.get(Instance, job.instance_id), task_id=job.task_id,
                 element_id=job.element_id,
                 data={"topic": job.topic, "attempt": job.attempts, "error": job.last_error})
    return job


def retry_incident(ctx: Context, incident_id: int) -> Incident:
    if not ctx.actor.is_admin:
        raise Forbidden("only an admin may retry an incident")
    incident = ctx.session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident with id {incident_id}")
    if incident.resolved_at is not None:
        raise Conflict("the incident is already resolved")
    incident.resolved_at = ctx.now
    incident.resolved_by = ctx.actor.user_id
    if incident.job_id is not None:
        job = _job(ctx, incident.job_id)
        ctx.session.info[WORK_DUE] = True
        job.state = "pending"
        job.attempts = 0
        job.due_at = ctx.now
        job.updated_at = ctx.now
    elif incident.kind == "timer_failed":
        timers.release_failed(ctx, incident.instance_id, incident.element_id)
        ctx.session.info[WORK_DUE] = True
    audit.record(ctx.session, now=ctx.now, actor=ctx.actor.user_id, action="incident.retried",
                 instance=ctx.session.get(Instance, incident.instance_id),
                 element_id=incident.element_id,
                 data={"incident_id": incident.id})
    return incident
