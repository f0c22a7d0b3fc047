"""Example instances for demos: ``biflow serve --demo`` starts one per procedure.

``processes/examples/KEY.json`` holds ``{"as_group": ..., "business_key": ..., "data": ...}``;
the instance is started by the demo user of that group (``demo-GROUP``), once: an example
whose business key already has an instance is left alone, so restarting does not pile up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from engine.db.models import Instance
from engine.errors import BiflowError
from engine.identity import Actor

if TYPE_CHECKING:
    from engine.core import Engine


@dataclass(frozen=True)
class Example:
    process_key: str
    as_group: str
    business_key: str
    data: dict[str, Any]


def read_examples(directory: Path) -> list[Example]:
    examples = []
    for path in sorted(directory.glob("*.json")):
        content = json.loads(path.read_text(encoding="utf-8"))
        examples.append(Example(path.stem, content["as_group"], content["business_key"],
                                content.get("data", {})))
    return examples


def start_examples(engine: Engine, directory: Path) -> list[tuple[Example, str]]:
    """Start the examples not started yet; answers ``(example, outcome)`` pairs."""
    outcomes = []
    for example in read_examples(directory):
        exists = engine.read(lambda session, key=example.business_key: session.scalar(
            select(Instance.id).where(Instance.business_key == key).limit(1)))
        if exists:
            outcomes.append((example, f"already started ({exists})"))
            continue
        actor = Actor(f"demo-{example.as_group}", frozenset({example.as_group}))
        try:
            instance = engine.start(example.process_key, actor=actor,
                                    business_key=example.business_key, data=example.data)
            outcomes.append((example, f"started {instance.id}"))
        except BiflowError as exc:
            outcomes.append((example, f"not started: {exc.message}"))
    return outcomes
