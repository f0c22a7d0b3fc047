"""Inbox and task bodies."""

from __future__ import annotations

from marshmallow import fields, validate

from api.deps import engine
from api.schemas.common import DataField, PageArgsSchema, StrictSchema

STATES = ("ready", "completed", "cancelled")
SORTS = ("due", "-due", "created", "-created", "priority", "-priority")


def _is_overdue(task) -> bool:
    """Ready and past its due time by the engine clock (tasks come as rows or dicts)."""
    get = task.get if isinstance(task, dict) else lambda name: getattr(task, name)
    due = get("due_at")
    return get("state") == "ready" and due is not None and due < engine().clock.now()


class TaskSchema(StrictSchema):
    id = fields.String(required=True)
    name = fields.String(allow_none=True)
    element_id = fields.String(required=True)
    process_key = fields.String(required=True)
    process_version = fields.Integer(required=True)
    instance_id = fields.String(required=True)
    business_key = fields.String(allow_none=True)
    candidate_groups = fields.List(fields.String(), required=True)
    candidate_users = fields.List(fields.String(), required=True)
    assignee = fields.String(allow_none=True)
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    created_at = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True)
    overdue = fields.Function(_is_overdue, dump_only=True, required=True,
        metadata={"type": "boolean",
                  "description": "ready and past its due time (by the engine clock)"})
    follow_up_at = fields.DateTime(allow_none=True)
    priority = fields.Integer(required=True)
    ended_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)


class TaskPageSchema(StrictSchema):
    items = fields.List(fields.Nested(TaskSchema), required=True)
    total = fields.Integer(required=True)


class TaskQueryArgsSchema(PageArgsSchema):
    assignee = fields.String(metadata={"description": "'me' or a user id"})
    candidate_group = fields.String()
    unassigned = fields.Boolean()
    process_key = fields.String()
    business_key = fields.String()
    instance_id = fields.String()
    state = fields.String(load_default="ready", validate=validate.OneOf(STATES))
    due_before = fields.AwareDateTime(format="iso", default_timezone=None)
    due_after = fields.AwareDateTime(format="iso", default_timezone=None)
    overdue = fields.Boolean()
    sort = fields.String(load_default="due", validate=validate.OneOf(SORTS))


class TaskDetailSchema(TaskSchema):
    form = fields.Dict(required=True, metadata={"description": "JSON Schema of the form"})
    data = DataField(required=True, metadata={"description": "current values of its fields"})


class GroupCountSchema(StrictSchema):
    group = fields.String(required=True)
    ready = fields.Integer(required=True)
    unassigned = fields.Integer(required=True)
    overdue = fields.Integer(required=True)


class TaskCountsSchema(StrictSchema):
    items = fields.List(fields.Nested(GroupCountSchema), required=True)


class CompleteArgsSchema(StrictSchema):
    data = DataField(load_default=dict)


class AssignArgsSchema(StrictSchema):
    user = fields.String(required=True, validate=validate.Length(1, 255))


class CommentArgsSchema(StrictSchema):
    message = fields.String(required=True, validate=validate.Length(1, 4000))


class CommentSchema(StrictSchema):
    id = fields.Integer(required=True)
    task_id = fields.String(required=True)
    author = fields.String(required=True)
    message = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class CommentListSchema(StrictSchema):
    items = fields.List(fields.Nested(CommentSchema), required=True)
