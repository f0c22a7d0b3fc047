"""Loading an instance into SpiffWorkflow, running it, and saving it back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.db.models import Instance
from engine.deployment.bundle import SpecBundle
from engine.deployment.repository import load_bundle
from engine.dialect.specs import UserTask
from engine.errors import NotFound, ProcessError
from engine.expressions import ExpressionError
from engine.runtime import fired, path, sync
from engine.runtime.context import Context

T = TypeVar("T")


@dataclass
class Loaded:
    row: Instance
    workflow: BpmnWorkflow
    bundle: SpecBundle
    #: ids of the user tasks that were ready when loaded: exactly the instance's open inbox rows
    open_user_tasks: frozenset[str] = field(default_factory=frozenset)
    #: the timers waiting when loaded (see :mod:`engine.runtime.fired`)
    waiting_timers: dict[str, int] = field(default_factory=dict)
    #: tasks completed by this command, in order (for the trail: see :mod:`path`)
    completed: list = field(default_factory=list)

    def run_task(self, task) -> None:
        """Complete a ready task (a user task's form, a service task's result)."""
        self.workflow.run_task_from_id(task.id)
        self.completed.append(task)


def ready_user_tasks(workflow: BpmnWorkflow) -> dict[str, object]:
    return {str(task.id): task for task in workflow.get_tasks(state=TaskState.READY)
            if isinstance(task.task_spec, UserTask)}


def bundle_of(ctx: Context, row: Instance) -> SpecBundle:
    return load_bundle(ctx.session, ctx.services.specs, row.definition_id, list(row.pinned))


def load(ctx: Context, instance_id: str) -> Loaded:
    row = ctx.session.scalars(select(Instance).where(Instance.id == instance_id)).first()
    if row is None:
        raise NotFound(f"no instance with id '{instance_id}'")
    return load_row(ctx, row)


def load_row(ctx: Context, row: Instance) -> Loaded:
    bundle = bundle_of(ctx, row)
    workflow = ctx.services.state.loads(row.workflow, bundle, ctx.services.script_engine)
    timers = fired.waiting_timers(workflow) if bundle.has_waits else {}
    return Loaded(row, workflow, bundle, frozenset(ready_user_tasks(workflow)), timers)


def run(loaded: Loaded, step: Callable[[BpmnWorkflow], T]) -> T:
    """Run ``step`` then the engine steps; model failures become :class:`ProcessError`."""
    try:
        result = step(loaded.workflow)
        loaded.workflow.do_engine_steps(did_complete_task=loaded.completed.append)
        return result
    except SpiffWorkflowException as exc:
        raise _process_error(exc) from exc
    except ExpressionError as exc:
        raise ProcessError(f"an expression failed: {exc.message}",
                           details={"expression": exc.expression}) from exc


def _process_error(exc: SpiffWorkflowException) -> ProcessError:
    task = getattr(exc, "task", None)
    spec = getattr(task, "task_spec", None) or getattr(exc, "task_spec", None)
    cause = exc.__cause__ or exc.__context__
    reason = getattr(cause, "message", None) or str(cause or exc)
    element_id = getattr(spec, "bpmn_id", None)
    message = f"the model failed at '{element_id}': {reason}" if element_id else str(exc)
    return ProcessError(message, details={"element_id": element_id,
                                          "element_name": getattr(spec, "bpmn_name", None),
                                          "reason": reason})


def save(ctx: Context, loaded: Loaded) -> None:
    """Store the workflow's state and bring inbox rows, jobs and waits in step with it."""
    loaded.row.workflow = ctx.services.state.dumps(loaded.workflow)
    loaded.row.updated_at = ctx.now
    sync.synchronise(ctx, loaded.row, loaded.workflow, loaded.bundle, loaded.open_user_tasks)
    cycles: list = []
    if loaded.bundle.has_waits:
        cycles = [loaded.workflow.get_task_from_id(UUID(each.task_id))
                  for each in fired.record_fired(ctx, loaded.row, loaded.workflow,
                                                 loaded.waiting_timers, loaded.completed)
                  if each.occurrence is not None]
    # a repeating timer stays waiting when it fires: its firings count as steps taken
    path.record(ctx, loaded.row, loaded.bundle, cycles + loaded.completed)
