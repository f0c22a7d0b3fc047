"""Service-task handlers, one small module per topic, registered by topic name."""

from handlers import denials, erdf, gifts, licences, notify
from handlers.registry import (
    HandlerContext,
    HandlerResult,
    NumberRequest,
    OutboundMessage,
    Registry,
    as_result,
)

__all__ = ["HandlerContext", "HandlerResult", "NumberRequest", "OutboundMessage", "Registry",
           "as_result", "default_registry"]


def default_registry() -> Registry:
    """The handlers biflow ships."""
    registry = Registry()
    registry.register("notify", notify.handle)
    registry.register("licence-number", licences.handle)
    registry.register("denial-notice", denials.handle)
    registry.register("erdf-selection", erdf.handle)
    registry.register("gift-register", gifts.handle)
    return registry
