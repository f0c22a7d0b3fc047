"""OpenAPI links: which call a client (or schemathesis's stateful run) may make next with an
id an answer gave, e.g. complete the first ready task of an instance just started.

They only document; the views do not depend on them.
"""

from __future__ import annotations

from collections.abc import Callable

INSTANCE = "/api/process-instances/{instance_id}"
TASK = "/api/tasks/{task_id}"

#: (link name, method, path) of the calls that take an instance id, then a task id
INSTANCE_CALLS = (("GetInstance", "get", INSTANCE),
                  ("GetInstanceEvents", "get", f"{INSTANCE}/events"),
                  ("CancelInstance", "post", f"{INSTANCE}/cancel"))
TASK_CALLS = (("GetTask", "get", TASK), ("ClaimTask", "post", f"{TASK}/claim"),
              ("UnclaimTask", "post", f"{TASK}/unclaim"), ("AssignTask", "post", f"{TASK}/assign"),
              ("CompleteTask", "post", f"{TASK}/complete"),
              ("GetTaskComments", "get", f"{TASK}/comments"),
              ("CommentTask", "post", f"{TASK}/comments"))


def _ref(method: str, path: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def _links(instance_id: str | None, task_id: str | None, prefix: str = "") -> dict:
    found = {}
    if instance_id:
        found |= {f"{prefix}{name}": {"operationRef": _ref(method, path),
                                      "parameters": {"instance_id": instance_id}}
                  for name, method, path in INSTANCE_CALLS}
    if task_id:
        found |= {f"{prefix}{name}": {"operationRef": _ref(method, path),
                                      "parameters": {"task_id": task_id}}
                  for name, method, path in TASK_CALLS}
    return found


def instance_links(blueprint, status: int) -> Callable:
    """An answer that is an instance with its ready tasks: the instance's calls, and the
    calls on its first ready task."""
    return blueprint.doc(responses={status: {"links": {
        **_links("$response.body#/id", None),
        **_links(None, "$response.body#/ready_tasks/0/id", prefix="FirstReady")}}})


def task_links(blueprint, status: int) -> Callable:
    """An answer that is a task: the task's calls, and its instance's."""
    return blueprint.doc(responses={status: {"links": _links(
        "$response.body#/instance_id", "$response.body#/id")}})
