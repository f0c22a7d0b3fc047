"""What user data may hold: form data, message payloads, handler output, request bodies.

One check for all of them, iterative so that no nesting can exhaust the stack:
- no key SpiffWorkflow's serializer would take for an object marker (``typename``);
- no NUL character, which PostgreSQL cannot store in text or JSON;
- at most ``MAX_DEPTH`` levels of nesting.
"""

from __future__ import annotations

from typing import Any

from engine.errors import ValidationFailed

RESERVED_KEYS = frozenset({"typename"})
MAX_DEPTH = 32


def check_user_data(data: Any, path: str = "data", *, reserved_keys: bool = True) -> None:
    """Raise :class:`ValidationFailed` naming the first place in ``data`` at fault."""
    stack = [(data, path, 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValidationFailed("the data nests too deeply",
                                   details={where: [f"more than {MAX_DEPTH} levels"]})
        if isinstance(value, str):
            if "\x00" in value:
                raise ValidationFailed("NUL characters are not allowed",
                                       details={where: ["holds a NUL character"]})
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{where}.{key}"
                if reserved_keys and key in RESERVED_KEYS:
                    raise ValidationFailed(f"'{key}' is a reserved key",
                                           details={name: ["reserved key"]})
                if isinstance(key, str) and "\x00" in key:
                    raise ValidationFailed("NUL characters are not allowed",
                                           details={where: ["a key holds a NUL character"]})
                stack.append((item, name, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
