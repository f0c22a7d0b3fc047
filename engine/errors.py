"""One error type per kind of failure. The API maps each to one HTTP status."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


class BiflowError(Exception):
    """Base of every error the engine raises on purpose."""

    code = "error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class NotFound(BiflowError):
    code = "not_found"


class Forbidden(BiflowError):
    code = "forbidden"


class Conflict(BiflowError):
    """The state changed under the command: a concurrent command won, or the task is gone."""

    code = "conflict"


class ValidationFailed(BiflowError):
    """Submitted data does not fit: ``details`` maps each field at fault to its messages."""

    code = "validation_failed"


@dataclass(frozen=True)
class Problem:
    """One fault of a model, named by file and BPMN element."""

    file: str
    element_id: str | None
    element_name: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.element_id or '-'}: {self.message}"


class DeploymentFailed(BiflowError):
    """A deployment was refused; ``problems`` lists every fault found."""

    code = "deployment_failed"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"the deployment has {len(problems)} problem(s)",
                         details=[asdict(p) for p in problems])
        self.problems = problems


class ProcessError(BiflowError):
    """The model failed while running (an expression, a missing variable, a bad timer).

    The command is rolled back; ``details`` names the element at fault.
    """

    code = "process_error"
