"""``denial-notice``: tells the other Member States and the Commission that a licence was
refused (Regulation (EU) 2021/821, art. 9(2); Common Position 2008/944/CFSP, art. 4).

The notice is recorded in the outbox with its full content (channel ``denial-notice``);
sending it through the EU's DUeS system is outside biflow. Its content comes from the
instance data: applicant, goods, destination, consignee, end user and the grounds.
"""

from __future__ import annotations

from handlers.registry import HandlerContext, HandlerResult, OutboundMessage

FIELDS = ("applicant", "company_number", "regime", "operation", "control_list_entry",
          "description", "quantity", "value_eur", "destination_country", "consignee",
          "end_user", "refusal_grounds")


def handle(ctx: HandlerContext) -> HandlerResult:
    content = {name: ctx.data[name] for name in FIELDS if name in ctx.data}
    if not content.get("refusal_grounds"):
        raise ValueError("a denial notice needs 'refusal_grounds' in the instance data")
    recipients = ctx.properties.get("to", "eu-member-states,european-commission")
    subject = (f"Denial notification {ctx.business_key or ctx.instance_id}: "
               f"{content.get('regime', '')} {content.get('operation', '')} to "
               f"{content.get('destination_country', '?')}")
    body = "\n".join(f"{name}: {value}" for name, value in content.items())
    notice = OutboundMessage(channel="denial-notice", recipient=recipients, subject=subject,
                             body=body, payload={"denial": content,
                                                 "idempotency_key": ctx.idempotency_key})
    return HandlerResult(output={"denial_notified_on": ctx.now.date().isoformat()},
                         messages=(notice,))
