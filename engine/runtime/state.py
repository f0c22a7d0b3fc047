"""SpiffWorkflow state without the spec: the spec comes from the pinned definition version."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.specs.event_definitions import (
    MessageEventDefinition as CamundaMessage,
)

from engine.deployment.bundle import SpecBundle
from engine.dialect.messages import MessageEventDefinition as BiflowMessage
from engine.dialect.timers import CycleTimer, DurationTimer, TimeDateTimer


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec=None, subprocess_specs=None) -> BpmnWorkflow:
        dct.pop("spec", None)
        dct.pop("subprocess_specs", None)
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _uuid(text: str) -> UUID:
    return UUID(text)


class WorkflowState:
    """Dumps and loads workflows; one per engine (the registry is reusable)."""

    def __init__(self) -> None:
        config = dict(CAMUNDA_CONFIG)
        config[BpmnWorkflow] = _SpeclessWorkflowConverter
        # Our event definitions (engine/dialect) may appear in task data (an event-based
        # gateway keeps the events it saw): they serialize as the classes they refine.
        for ours, base in ((BiflowMessage, CamundaMessage),
                           (TimeDateTimer, TimeDateEventDefinition),
                           (DurationTimer, DurationTimerEventDefinition),
                           (CycleTimer, CycleTimerEventDefinition)):
            config[ours] = config[base]
        self._serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))

    def dumps(self, workflow: BpmnWorkflow) -> str:
        return self._serializer.serialize_json(workflow)

    def loads(self, text: str, bundle: SpecBundle, script_engine) -> BpmnWorkflow:
        dct = json.loads(text)
        self._serializer.migrate(dct)
        workflow = self._serializer.from_dict(dct, spec=bundle.spec,
                                              subprocess_specs=bundle.subprocess_specs)
        workflow.script_engine = script_engine
        return workflow
