"""Which timers fired in a command, for the audit trail.

Timers fire in the worker's firing command and also inside any other command on the
instance whose moment is past their due time (SpiffWorkflow refreshes timers after each
engine step). Wherever one fires, :func:`record_fired` writes its ``timer.fired`` event:
the loaded instance remembers the waiting timers, the save compares.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine import audit
from engine.dialect.timers import StartTimer
from engine.runtime.context import Context

_FIRED = TaskState.READY | TaskState.STARTED | TaskState.COMPLETED

def timer_definitions(task_spec) -> list[TimerEventDefinition]:
    """The timers a task spec waits for (a multiple event may hold several)."""
    definition = getattr(task_spec, "event_definition", None)
    found = (definition.event_definitions if isinstance(definition, MultipleEventDefinition)
             else [definition])
    return [d for d in found if isinstance(d, TimerEventDefinition)
            and not isinstance(d, StartTimer)]


def waiting_timers(workflow: BpmnWorkflow) -> dict[str, int]:
    """Timers waiting now: task id -> occurrences fired so far (repeating timers)."""
    waiting: dict[str, int] = {}
    for task in workflow.get_tasks(state=TaskState.WAITING):
        if timer_definitions(task.task_spec):
            value = task._get_internal_data("event_value")
            waiting[str(task.id)] = value.get("count", 0) if isinstance(value, dict) else 0
    return waiting


@dataclass(frozen=True)
class Fired:
    task_id: str
    element_id: str
    due: str | None
    occurrence: int | None = None


def fired_since(workflow: BpmnWorkflow, before: dict[str, int]) -> list[Fired]:
    """The timers of ``before`` that have fired since (each occurrence of a cycle once)."""
    fired: list[Fired] = []
    for task_id, count in before.items():
        task = workflow.get_task_from_id(UUID(task_id))
        if task is None:
            continue
        value = task._get_internal_data("event_value")
        element = task.task_spec.bpmn_id
        if isinstance(value, dict):
            fired.extend(Fired(task_id, element, None, n + 1)
                         for n in range(count, value.get("count", 0)))
        elif task.state & _FIRED:
            fired.append(Fired(task_id, element, value))
    return fired


def fired_at_once(completed: list, before: dict[str, int]) -> list[Fired]:
    """Timers that fired as soon as they were reached (their moment had passed already):
    completed in this command without having waited."""
    return [Fired(str(task.id), task.task_spec.bpmn_id, task._get_internal_data("event_value"))
            for task in completed if str(task.id) not in before
            and isinstance(getattr(task.task_spec, "event_definition", None),
                           TimerEventDefinition)
            and not isinstance(task.task_spec.event_definition, StartTimer)]


def record_fired(ctx: Context, row, workflow: BpmnWorkflow, before: dict[str, int],
                 completed: list) -> list[Fired]:
    fired = fired_since(workflow, before) + fired_at_once(completed, before)
    for each in fired:
        data = {"due": each.due} if each.occurrence is None else {"occurrence": each.occurrence}
        audit.record(ctx.session, now=ctx.now, actor=ctx.actor.user_id, action="timer.fired",
                     instance=row, task_id=each.task_id, element_id=each.element_id, data=data)
    return fired
