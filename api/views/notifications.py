"""Notifications: the outbox, so admins see what was sent and what failed (admins)."""

from __future__ import annotations

from flask_smorest import Blueprint

from api.auth import require_admin
from api.deps import engine, errors
from api.schemas.notifications import NotificationListSchema, NotificationQueryArgsSchema
from engine import queries

blp = Blueprint("notifications", __name__, url_prefix="/api/notifications",
                description="Notifications (the outbox)")


@blp.route("")
@blp.arguments(NotificationQueryArgsSchema, location="query")
@blp.response(200, NotificationListSchema)
@errors(blp, 403, 422)
def notifications(args):
    """Outbox messages, newest first: pending, sent, failed or only recorded."""
    require_admin()
    return {"items": engine().read(queries.outbox, **args)}
