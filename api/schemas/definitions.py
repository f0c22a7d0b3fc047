"""Process-definition bodies."""

from __future__ import annotations

from marshmallow import fields, validate

from api.schemas.common import MAX_INT, StrictSchema


class DefinitionSchema(StrictSchema):
    key = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(allow_none=True)
    file_name = fields.String(required=True)
    content_hash = fields.String(required=True)
    deployed_at = fields.DateTime(required=True)
    deployed_by = fields.String(allow_none=True)


class DefinitionListSchema(StrictSchema):
    items = fields.List(fields.Nested(DefinitionSchema), required=True)


class MessageSchema(StrictSchema):
    name = fields.String(required=True)
    process = fields.String(required=True, metadata={"description": "process or callee id"})
    element_id = fields.String(required=True)
    element_name = fields.String(allow_none=True)
    payload = fields.Dict(allow_none=True, metadata={
        "description": "JSON Schema of the payload the event declares; null: any object"})


class DefinitionDetailSchema(StrictSchema):
    key = fields.String(required=True)
    name = fields.String(allow_none=True)
    versions = fields.List(fields.Nested(DefinitionSchema), required=True)
    start_form = fields.Dict(required=True, metadata={"description": "JSON Schema"})
    starter_groups = fields.List(fields.String(), required=True)
    starter_users = fields.List(fields.String(), required=True)
    messages = fields.List(fields.Nested(MessageSchema), required=True, metadata={
        "description": "the messages instances may wait for, with their payload"})


class DeployedSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(("bpmn", "dmn")))
    key = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(allow_none=True)
    unchanged = fields.Boolean(required=True)


class VersionArgsSchema(StrictSchema):
    version = fields.Integer(validate=validate.Range(1, MAX_INT))
