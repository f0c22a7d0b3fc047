"""Message events whose payload lands in the instance data as plain variables.

SpiffWorkflow's Camunda message stores a payload under ``<element>_Response``; process
owners expect the message's fields as variables (as Camunda's REST API does). With
``camunda:resultVariable`` set, the payload goes under that one name instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.camunda.specs.event_definitions import (
    MessageEventDefinition as CamundaMessageEventDefinition,
)

from engine.forms import Form, FormField


class MessageEventDefinition(CamundaMessageEventDefinition):
    def throw(self, my_task) -> None:
        payload: Any = {}
        if self.expression:
            payload = my_task.workflow.script_engine.evaluate(my_task, self.expression)
        event = BpmnEvent(self, payload={"payload": payload, "result_var": self.result_var})
        my_task.workflow.top_workflow.catch(event)

    def update_internal_data(self, my_task, event) -> None:
        my_task.internal_data[self.name] = dict(event.payload or {})

    def update_task_data(self, my_task) -> None:
        event_data = my_task.internal_data.get(self.name) or {}
        payload = event_data.get("payload")
        target = self.result_var or event_data.get("result_var")
        if target:
            my_task.data[target] = payload
        elif isinstance(payload, dict):
            my_task.set_data(**payload)


def message_event(name: str, payload: dict[str, Any] | None) -> BpmnEvent:
    """The event the engine delivers when an outside party sends message ``name``."""
    return BpmnEvent(MessageEventDefinition(name),
                     payload={"payload": dict(payload or {}), "result_var": None})


PAYLOAD_PREFIX = "payload:"
_PAYLOAD_TYPES = ("string", "long", "double", "boolean", "date")


def payload_form(properties: Mapping[str, str] | None) -> Form | None:
    """The payload a message event declares, as a form; None when it declares none.

    On the catching event: ``<camunda:property name="payload:FIELD" value="TYPE" />`` with
    TYPE one of string, long, double, boolean, date or ``enum:a|b|c``; a trailing ``?``
    makes the field optional. A declared payload is checked when the message arrives
    (unknown fields refused). Raises ValueError on a bad declaration.
    """
    declared = [FormField(**_payload_field(name[len(PAYLOAD_PREFIX):], value or ""))
                for name, value in (properties or {}).items() if name.startswith(PAYLOAD_PREFIX)]
    return Form(tuple(declared)) if declared else None


def _payload_field(name: str, value: str) -> dict[str, Any]:
    text = value.strip()
    required = not text.endswith("?")
    kind = text.rstrip("?").strip()
    if not name.isidentifier():
        raise ValueError(f"payload field '{name}' is not a valid variable name")
    if kind.startswith("enum:"):
        options = tuple((o.strip(), o.strip()) for o in kind[5:].split("|") if o.strip())
        if not options:
            raise ValueError(f"payload field '{name}': enum needs values (enum:a|b)")
        return {"id": name, "type": "enum", "required": required, "options": options}
    if kind not in _PAYLOAD_TYPES:
        raise ValueError(f"payload field '{name}' has type '{kind}'; use one of "
                         f"{', '.join(_PAYLOAD_TYPES)} or enum:a|b (append ? if optional)")
    return {"id": name, "type": kind, "required": required}


class MergingMessagesMixin:
    """Mixed into each event parser so that its message events use the class above."""

    def parse_message_event(self, message_event):
        parsed = super().parse_message_event(message_event)
        return MessageEventDefinition(parsed.name, parsed.correlation_properties,
                                      parsed.expression, parsed.result_var)
