"""Translation of Camunda/JUEL expression syntax into the Python subset the sandbox runs.

Process owners write ``${amount > 50000 && urgent}`` in Camunda Modeler, or the plain
``amount > 50000 and urgent``. Both end up as one Python expression. Text inside string
literals is never touched.
"""

from __future__ import annotations

import re

_WRAPPED = re.compile(r"^\s*[$#]\{(?P<body>.*)\}\s*$", re.DOTALL)
_JUEL_WORDS = {
    "eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=",
    "div": "/", "mod": "%", "true": "True", "false": "False", "null": "None",
}
_IDENT = re.compile(r"[^\W\d]\w*")


class TranslationError(ValueError):
    """The text is not a well-formed expression in either dialect."""


def unwrap(text: str) -> tuple[str, bool]:
    """Return the expression body and whether it was written in ``${...}`` form."""
    match = _WRAPPED.match(text)
    if match:
        return match.group("body"), True
    if "${" in text or "#{" in text:
        raise TranslationError("'${...}' must enclose the whole expression")
    return text, False


def translate(text: str) -> str:
    """Translate an expression in either dialect into Python expression syntax."""
    body, juel = unwrap(text)
    try:
        return _translate_body(body, juel).strip()
    except RecursionError:  # ``empty(empty(...))`` nested hundreds deep
        raise TranslationError("'empty' is nested too deeply") from None


def _translate_body(body: str, juel: bool) -> str:
    out: list[str] = []
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch in "'\"":
            end = _string_end(body, i)
            out.append(body[i:end])
            i = end
        elif body.startswith("&&", i):
            out.append(" and ")
            i += 2
        elif body.startswith("||", i):
            out.append(" or ")
            i += 2
        elif ch == "!" and not body.startswith("!=", i):
            out.append(" not ")
            i += 1
        elif ch.isalpha() or ch == "_":
            match = _IDENT.match(body, i)
            assert match is not None
            word = match.group()
            end = match.end()
            previous = body[:i].rstrip()
            is_attribute = previous.endswith(".")
            if word == "empty" and not is_attribute and _starts_operand(body, end):
                operand, end = _operand(body, end)
                out.append(f"is_empty({_translate_body(operand, juel)})")
            elif juel and not is_attribute and word in _JUEL_WORDS:
                out.append(f" {_JUEL_WORDS[word]} ")
            else:
                out.append(word)
            i = end
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _string_end(body: str, start: int) -> int:
    quote = body[start]
    i = start + 1
    while i < len(body):
        if body[i] == "\\":
            i += 2
            continue
        if body[i] == quote:
            return i + 1
        i += 1
    raise TranslationError("unterminated string literal")


def _starts_operand(body: str, i: int) -> bool:
    rest = body[i:].lstrip()
    return bool(rest) and (rest[0] == "(" or rest[0].isalpha() or rest[0] == "_")


def _operand(body: str, i: int) -> tuple[str, int]:
    """Read the operand of the prefix ``empty`` operator: a name path or a parenthesis."""
    while i < len(body) and body[i].isspace():
        i += 1
    start = i
    if body[i] == "(":
        return body[start:_matching(body, i, "(", ")")], _matching(body, i, "(", ")")
    match = _IDENT.match(body, i)
    if match is None:
        raise TranslationError("'empty' needs an operand")
    i = match.end()
    while i < len(body):
        if body[i] == "." and (m := _IDENT.match(body, i + 1)):
            i = m.end()
        elif body[i] == "[":
            i = _matching(body, i, "[", "]")
        else:
            break
    return body[start:i], i


def _matching(body: str, i: int, opening: str, closing: str) -> int:
    depth = 0
    while i < len(body):
        ch = body[i]
        if ch in "'\"":
            i = _string_end(body, i)
            continue
        if ch == opening:
            depth += 1
        elif ch == closing:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise TranslationError(f"unbalanced '{opening}'")
