"""Deploy-time checks of the forms of a parsed process spec."""

from __future__ import annotations

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec

from engine import forms
from engine.errors import Problem


def check_spec(file: str, spec: BpmnProcessSpec) -> list[Problem]:
    problems = []
    for task_spec in spec.task_specs.values():
        form = getattr(task_spec, "form", None)
        if form is None:
            continue
        for _field_id, message in forms.problems(form):
            problems.append(Problem(file, task_spec.bpmn_id, task_spec.bpmn_name, message))
    return problems
