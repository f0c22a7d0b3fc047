"""Static checking and evaluation of expressions, on top of simpleeval.

Two layers of defence. The static check walks the syntax tree against an allow-list of
node kinds, names and methods, bounds its length and nesting, and evaluates its constant
parts (bounded), so a condition reaching for ``__class__`` or computing ``9**9**9`` is
refused at deploy time. simpleeval then evaluates the tree with no access to builtins, held
to the bounds of :mod:`engine.expressions.bounds` on the size of values and the work done.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import simpleeval

from engine.expressions import camunda
from engine.expressions.bounds import Budget
from engine.expressions.evaluator import BoundedEvaluator
from engine.expressions.literals import is_iso8601

MAX_EXPRESSION_LENGTH = 4000
#: levels of the syntax tree; each costs the evaluator a few frames of the thread's stack
MAX_DEPTH = 100
#: characters of a failure's text kept in its message (a KeyError may quote any value)
_MAX_REASON = 300

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

#: attributes that lead from a value to frames, code and formatting, beyond ``_`` ones
_DENIED_ATTRIBUTES = frozenset({
    "format", "format_map", "mro", "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame",
    "cr_code", "cr_await", "ag_frame", "ag_code", "ag_await", "tb_frame", "tb_next",
    "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "co_code", "co_consts",
    "im_func", "im_self", "im_class",
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
    _check_depth(tree, text)
    _check_tree(tree, text)
    _check_constant_parts(tree.body, text)
    return CompiledExpression(text, python, tree.body)


def _check_depth(tree: ast.AST, text: str) -> None:
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the expression nests deeper than {MAX_DEPTH} levels", text)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _check_tree(tree: ast.AST, text: str) -> None:
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ExpressionError(f"{_describe(node)} is not allowed in expressions", text)
        if isinstance(node, ast.Name) and (node.id.startswith("_") or node.id in _DENIED_NAMES):
            raise ExpressionError(f"the name '{node.id}' is not allowed", text)
        if isinstance(node, ast.Attribute) and (node.attr.startswith(("_", "func_"))
                                                or node.attr in _DENIED_ATTRIBUTES):
            raise ExpressionError(f"the attribute '{node.attr}' is not allowed", text)
        if isinstance(node, ast.Constant) and isinstance(node.value, bytes | complex):
            kind = "byte strings" if isinstance(node.value, bytes) else "complex numbers"
            raise ExpressionError(f"{kind} are not allowed", text)
        if isinstance(node, ast.keyword) and node.arg is None:
            raise ExpressionError("unpacking (**) is not allowed in expressions", text)


#: nodes whose value follows from their parts alone (no names, no calls)
_FOLDABLE = (ast.Constant, ast.UnaryOp, ast.BinOp, ast.BoolOp, ast.Compare, ast.IfExp,
             ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Subscript, ast.Slice)


def _check_constant_parts(tree: ast.expr, text: str) -> None:
    """Evaluate (bounded) the largest parts made of literals alone: ``9**9**9``, ``'a' * 10**10``
    or ``1 / 0`` fail the same at every run, so they are refused now, at deploy time."""
    parts: list[ast.expr] = []
    if _constant(tree, parts):
        parts.append(tree)
    for part in parts:
        if not isinstance(part, ast.Constant):
            snippet = ast.unparse(part)
            try:
                _run(BoundedEvaluator({}, {}, Budget()), snippet, part)
            except ExpressionError as exc:
                raise ExpressionError(f"{exc.message} (in '{snippet[:60]}')", text) from None


def _constant(node: ast.expr, parts: list[ast.expr]) -> bool:
    """Whether ``node`` is made of literals alone; collects its largest such parts if not."""
    children = [child.value if isinstance(child, ast.keyword) else child
                for child in ast.iter_child_nodes(node)
                if isinstance(child, ast.expr | ast.keyword)]
    constant = [_constant(child, parts) for child in children]
    if isinstance(node, _FOLDABLE) and all(constant):
        return True
    parts.extend(child for child, is_constant in zip(children, constant, strict=True)
                 if is_constant)
    return False


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


def _run(evaluator: BoundedEvaluator, text: str, tree: ast.expr) -> Any:
    """Evaluate; whatever the evaluation raises is the expression's failure."""
    try:
        return evaluator.eval(text, previously_parsed=tree)
    except simpleeval.NameNotDefined as exc:
        raise ExpressionError(f"'{exc.name}' is not defined", text) from None
    except simpleeval.InvalidExpression as exc:
        raise ExpressionError(_brief(str(exc)), text) from None
    except ExpressionError:
        raise
    except Exception as exc:  # a model's fault, whatever its kind
        raise ExpressionError(_brief(f"{type(exc).__name__}: {exc}"), text) from None


def _brief(reason: str) -> str:
    return reason if len(reason) <= _MAX_REASON else reason[:_MAX_REASON] + "..."


class Sandbox:
    """Evaluates checked expressions with a fixed set of functions and caller-given names."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]]) -> None:
        self.functions = dict(functions)
        self.function_names = frozenset(self.functions)

    def check(self, text: str) -> CompiledExpression:
        return check(text, self.function_names)

    def evaluate(self, text: str, names: Mapping[str, Any], budget: Budget | None = None) -> Any:
        """Evaluate within ``budget`` (a fresh one, unless a script shares one)."""
        compiled = self.check(text)
        if compiled.literal is not None:
            return compiled.literal
        assert compiled.tree is not None
        evaluator = BoundedEvaluator(self.functions, dict(names), budget or Budget())
        return _run(evaluator, text, compiled.tree)
