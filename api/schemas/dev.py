"""Dev clock bodies."""

from __future__ import annotations

from marshmallow import fields

from api.schemas.common import StrictSchema


class ClockSchema(StrictSchema):
    now = fields.AwareDateTime(required=True, metadata={"description": "the engine's now"})


class MoveClockSchema(StrictSchema):
    advance = fields.String(metadata={"description": "an ISO 8601 duration, e.g. P3D or PT2H",
                                      "example": "P3D"})
    to = fields.AwareDateTime(metadata={"description": "a later moment, with its zone",
                                        "example": "2027-01-15T09:00:00Z"})
