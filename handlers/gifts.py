"""``gift-register``: enters the gifts a delegation gave the Region in the inventory register.

Gifts received during an official visit whose value exceeds the threshold of the procedure
(``gift_threshold_eur``) belong to the Brussels-Capital Region, not to the person who
received them. Each visit with such gifts gets one register entry ``BI-GIFT-YYYY-NNNN``,
gap-free per calendar year in Brussels (see :class:`handlers.registry.NumberRequest`), and
the entry's content is recorded in the outbox (channel ``gift-register``) for Finance.

Output: ``gift_register_number`` and ``gift_registered_on`` (ISO date, Brussels).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from handlers.registry import HandlerContext, HandlerResult, NumberRequest, OutboundMessage

BRUSSELS = ZoneInfo("Europe/Brussels")
FIELDS = ("requesting_body", "head_of_delegation", "visit_start", "visit_last_day",
          "gifts_received", "gifts_description", "highest_gift_value_eur",
          "gift_threshold_eur", "received_by")


def handle(ctx: HandlerContext) -> HandlerResult:
    registered_on = ctx.now.astimezone(BRUSSELS).date()
    year = registered_on.year
    entry = {name: ctx.data[name] for name in FIELDS if name in ctx.data}
    if "highest_gift_value_eur" not in entry:
        raise ValueError("a gift register entry needs 'highest_gift_value_eur' in the "
                         "instance data")
    subject = (f"Gift register: gifts of {entry.get('head_of_delegation', '?')} "
               f"({ctx.business_key or ctx.instance_id})")
    body = "\n".join(f"{name}: {value}" for name, value in entry.items())
    record = OutboundMessage(channel="gift-register",
                             recipient=ctx.properties.get("to", "group:finance"),
                             subject=subject, body=body,
                             payload={"entry": entry, "idempotency_key": ctx.idempotency_key})
    return HandlerResult(
        output={"gift_registered_on": registered_on.isoformat()},
        numbers=(NumberRequest("gift_register_number", f"BI-GIFT-{year}",
                               f"BI-GIFT-{year}-{{n:04d}}"),),
        messages=(record,))
