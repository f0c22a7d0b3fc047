"""Delivering outbox e-mail over SMTP.  STUB: a helper is writing this module."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.core import Engine


class OutboxDelivery:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def run_due(self, max_messages: int | None = None) -> int:
        return 0
