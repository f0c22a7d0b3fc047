"""Task spec classes that carry the Camunda attributes SpiffWorkflow drops.

Specs are never serialized (an instance stores its state without the spec and the spec
is rebuilt from the deployed XML), so these classes need no serializer converters.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.camunda.specs.user_task import Form
from SpiffWorkflow.camunda.specs.user_task import UserTask as CamundaUserTask

#: ``camunda:property`` of a user task naming the user tasks its worker must not have done
FOUR_EYES = "fourEyesWith"


def slugify(name: str) -> str:
    """``"Licensing Unit"`` -> ``"licensing-unit"``; accents are folded first."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


def split_list(value: str | None) -> tuple[str, ...]:
    """Camunda's comma-separated lists: ``"a, b"`` -> ``("a", "b")``."""
    if not value:
        return ()
    return tuple(item.strip() for item in value.split(",") if item.strip())


@dataclass(frozen=True)
class Assignment:
    """Who may work on a user task and by when (``camunda:`` attributes or the lane)."""

    candidate_groups: tuple[str, ...] = ()
    candidate_users: tuple[str, ...] = ()
    assignee: str | None = None
    due_date: str | None = None
    follow_up_date: str | None = None
    priority: str | None = None

    @property
    def has_candidates(self) -> bool:
        return bool(self.candidate_groups or self.candidate_users or self.assignee)


@dataclass(frozen=True)
class ProcessMeta:
    """Process-level attributes: who may start it, its version tag, its properties."""

    starter_groups: tuple[str, ...] = ()
    starter_users: tuple[str, ...] = ()
    version_tag: str | None = None
    properties: dict[str, str] = field(default_factory=dict)


class UserTask(CamundaUserTask):
    """A user task with its assignment and ``camunda:properties``."""

    def __init__(self, wf_spec, bpmn_id, form: Form, assignment: Assignment | None = None,
                 **kwargs):
        super().__init__(wf_spec, bpmn_id, form, **kwargs)
        self.assignment = assignment or Assignment()

    @property
    def properties(self) -> dict[str, str]:
        return dict(getattr(self, "extensions", None) or {})

    @property
    def four_eyes_with(self) -> tuple[str, ...]:
        """Element ids of the user tasks whose completers may not work on this one."""
        return split_list(self.properties.get(FOUR_EYES))


class ExternalServiceTask(ServiceTask):
    """``camunda:type="external"``: waits (READY) until a handler or an external worker ends it.

    ``manual`` keeps SpiffWorkflow's engine steps from running it; the job executor does.
    """

    def __init__(self, wf_spec, bpmn_id, topic: str | None = None, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic
        self.manual = True

    def _run_hook(self, my_task) -> bool:
        # Run only by the engine once the handler's output is in the task data: it is done.
        return True

    @property
    def properties(self) -> dict[str, str]:
        return dict(getattr(self, "extensions", None) or {})
