"""SpiffWorkflow's script engine, with ``eval``/``exec`` replaced by the sandbox."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.clock import Clock
from engine.expressions.bounds import Budget
from engine.expressions.sandbox import ExpressionError, Sandbox
from engine.expressions.scripts import parse_script


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates in the sandbox with the task data (and any external context) as names."""

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__({})
        self.sandbox = sandbox

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        names = {**external_context, **context} if external_context else context
        return self.sandbox.evaluate(expression, names)

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        budget = Budget()  # the lines of a script share one budget
        for assignment in parse_script(script, self.sandbox.function_names):
            names = {**external_context, **context} if external_context else context
            context[assignment.target] = self.sandbox.evaluate(assignment.expression.source,
                                                               names, budget)
        return True

    def call_service(self, context, **kwargs):
        raise NotImplementedError("service tasks run through the job executor")


class SandboxedScriptEngine(PythonScriptEngine):
    """Also carries the engine clock, which the timer events read (engine/dialect/timers)."""

    def __init__(self, sandbox: Sandbox, clock: Clock | None = None) -> None:
        super().__init__(environment=SandboxEnvironment(sandbox))
        self.sandbox = sandbox
        self.clock = clock or Clock()

    def validate(self, expression: str) -> None:
        """SpiffWorkflow's DMN engine probes with this and expects ``SyntaxError``."""
        try:
            self.sandbox.check(expression)
        except ExpressionError as exc:
            raise SyntaxError(exc.message) from None
