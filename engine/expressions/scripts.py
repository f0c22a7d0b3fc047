"""Script tasks, restricted to what the sandbox can run: one ``name = expression`` per line.

    approved = amount <= limit and not flagged
    fee = round(amount * 0.01, 2)

Anything else (loops, imports, function definitions, attribute assignment) is refused
at deploy time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from engine.expressions.sandbox import CompiledExpression, ExpressionError, check

SCRIPT_FORMATS = ("", "python", "biflow")
#: characters of a script; each line is also bounded as an expression is
MAX_SCRIPT_LENGTH = 20_000


@dataclass(frozen=True)
class Assignment:
    target: str
    expression: CompiledExpression


def parse_script(script: str | None, functions: Iterable[str] = ()) -> list[Assignment]:
    """Split a script into checked assignments; raise :class:`ExpressionError` if refused."""
    if not script or not script.strip():
        raise ExpressionError("the script is empty")
    if len(script) > MAX_SCRIPT_LENGTH:
        raise ExpressionError(f"the script exceeds {MAX_SCRIPT_LENGTH:,} characters")
    try:
        module = ast.parse(script, mode="exec")
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error on line {exc.lineno}: {exc.msg}", script) from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionError("the script cannot be parsed", script) from None
    names = frozenset(functions)
    assignments = []
    for statement in module.body:
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            raise ExpressionError(
                f"line {statement.lineno}: scripts may only contain 'name = expression' lines",
                script)
        target = statement.targets[0].id
        if target.startswith("_"):
            raise ExpressionError(f"line {statement.lineno}: the name '{target}' is not allowed",
                                  script)
        source = ast.get_source_segment(script, statement.value) or ""
        try:
            compiled = check(source, names)
        except ExpressionError as exc:
            raise ExpressionError(f"line {statement.lineno}: {exc.message}", script) from None
        assignments.append(Assignment(target, compiled))
    return assignments
