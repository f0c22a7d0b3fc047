"""Static checking and evaluation of expressions, on top of simpleeval.

Two layers of defence. The static check walks the syntax tree against an allow-list of
node kinds, names and methods, so a condition reaching for ``__class__`` is refused at
deploy time. simpleeval then evaluates the tree with no access to builtins, refusing
underscore attributes and bounding powers, string lengths and collection sizes.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import simpleeval

from engine.expressions import camunda
from engine.expressions.literals import is_iso8601

MAX_EXPRESSION_LENGTH = 4000

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Attribute, ast.Subscript,
    ast.Slice, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.Call, ast.keyword,
    ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
    ast.Is, ast.IsNot, ast.IfExp,
)

#: Methods an expression may call on a value (strings, lists, dicts).
SAFE_METHODS = frozenset({
    "lower", "upper", "strip", "lstrip", "rstrip", "startswith", "endswith", "title",
    "isdigit", "isalpha", "split", "get", "keys", "values", "items", "count", "index",
})

_DENIED_NAMES = frozenset({
    "eval", "exec", "compile", "open", "input", "globals", "locals", "vars", "dir",
    "getattr", "setattr", "delattr", "hasattr", "type", "object", "super", "help",
    "breakpoint", "memoryview", "classmethod", "staticmethod", "property", "exit", "quit",
})


class ExpressionError(ValueError):
    """An expression is malformed, refused by the sandbox, or failed to evaluate."""

    def __init__(self, message: str, expression: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression


@dataclass(frozen=True)
class CompiledExpression:
    """A checked expression: either an ISO 8601 literal or a Python syntax tree."""

    source: str
    python: str
    tree: ast.expr | None
    literal: str | None = None

    @property
    def names(self) -> frozenset[str]:
        if self.tree is None:
            return frozenset()
        return frozenset(n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name))


def check(text: str, functions: Iterable[str] = ()) -> CompiledExpression:
    """Check an expression statically; raise :class:`ExpressionError` naming the fault."""
    compiled = compile_expression(text)
    if compiled.tree is not None:
        _check_calls(compiled, frozenset(functions))
    return compiled


@lru_cache(maxsize=4096)
def compile_expression(text: str) -> CompiledExpression:
    """Translate and statically check an expression; results are cached by text."""
    if text is None or not text.strip():
        raise ExpressionError("the expression is empty", text)
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_EXPRESSION_LENGTH} characters")
    stripped = text.strip()
    if is_iso8601(stripped):
        return CompiledExpression(text, repr(stripped), None, literal=stripped)
    try:
        python = camunda.translate(text)
        tree = ast.parse(python, mode="eval")
    except camunda.TranslationError as exc:
        raise ExpressionError(str(exc), text) from None
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error: {exc.msg}", text) from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionError("the expression cannot be parsed", text) from None
    _check_tree(tree, text)
    return CompiledExpression(text, python, tree.body)


def _check_tree(tree: ast.AST, text: str) -> None:
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ExpressionError(f"{_describe(node)} is not allowed in expressions", text)
        if isinstance(node, ast.Name) and (node.id.startswith("_") or node.id in _DENIED_NAMES):
            raise ExpressionError(f"the name '{node.id}' is not allowed", text)
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ExpressionError(f"the attribute '{node.attr}' is not allowed", text)
        if isinstance(node, ast.Constant) and isinstance(node.value, bytes):
            raise ExpressionError("byte strings are not allowed", text)


def _check_calls(compiled: CompiledExpression, functions: frozenset[str]) -> None:
    assert compiled.tree is not None
    for node in ast.walk(compiled.tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name):
            if func.id not in functions:
                raise ExpressionError(f"unknown function '{func.id}'", compiled.source)
        elif isinstance(func, ast.Attribute):
            if func.attr not in SAFE_METHODS:
                raise ExpressionError(f"the method '{func.attr}' is not allowed", compiled.source)
        else:
            raise ExpressionError("only named functions may be called", compiled.source)


def _describe(node: ast.AST) -> str:
    names = {
        ast.Lambda: "lambda", ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
        ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator",
        ast.JoinedStr: "an f-string", ast.NamedExpr: "assignment (:=)",
        ast.Starred: "unpacking (*)",
    }
    return names.get(type(node), type(node).__name__)


def _safe_mod(left: Any, right: Any) -> Any:
    """``%`` on numbers only: ``'%0999999999d' % 1`` would build a string of any length."""
    if isinstance(left, str | bytes):
        raise simpleeval.FeatureNotAvailable("string formatting with '%' is not allowed")
    return left % right


_OPERATORS = {**simpleeval.DEFAULT_OPERATORS, ast.Mod: _safe_mod}


class _Evaluator(simpleeval.EvalWithCompoundTypes):
    ATTR_INDEX_FALLBACK = True


class Sandbox:
    """Evaluates checked expressions with a fixed set of functions and caller-given names."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]]) -> None:
        self.functions = dict(functions)
        self.function_names = frozenset(self.functions)

    def check(self, text: str) -> CompiledExpression:
        return check(text, self.function_names)

    def evaluate(self, text: str, names: Mapping[str, Any]) -> Any:
        compiled = self.check(text)
        if compiled.literal is not None:
            return compiled.literal
        evaluator = _Evaluator(operators=_OPERATORS, functions=self.functions, names=dict(names))
        try:
            return evaluator.eval(compiled.python, previously_parsed=compiled.tree)
        except simpleeval.NameNotDefined as exc:
            raise ExpressionError(f"'{exc.name}' is not defined", text) from None
        except simpleeval.InvalidExpression as exc:
            raise ExpressionError(str(exc), text) from None
        except ExpressionError:
            raise
        except (ArithmeticError, TypeError, ValueError, KeyError, IndexError,
                AttributeError, RecursionError, MemoryError) as exc:
            raise ExpressionError(f"{type(exc).__name__}: {exc}", text) from None
