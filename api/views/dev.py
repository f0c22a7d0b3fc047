"""``/api/dev/clock``: read and move the engine clock (admins; only with ``--dev-clock``).

Moving the clock fires what falls due before answering, so a scenario can move time and
look at the inbox at once.
"""

from __future__ import annotations

from flask_smorest import Blueprint

from api.auth import require_admin
from api.deps import engine, errors
from api.schemas.dev import ClockSchema, MoveClockSchema

blp = Blueprint("dev", __name__, url_prefix="/api/dev", description="Dev clock")


@blp.route("/clock")
@blp.response(200, ClockSchema)
@errors(blp, 403)
def clock():
    """The engine's now."""
    require_admin()
    return {"now": engine().clock.now()}


@blp.route("/clock", methods=["POST"])
@blp.arguments(MoveClockSchema)
@blp.response(200, ClockSchema)
@errors(blp, 403, 409, 422)
def move(body: dict):
    """Move the clock forward for every process of this database, then fire what fell due."""
    actor = require_admin()
    return {"now": engine().move_clock(actor=actor, advance=body.get("advance"),
                                       to=body.get("to"))}
