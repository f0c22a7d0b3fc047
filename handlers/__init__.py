"""Service-task handlers, one small module per topic, registered by topic name."""

from handlers import notify
from handlers.registry import (
    HandlerContext,
    HandlerResult,
    OutboundMessage,
    Registry,
    as_result,
)

__all__ = ["HandlerContext", "HandlerResult", "OutboundMessage", "Registry", "as_result",
           "default_registry"]


def default_registry() -> Registry:
    """The handlers biflow ships."""
    registry = Registry()
    registry.register("notify", notify.handle)
    return registry
