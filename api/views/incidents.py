"""Incidents: jobs out of retries (admins)."""

from __future__ import annotations

from flask_smorest import Blueprint

from api.auth import require_admin
from api.deps import engine, errors
from api.schemas.instances import IncidentListSchema, IncidentSchema
from engine import queries

blp = Blueprint("incidents", __name__, url_prefix="/api/incidents", description="Incidents")


@blp.route("")
@blp.response(200, IncidentListSchema)
@errors(blp, 403)
def incidents():
    """Open incidents, oldest first."""
    require_admin()
    return {"items": engine().read(queries.incidents)}


@blp.route("/<int(max=2147483647):incident_id>/retry", methods=["POST"])
@blp.response(200, IncidentSchema)
@errors(blp, 403, 404, 409)
def retry(incident_id: int):
    """Resolve the incident and let the worker try again (its job or its timer)."""
    actor = require_admin()
    incident = engine().retry_incident(incident_id, actor=actor)
    engine().wake_executor()
    return incident
