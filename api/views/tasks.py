"""The task inbox and the task actions."""

from __future__ import annotations

from flask_smorest import Blueprint

from api.auth import current_actor
from api.deps import engine, errors, fields_of
from api.links import instance_links, task_links
from api.schemas.instances import InstanceWithTasksSchema
from api.schemas.tasks import (
    AssignArgsSchema,
    CommentArgsSchema,
    CommentListSchema,
    CommentSchema,
    CompleteArgsSchema,
    TaskCountsSchema,
    TaskDetailSchema,
    TaskPageSchema,
    TaskQueryArgsSchema,
    TaskSchema,
)
from api.views.instances import with_ready_tasks
from engine import queries

blp = Blueprint("tasks", __name__, url_prefix="/api/tasks", description="The task inbox")


@blp.route("")
@blp.arguments(TaskQueryArgsSchema, location="query")
@blp.response(200, TaskPageSchema)
@errors(blp, 422)
def inbox(args):
    """Ready tasks the caller may work on (admins: all), by due date; filters narrow it."""
    eng = engine()
    return eng.read(queries.tasks, current_actor(), queries.TaskQuery(**args), eng.clock.now())


@blp.route("/counts")
@blp.response(200, TaskCountsSchema)
@errors(blp)
def counts():
    """Per candidate group of the caller: ready, unassigned and overdue tasks."""
    eng = engine()
    return {"items": eng.read(queries.task_counts, current_actor(), eng.clock.now())}


@blp.route("/<string:task_id>")
@blp.response(200, TaskDetailSchema)
@task_links(blp, 200)
@errors(blp, 403, 404)
def task(task_id: str):
    """The task, its form as JSON Schema and the current values of its fields."""
    detail = engine().task_detail(task_id, actor=current_actor())
    return {**fields_of(detail.task), "form": detail.form, "data": detail.data}


@blp.route("/<string:task_id>/claim", methods=["POST"])
@blp.response(200, TaskSchema)
@task_links(blp, 200)
@errors(blp, 403, 404, 409)
def claim(task_id: str):
    return engine().claim(task_id, actor=current_actor())


@blp.route("/<string:task_id>/unclaim", methods=["POST"])
@blp.response(200, TaskSchema)
@task_links(blp, 200)
@errors(blp, 403, 404, 409)
def unclaim(task_id: str):
    return engine().unclaim(task_id, actor=current_actor())


@blp.route("/<string:task_id>/assign", methods=["POST"])
@blp.arguments(AssignArgsSchema)
@blp.response(200, TaskSchema)
@task_links(blp, 200)
@errors(blp, 403, 404, 409, 422)
def assign(args, task_id: str):
    """Assign to a user (admins and members of a candidate group)."""
    return engine().assign(task_id, args["user"], actor=current_actor())


@blp.route("/<string:task_id>/complete", methods=["POST"])
@blp.arguments(CompleteArgsSchema)
@blp.response(200, InstanceWithTasksSchema)
@instance_links(blp, 200)
@errors(blp, 403, 404, 409, 422)
def complete(args, task_id: str):
    """Complete with form data; answers the instance and its new ready tasks."""
    return with_ready_tasks(engine().complete_and_show(task_id, args["data"],
                                                       actor=current_actor()))


@blp.route("/<string:task_id>/comments")
@blp.response(200, CommentListSchema)
@errors(blp, 403, 404)
def comments(task_id: str):
    return {"items": engine().comments(task_id, actor=current_actor())}


@blp.route("/<string:task_id>/comments", methods=["POST"])
@blp.arguments(CommentArgsSchema)
@blp.response(201, CommentSchema)
@errors(blp, 403, 404, 422)
def add_comment(args, task_id: str):
    return engine().add_comment(task_id, args["message"], actor=current_actor())
