"""simpleeval's evaluator, held to a :class:`~engine.expressions.bounds.Budget`.

Every step is charged; every value a step makes is bounded; operators and calls are
charged what they read; repetitions, concatenations and powers are refused before they
are computed when their result would be too big.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

import simpleeval

from engine.expressions import bounds
from engine.expressions.bounds import Budget

#: results that exist already (instance data, the functions, literals): not made, not measured
_FOUND = (ast.Name, ast.Attribute, ast.Constant)
#: containers written out, which may hold (and so multiply) any value
_BUILT = (ast.List, ast.Tuple, ast.Set, ast.Dict)


def _modulo(left: Any, right: Any) -> Any:
    """``%`` on numbers only: ``'%0999999999d' % 1`` would build a string of any length."""
    if isinstance(left, str | bytes):
        raise simpleeval.FeatureNotAvailable("string formatting with '%' is not allowed")
    return left % right


class BoundedEvaluator(simpleeval.EvalWithCompoundTypes):
    ATTR_INDEX_FALLBACK = True

    def __init__(self, functions: Mapping[str, Callable[..., Any]], names: Mapping[str, Any],
                 budget: Budget) -> None:
        super().__init__(functions=dict(functions), names=names)
        self.budget = budget
        operators = {**simpleeval.DEFAULT_OPERATORS, ast.Mod: _modulo,
                     ast.Mult: self._multiply, ast.Add: self._add, ast.Pow: self._power}
        self.operators = {kind: self._charging(kind, operator)
                          for kind, operator in operators.items()}

    def _charging(self, kind: type, operator: Callable[..., Any]) -> Callable[..., Any]:
        charge = self.budget.compare if issubclass(kind, ast.cmpop) else self.budget.read

        def operate(*operands: Any) -> Any:
            charge(*operands)
            return operator(*operands)
        return operate

    def _multiply(self, left: Any, right: Any) -> Any:
        bounds.repetition(self.budget, left, right)
        return left * right

    def _add(self, left: Any, right: Any) -> Any:
        bounds.concatenation(self.budget, left, right)
        return left + right

    @staticmethod
    def _power(base: Any, exponent: Any) -> Any:
        bounds.power(base, exponent)
        return base ** exponent

    def _eval(self, node: ast.AST) -> Any:
        self.budget.charge(1)
        result = super()._eval(node)
        if not isinstance(node, _FOUND):
            self.budget.made(result)
            if isinstance(node, _BUILT):
                self.budget.built(result)
        return result

    def _check_disallowed_items(self, item: Any) -> None:
        """Shallow: containers hold instance data, and measuring refuses modules in them."""
        if isinstance(item, ModuleType):
            raise simpleeval.FeatureNotAvailable("modules are not allowed")
        if callable(item) and any(item is f for f in simpleeval.DISALLOW_FUNCTIONS):
            raise simpleeval.FeatureNotAvailable("this function is not allowed")

    def _eval_call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Name):
            if node.func.id not in self.functions:
                raise simpleeval.FunctionNotDefined(node.func.id, self.expr)
            function = self.functions[node.func.id]
        else:  # a method: the static check allows names and safe methods only
            function = self._eval(node.func)
            receiver = getattr(function, "__self__", None)
            self.budget.read(None if isinstance(receiver, ModuleType) else receiver)
        args = [self._eval(arg) for arg in node.args]
        kwargs = dict(self._eval(keyword) for keyword in node.keywords)
        self.budget.read(*args, *kwargs.values())
        return function(*args, **kwargs)

