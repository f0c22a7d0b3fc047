"""Process-instance, message and incident bodies."""

from __future__ import annotations

from marshmallow import fields, validate

from api.schemas.common import DataField, PageArgsSchema, StrictSchema
from api.schemas.tasks import TaskSchema

INSTANCE_STATES = ("running", "completed", "cancelled")


class InstanceSchema(StrictSchema):
    id = fields.String(required=True)
    process_key = fields.String(required=True)
    process_version = fields.Integer(required=True)
    business_key = fields.String(allow_none=True)
    state = fields.String(required=True, validate=validate.OneOf(INSTANCE_STATES))
    started_by = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    ended_at = fields.DateTime(allow_none=True)
    end_reason = fields.String(allow_none=True)


class WaitSchema(StrictSchema):
    type = fields.String(required=True, attribute="kind",
                         validate=validate.OneOf(("timer", "message")))
    element_id = fields.String(required=True)
    due_at = fields.DateTime(allow_none=True)
    message_name = fields.String(allow_none=True)


class InstanceWithTasksSchema(InstanceSchema):
    ready_tasks = fields.List(fields.Nested(TaskSchema), required=True)


class InstanceDetailSchema(InstanceWithTasksSchema):
    data = DataField(required=True)
    waiting = fields.List(fields.Nested(WaitSchema), required=True)


class InstancePageSchema(StrictSchema):
    items = fields.List(fields.Nested(InstanceSchema), required=True)
    total = fields.Integer(required=True)


class InstanceQueryArgsSchema(PageArgsSchema):
    process_key = fields.String()
    state = fields.String(validate=validate.OneOf(INSTANCE_STATES))
    business_key = fields.String()


class StartArgsSchema(StrictSchema):
    process_key = fields.String(required=True, validate=validate.Length(1, 255))
    business_key = fields.String(allow_none=True, validate=validate.Length(1, 255))
    data = DataField(load_default=dict)


class CancelArgsSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(1, 2000))


class EventSchema(StrictSchema):
    id = fields.Integer(required=True)
    action = fields.String(required=True)
    actor = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    element_id = fields.String(allow_none=True)
    data = fields.Dict(required=True)
    created_at = fields.DateTime(required=True)
    prev_hash = fields.String(allow_none=True)
    hash = fields.String(required=True)


class EventListSchema(StrictSchema):
    items = fields.List(fields.Nested(EventSchema), required=True)


class MessageArgsSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(1, 255))
    instance_id = fields.String(allow_none=True)
    business_key = fields.String(allow_none=True)
    data = DataField(load_default=dict)


class MessageResultSchema(StrictSchema):
    instances = fields.List(fields.Nested(InstanceSchema), required=True)


class IncidentSchema(StrictSchema):
    id = fields.Integer(required=True)
    instance_id = fields.String(required=True)
    job_id = fields.Integer(allow_none=True)
    element_id = fields.String(allow_none=True)
    kind = fields.String(required=True)
    message = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)


class IncidentListSchema(StrictSchema):
    items = fields.List(fields.Nested(IncidentSchema), required=True)
