"""Process instances: start, list, read, trail, cancel."""

from __future__ import annotations

from flask_smorest import Blueprint

from api.auth import current_actor
from api.deps import engine, errors, fields_of
from api.links import instance_links
from api.schemas.instances import (
    CancelArgsSchema,
    EventListSchema,
    InstanceDetailSchema,
    InstancePageSchema,
    InstanceQueryArgsSchema,
    InstanceSchema,
    InstanceWithTasksSchema,
    StartArgsSchema,
)
from engine import queries

blp = Blueprint("instances", __name__, url_prefix="/api/process-instances",
                description="Process instances")


def with_ready_tasks(progress) -> dict:
    return {**fields_of(progress.instance), "ready_tasks": progress.ready_tasks}


@blp.route("", methods=["POST"])
@blp.arguments(StartArgsSchema)
@blp.response(201, InstanceWithTasksSchema)
@instance_links(blp, 201)
@errors(blp, 403, 404, 409, 422)
def start(args):
    """Start the latest version of a process; ``data`` is checked against its start form."""
    return with_ready_tasks(engine().start_and_show(
        args["process_key"], actor=current_actor(), business_key=args.get("business_key"),
        data=args["data"]))


@blp.route("")
@blp.arguments(InstanceQueryArgsSchema, location="query")
@blp.response(200, InstancePageSchema)
@errors(blp, 422)
def list_instances(args):
    """Instances the caller takes part in (admins: all), newest first."""
    return engine().read(queries.instances, current_actor(), **args)


@blp.route("/<string:instance_id>")
@blp.response(200, InstanceDetailSchema)
@instance_links(blp, 200)
@errors(blp, 404)
def instance(instance_id: str):
    """State, data, ready tasks and what the instance waits for."""
    detail = engine().instance_detail(instance_id, actor=current_actor())
    return {**fields_of(detail.instance), "data": detail.data,
            "ready_tasks": detail.ready_tasks, "waiting": detail.waiting}


@blp.route("/<string:instance_id>/events")
@blp.response(200, EventListSchema)
@errors(blp, 404)
def events(instance_id: str):
    """The instance's audit trail, oldest first."""
    return {"items": engine().instance_events(instance_id, actor=current_actor())}


@blp.route("/<string:instance_id>/cancel", methods=["POST"])
@blp.arguments(CancelArgsSchema)
@blp.response(200, InstanceSchema)
@errors(blp, 403, 404, 409, 422)
def cancel(args, instance_id: str):
    """Cancel a running instance (admin or the user who started it)."""
    return engine().cancel(instance_id, args["reason"], actor=current_actor())
