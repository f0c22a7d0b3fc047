"""Schemas shared by every blueprint."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

MAX_LIMIT = 200
#: the largest integer every database column we query takes
MAX_INT = 2**31 - 1


class StrictSchema(Schema):
    """Unknown fields are refused (marshmallow's default, stated once here)."""

    class Meta:
        ordered = True


class ErrorBodySchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Raw(allow_none=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class PageArgsSchema(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, MAX_LIMIT))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, MAX_INT))


class DataField(fields.Dict):
    """A JSON object of variables (keys are strings)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(keys=fields.String(), **kwargs)
