"""The path a command took through the model, for the audit trail.

Each command that moves an instance appends one ``path.taken`` event: the BPMN elements it
completed, in order, and the sequence flows between them. Auditors read which branch a
file took; the scenario tests measure model coverage from it.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.specs.defaults import InclusiveGateway, ParallelGateway

from engine import audit
from engine.deployment.bundle import SpecBundle
from engine.runtime.context import Context

#: joins take every incoming flow; a merging exclusive gateway only the one that came
_JOINS = (ParallelGateway, InclusiveGateway)


def _element(task) -> str | None:
    return getattr(task.task_spec, "bpmn_id", None)


def _flows_into(task, bundle: SpecBundle) -> list[str]:
    """The sequence flows by which ``task`` was reached: from the nearest BPMN element up the
    task tree, and for a parallel or inclusive join from its other inputs too."""
    target, container = _element(task), task.workflow.spec.name
    sources: list[str] = []
    parent = task.parent
    while parent is not None and _element(parent) is None:
        parent = parent.parent
    if parent is not None:
        sources.append(_element(parent))
    if len(task.task_spec.inputs) > 1 and isinstance(task.task_spec, _JOINS):
        sources += [spec.bpmn_id for spec in task.task_spec.inputs
                    if getattr(spec, "bpmn_id", None) and spec.bpmn_id not in sources]
    return [flow for source in sources
            if (flow := bundle.flows.get((container, source, target))) is not None]


def record(ctx: Context, row, bundle: SpecBundle, completed: list) -> None:
    """Elements of a called process or an embedded sub-process are written
    ``process/element``; those of the instance's own process by their id alone."""
    elements: list[str] = []
    flows: list[str] = []
    for task in completed:
        element = _element(task)
        if element is None:
            continue
        owner = task.workflow.spec.name
        prefix = "" if owner == row.process_key else f"{owner}/"
        elements.append(prefix + element)
        flows += [prefix + f for f in _flows_into(task, bundle) if prefix + f not in flows]
    if elements:
        audit.record(ctx.session, now=ctx.now, actor=ctx.actor.user_id, action="path.taken",
                     instance=row, data={"elements": elements, "flows": flows})
