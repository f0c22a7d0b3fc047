"""The topic registry: which handler runs a service task's ``camunda:topic``.

A handler is a plain function ``handler(ctx: HandlerContext) -> HandlerResult | dict``.
It receives a narrow context and returns output data (merged into the instance data)
and, optionally, messages to record in the outbox and numbers to draw from gap-free
sequences. It never touches the database or
SpiffWorkflow, so it can be tested alone. Any exception it raises is retried with
backoff; after the last attempt the job becomes an incident.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class HandlerContext:
    instance_id: str
    business_key: str | None
    element_id: str
    topic: str
    data: Mapping[str, Any]
    properties: Mapping[str, str]
    #: stable across retries of the same job: pass it to outside systems to avoid doubles
    idempotency_key: str
    attempt: int
    now: datetime


@dataclass(frozen=True)
class OutboundMessage:
    """Something to send: recorded in the outbox with its full content."""

    channel: str
    recipient: str | None
    subject: str | None = None
    body: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NumberRequest:
    """Ask for the next number of a gap-free sequence, put in ``variable`` as
    ``template.format(n=number)``. The engine gives it out in the transaction that applies
    the result, so a job that fails leaves no gap and two jobs never get the same number."""

    variable: str
    sequence: str
    template: str = "{n}"


@dataclass(frozen=True)
class HandlerResult:
    output: Mapping[str, Any] = field(default_factory=dict)
    messages: tuple[OutboundMessage, ...] = ()
    numbers: tuple[NumberRequest, ...] = ()


Handler = Callable[[HandlerContext], "HandlerResult | Mapping[str, Any] | None"]


class Registry:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, topic: str, handler: Handler) -> None:
        if topic in self._handlers:
            raise ValueError(f"topic '{topic}' already has a handler")
        self._handlers[topic] = handler

    def handler(self, topic: str) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`register`."""
        def decorate(function: Handler) -> Handler:
            self.register(topic, function)
            return function
        return decorate

    def get(self, topic: str) -> Handler | None:
        return self._handlers.get(topic)

    def __contains__(self, topic: str) -> bool:
        return topic in self._handlers


def as_result(value: HandlerResult | Mapping[str, Any] | None) -> HandlerResult:
    if value is None:
        return HandlerResult()
    if isinstance(value, HandlerResult):
        return value
    return HandlerResult(output=dict(value))
