"""ISO 8601 timer literals: ``P30D``, ``R/P1Y``, ``R3/PT10H``, ``2027-01-15T00:00:00Z``.

A timer value written as such a literal is taken as a literal, not as a (Python) name.
"""

from __future__ import annotations

import re

_DURATION = r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
_DATE = r"\d{4}-\d{2}-\d{2}"
_DATETIME = _DATE + r"(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
_POINT = f"({_DATETIME}|{_DURATION})"
_REPEAT = rf"R\d*/{_POINT}(/{_POINT})?"

_LITERAL = re.compile(rf"^({_DURATION}|{_DATETIME}|{_REPEAT})$")


def is_iso8601(text: str) -> bool:
    """True when the whole text is an ISO 8601 duration, date-time or repeating interval."""
    return bool(_LITERAL.match(text.strip()))
