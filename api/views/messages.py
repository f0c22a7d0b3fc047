"""Messages from outside parties (Council of State, Commission, applicants, ...)."""

from __future__ import annotations

from flask_smorest import Blueprint

from api.auth import current_actor
from api.deps import engine, errors
from api.schemas.instances import MessageArgsSchema, MessageResultSchema

blp = Blueprint("messages", __name__, url_prefix="/api/messages",
                description="Deliver a message to the instances waiting for it")


@blp.route("", methods=["POST"])
@blp.arguments(MessageArgsSchema)
@blp.response(200, MessageResultSchema)
@errors(blp, 404, 409, 422)
def deliver(args):
    """Deliver ``name`` to an instance (by id or business key); 404 when none waits."""
    reached = engine().correlate(args["name"], actor=current_actor(),
                                 instance_id=args.get("instance_id"),
                                 business_key=args.get("business_key"), data=args["data"])
    return {"instances": reached}
