"""Bounds on one evaluation: how big its values may grow and how much work it may do.

Expressions have no loops (comprehensions and lambdas are refused), so an evaluation takes
at most as many steps as its tree has nodes; what can explode is the data: ``'a' * 10**10``,
``9**9**9``, ``[x] * n`` nested in itself. So repetitions, concatenations and powers are
measured *before* they are computed, every value made is bounded in length and digits, a
list, tuple, set or dict written out is measured through its containers (from one script
line to the next, ``b = [a, a, a]`` could grow as repetitions do), and every step, every
value made and every operand read is charged to a budget (operands of comparisons through
their containers: that is what comparing costs). Counting rather than timing: a refusal
is the same on every machine, and it works in the worker's threads, which no signal
reaches.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import simpleeval

#: characters and elements of one value, counted through nested containers
MAX_SIZE = 1_000_000
#: containers one budget may walk to measure values (each costs about a microsecond) and
#: how deep: a value beyond is taken as too big
MAX_CONTAINERS = 20_000
MAX_NESTING = 200
#: digits of an integer: Python's own limit for converting it to text (and so to JSON)
MAX_INT_DIGITS = 4300
MAX_INT_BITS = math.floor(MAX_INT_DIGITS * math.log2(10))
#: units of work of one evaluation (one script shares one budget): steps plus the sizes of
#: the values made and of the operands read; some 0.1 s at worst, far beyond any real model
MAX_WORK = 5 * MAX_SIZE

#: concrete classes (not the ABCs, whose isinstance checks are many times slower)
_CONTAINERS = (list, tuple, set, frozenset, dict, type({}.keys()), type({}.values()),
               type({}.items()))
_SMALL_TYPES = frozenset({float, bool, type(None)})
_SEQUENCES = (str, bytes, list, tuple)


class BoundExceeded(simpleeval.InvalidExpression):
    """A value or the work of an evaluation exceeds its bound."""


def _too_big(what: str) -> BoundExceeded:
    return BoundExceeded(f"{what} exceeds {MAX_SIZE:,} characters or elements")


def _too_many_digits(what: str) -> BoundExceeded:
    return BoundExceeded(f"{what} exceeds {MAX_INT_DIGITS:,} digits")


def _scalar_size(value: Any) -> int:
    if value is None or value.__class__ in _SMALL_TYPES:
        return 1
    if isinstance(value, str | bytes | bytearray):
        return max(1, len(value))
    if isinstance(value, int):
        bits = value.bit_length()
        if bits > MAX_INT_BITS:
            raise _too_many_digits("an integer")
        return 1 + bits * 3 // 10
    if isinstance(value, complex):
        raise simpleeval.FeatureNotAvailable("complex numbers are not supported")
    if isinstance(value, ModuleType):
        raise simpleeval.FeatureNotAvailable("modules are not allowed")
    return 1


def length(value: Any) -> int:
    """The size of ``value`` at its top level, in constant time."""
    if isinstance(value, _CONTAINERS):
        return max(1, len(value))
    return _scalar_size(value)


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    return list(value)


class Budget:
    """The work left to one evaluation (or one script), and the sizes measured so far.

    Sizes are remembered by identity for the budget's life: nothing an expression can call
    mutates a value, and the remembered values are kept alive so their ids stay theirs.
    """

    def __init__(self, work: int = MAX_WORK) -> None:
        self.left = work
        self._sizes: dict[int, tuple[Any, int]] = {}
        self._walked = 0

    def charge(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise BoundExceeded(f"the evaluation exceeds its budget of {MAX_WORK:,} units "
                                "of work (steps and sizes of the values it reads and makes)")

    def read(self, *values: Any) -> None:
        """Charge reading ``values`` (their length: what copying or scanning them costs)."""
        self.charge(sum(map(length, values)))

    def compare(self, *values: Any) -> None:
        """Charge comparing ``values``, which goes through their containers."""
        self.charge(sum(map(self.size, values)))

    def made(self, value: Any) -> None:
        """Refuse a value too long or with too many digits; charge making it."""
        size = length(value)
        if size > MAX_SIZE:
            raise _too_big("a value")
        self.charge(size)

    def built(self, value: Any) -> None:
        """Refuse a container written out in the expression that is too big through and
        through."""
        if self.size(value) > MAX_SIZE:
            raise _too_big("a list, tuple, set or dict")

    def size(self, value: Any) -> int:
        """Characters, elements and digits of ``value``; above :data:`MAX_SIZE` means too big.

        Each container is walked once (sharing, as in ``[[x] * 1000] * 1000``, costs
        nothing more), and at most :data:`MAX_CONTAINERS` of them, :data:`MAX_NESTING` deep.
        """
        if not isinstance(value, _CONTAINERS):
            return _scalar_size(value)
        return self._deep(value, 1)

    def _deep(self, value: Any, depth: int) -> int:
        known = self._sizes.get(id(value))
        if known is not None:
            return known[1]
        self._walked += 1
        if depth > MAX_NESTING or self._walked > MAX_CONTAINERS:
            return MAX_SIZE + 1
        children = (*value.keys(), *value.values()) if isinstance(value, dict) else value
        total = _flat(children) if len(children) > 32 else None
        if total is None:
            total = 0
            for child in children:
                if isinstance(child, _CONTAINERS):
                    total += self._deep(child, depth + 1)
                else:
                    total += _scalar_size(child)
                if total > MAX_SIZE:
                    break
        total = min(max(1, total), MAX_SIZE + 1)
        self._sizes[id(value)] = (value, total)
        return total


def _flat(children: Any) -> int | None:
    """The size of many children of one scalar kind, at C speed; None for any other."""
    kinds = set(map(type, children))
    if kinds == {str}:
        return sum(map(len, children)) + sum(1 for child in children if not child)
    if kinds == {int}:
        if max(map(int.bit_length, children)) > MAX_INT_BITS:
            raise _too_many_digits("an integer")
        return len(children) + sum(map(int.bit_length, children)) * 3 // 10
    if kinds <= _SMALL_TYPES:
        return len(children)
    return None


def repetition(budget: Budget, left: Any, right: Any) -> None:
    """Refuse ``sequence * n`` and ``int * int`` whose result would be too big, before."""
    for sequence, count in ((left, right), (right, left)):
        if (isinstance(sequence, _SEQUENCES) and isinstance(count, int) and count > 0
                and budget.size(sequence) * count > MAX_SIZE):
            raise _too_big("a repetition")
    if (isinstance(left, int) and isinstance(right, int)
            and left.bit_length() + right.bit_length() - 1 > MAX_INT_BITS):
        raise _too_many_digits("a product")


def concatenation(budget: Budget, left: Any, right: Any) -> None:
    """Refuse ``a + b`` of sequences whose result would be too big, before."""
    if (isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES)
            and budget.size(left) + budget.size(right) > MAX_SIZE):
        raise _too_big("a concatenation")


def power(base: Any, exponent: Any) -> None:
    """Refuse ``int ** int`` whose result would have too many digits, before."""
    if (isinstance(base, int) and isinstance(exponent, int) and exponent > 0
            and abs(base) > 1 and (base.bit_length() - 1) * exponent > MAX_INT_BITS):
        raise _too_many_digits("a power")
