"""Timer events on the engine's clock and the calendar of the law.

SpiffWorkflow's own timers read ``datetime.now()`` and add months by counting days; these
subclasses read the engine clock (so tests and the dev clock move them), compute due
times with :mod:`engine.calendar` (dates mean the end of the day in Brussels, months clamp)
and keep the due time in the task (``event_value``, an ISO UTC instant) where the engine
reads it to write the timer's ``waits`` row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from engine.calendar.cycles import Cycle, is_cron, parse_cycle
from engine.calendar.moments import to_moment

#: a cycle fires at most this many missed occurrences in one refresh (a long outage)
MAX_CATCH_UP = 100


def _now(my_task) -> datetime:
    return my_task.workflow.script_engine.clock.now()


def _value(my_task, expression: str) -> Any:
    return my_task.workflow.script_engine.evaluate(my_task, expression)


def _failure(my_task, message: str) -> WorkflowTaskException:
    return WorkflowTaskException(message, task=my_task)


class _OneShot:
    """A timer that fires once, at a moment computed when the task starts waiting."""

    expression: str
    what = "timer"

    def due(self, my_task) -> datetime:
        value = _value(my_task, self.expression)
        self.check_value(my_task, value)
        try:
            return to_moment(value, _now(my_task))
        except ValueError as exc:
            raise _failure(my_task, f"the {self.what} gave {value!r}: {exc}") from None

    def check_value(self, my_task, value: Any) -> None:
        pass

    def has_fired(self, my_task) -> bool:
        rivals = _rivals(my_task)
        if rivals:
            return self._first_of(my_task, rivals)
        if my_task._get_internal_data("event_fired", False):
            return True
        value = my_task._get_internal_data("event_value")
        if value is None:
            value = self.due(my_task).isoformat()
            my_task._set_internal_data(event_value=value)
        if datetime.fromisoformat(value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)

    def _first_of(self, my_task, rivals: list[_OneShot]) -> bool:
        """Behind an event-based gateway each timer keeps its own due time (``dues``), and
        only the earliest fires (the first in the file on a tie) however far the clock
        jumped; ``event_value`` holds that earliest moment, for the engine's waits row."""
        dues = my_task._get_internal_data("dues")
        if dues is None:
            dues = [timer.due(my_task).isoformat() for timer in rivals]
            my_task._set_internal_data(dues=dues, event_value=min(
                dues, key=datetime.fromisoformat))
        first = min(range(len(dues)), key=lambda n: datetime.fromisoformat(dues[n]))
        return (rivals[first] is self
                and datetime.fromisoformat(dues[first]) <= _now(my_task))


def _rivals(my_task) -> list[_OneShot]:
    """The one-shot timers of a task that waits for several events (event-based gateway)."""
    definition = getattr(my_task.task_spec, "event_definition", None)
    found = getattr(definition, "event_definitions", None) or []
    return [d for d in found if isinstance(d, _OneShot)] if len(found) > 1 else []


class TimeDateTimer(_OneShot, TimeDateEventDefinition):
    what = "timeDate"


class DurationTimer(_OneShot, DurationTimerEventDefinition):
    what = "timeDuration"

    def check_value(self, my_task, value: Any) -> None:
        if not (isinstance(value, str) and value.strip().upper().startswith("P")):
            raise _failure(my_task, f"the timeDuration gave {value!r}, not an ISO 8601 "
                           "duration such as P5D (use timeDate for a date)")


class CycleTimer(CycleTimerEventDefinition):
    """Fires at each occurrence of a repeating interval or cron expression.

    ``event_value`` keeps ``{"cycles": fired-or-not-done, "next": ISO, "count": n, ...}``;
    ``cycles`` is 0 once the repetitions are used up (SpiffWorkflow's convention).
    """

    def _state(self, my_task) -> dict[str, Any]:
        state = my_task._get_internal_data("event_value")
        if state is None:
            text = (self.expression if is_cron(self.expression)
                    else _value(my_task, self.expression))
            try:
                cycle = parse_cycle(str(text), _now(my_task))
            except ValueError as exc:
                raise _failure(my_task, f"the timeCycle: {exc}") from None
            state = {**cycle.state(), "count": 0, "cycles": -1, "next": cycle.first.isoformat()}
        return state

    def cycle_complete(self, my_task) -> bool:
        """True when an occurrence fell due (the caller then starts one more path)."""
        state = self._state(my_task)
        fired = False
        if state["cycles"] != 0:
            now, cycle = _now(my_task), Cycle.from_state(state)
            due = datetime.fromisoformat(state["next"])
            if due <= now:
                fired = True
                state["count"] += 1
                following = cycle.occurrence(state["count"], due)
                if following is None:
                    state["cycles"] = 0
                else:
                    state["next"] = following.isoformat()
        else:
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=state)
        return fired

    def update_task(self, my_task) -> None:
        """One outgoing path per occurrence that fell due (missed ones included)."""
        for _ in range(MAX_CATCH_UP):
            if not self.cycle_complete(my_task):
                return
            for output in my_task.task_spec.outputs:
                child = my_task._add_child(output, TaskState.FUTURE)
                child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)
                child.task_spec._update(child)


class StartTimer(TimerEventDefinition):
    """The timer of a timer start event.

    The engine schedules it per process version (``start_timers`` rows, see
    :mod:`engine.runtime.start_timers`); inside an instance it only says whether this start
    event is the one that began the instance.
    """

    def __init__(self, name, expression, kind: str, **kwargs) -> None:
        super().__init__(name, expression, **kwargs)
        self.kind = kind

    def has_fired(self, my_task) -> bool:
        return my_task._get_internal_data("event_fired", False)


class TimerEventsMixin:
    """Mixed into each event parser so that its timers are the classes above."""

    def parse_timer_event(self, event):
        parsed = super().parse_timer_event(event)
        kinds = {TimeDateEventDefinition: (TimeDateTimer, "timeDate"),
                 DurationTimerEventDefinition: (DurationTimer, "timeDuration"),
                 CycleTimerEventDefinition: (CycleTimer, "timeCycle")}
        cls, kind = kinds[type(parsed)]
        if self.node.tag == full_tag("startEvent"):
            return StartTimer(parsed.name, parsed.expression, kind,
                              description=parsed.description)
        return cls(parsed.name, parsed.expression, description=parsed.description)
