"""What a command needs: its session, its moment, its actor and the engine's shared parts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from engine.deployment.bundle import SpecCache
from engine.expressions import Sandbox
from engine.expressions.spiff import SandboxedScriptEngine
from engine.identity import Actor
from engine.runtime.state import WorkflowState
from handlers.registry import Registry

#: set in ``session.info`` by a command that made a job due now or started a timer: the
#: engine then wakes its in-process worker (to run the job, or to schedule its wake-up at
#: the timer's due time). The worker's own claims do not set it, or it would spin.
WORK_DUE = "biflow.work_due"


@dataclass(frozen=True)
class Services:
    """Long-lived, thread-safe parts shared by every command."""

    sandbox: Sandbox
    script_engine: SandboxedScriptEngine
    specs: SpecCache
    state: WorkflowState
    handlers: Registry
    job_max_attempts: int = 3
    job_backoff_seconds: float = 10.0
    #: an SMTP server is configured: e-mail in the outbox is pending delivery, not recorded
    delivers_email: bool = False


@dataclass(frozen=True)
class Context:
    session: Session
    now: datetime
    actor: Actor
    services: Services
