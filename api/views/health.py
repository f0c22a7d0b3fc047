"""``GET /api/health``: public; says whether the database answers."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from api.deps import engine

blp = Blueprint("health", __name__, url_prefix="/api", description="Liveness")


class HealthSchema(Schema):
    status = fields.String(required=True)
    database = fields.String(required=True)


@blp.route("/health")
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="The database does not answer")
@blp.doc(security=[])
def health():
    try:
        return {"status": "ok", "database": engine().ping()}
    except Exception:  # any failure to reach the database is "unavailable"
        return {"status": "unavailable", "database": "unreachable"}, 503
