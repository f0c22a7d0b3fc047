"""Notification (outbox) bodies."""

from __future__ import annotations

from marshmallow import fields, validate

from api.schemas.common import PageArgsSchema, StrictSchema

OUTBOX_STATUSES = ("pending", "sent", "recorded", "failed")


class NotificationSchema(StrictSchema):
    id = fields.Integer(required=True)
    instance_id = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    topic = fields.String(required=True)
    channel = fields.String(required=True, metadata={"description": "e.g. email"})
    recipient = fields.String(allow_none=True, metadata={
        "description": "as the handler gave it: addresses (comma-separated) or group:NAME"})
    subject = fields.String(allow_none=True)
    body = fields.String(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(OUTBOX_STATUSES), metadata={
        "description": "pending (to send), sent, recorded (kept, not sent: no SMTP "
                       "configured or a channel biflow does not deliver), failed"})
    attempts = fields.Integer(required=True, metadata={"description": "failed attempts"})
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    sent_at = fields.DateTime(allow_none=True)


class NotificationListSchema(StrictSchema):
    items = fields.List(fields.Nested(NotificationSchema), required=True)


class NotificationQueryArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(OUTBOX_STATUSES))
    instance_id = fields.String()
