"""The one expression sandbox of biflow.

Every gateway condition, timer value, due date, message correlation and script line
is evaluated here and nowhere else: SpiffWorkflow's own ``eval``/``exec`` is replaced
at the environment level by :mod:`engine.expressions.spiff`.
"""

from engine.expressions.sandbox import ExpressionError, Sandbox, check, compile_expression

__all__ = ["ExpressionError", "Sandbox", "check", "compile_expression"]
