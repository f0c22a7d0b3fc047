"""The BPMN dialect biflow reads: BPMN 2.0 with Camunda 7 extensions (see DESIGN.md)."""

from engine.dialect.parser import BiflowParser
from engine.dialect.specs import Assignment, ExternalServiceTask, UserTask

__all__ = ["Assignment", "BiflowParser", "ExternalServiceTask", "UserTask"]
