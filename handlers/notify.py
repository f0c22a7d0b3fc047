"""``notify``: an e-mail to people or a group, recorded in the outbox.

Service-task properties (``camunda:properties``) say what to send; ``$name`` placeholders
are filled from the instance data (``string.Template``, so no attribute access):

- ``to`` (or the variable ``notify_to``): an address, a comma-separated list of them, or
  ``group:NAME`` for the members of a group with an e-mail address;
- ``subject`` and ``body``.

The handler only records the message: the job's transaction commits it with the task's
completion, and ``engine.delivery`` sends it over SMTP afterwards (expanding groups then,
retrying with backoff). Without an SMTP server configured, it stays ``recorded``.
"""

from __future__ import annotations

from string import Template

from handlers.registry import HandlerContext, HandlerResult, OutboundMessage


def _fill(text: str, ctx: HandlerContext) -> str:
    names = {"business_key": ctx.business_key or "", "instance_id": ctx.instance_id,
             **{k: v for k, v in ctx.data.items() if isinstance(v, str | int | float | bool)}}
    return Template(text).safe_substitute(names)


def handle(ctx: HandlerContext) -> HandlerResult:
    recipient = ctx.properties.get("to") or ctx.data.get("notify_to")
    if not recipient:
        raise ValueError("notify needs a 'to' property (addresses or group:NAME)")
    subject = _fill(ctx.properties.get("subject", "biflow notification ($business_key)"), ctx)
    body = _fill(ctx.properties.get("body", ""), ctx)
    message = OutboundMessage(channel="email", recipient=_fill(str(recipient), ctx),
                              subject=subject, body=body,
                              payload={"element_id": ctx.element_id,
                                       "idempotency_key": ctx.idempotency_key})
    return HandlerResult(output={f"{ctx.element_id}_sent_at": ctx.now.isoformat()},
                         messages=(message,))
