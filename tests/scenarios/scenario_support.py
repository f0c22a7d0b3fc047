"""Driving the procedures of ``processes/`` through the HTTP API, as their users would.

``BI`` is a small client: one user per group of the brief, the admin for what outside
parties send (messages) and for the dev clock. ``walk`` is the generic driver: it completes
any instance with valid random data, sending the messages it waits for and moving the clock
when only timers are left.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from conftest import Client
from model_coverage import model_elements

GROUPS = ("external-relations", "europe-directorate", "protocol", "erdf-directorate",
          "licensing-unit", "director-general", "minister-cabinet", "finance")
ADMIN = "ada"


def user_of(group: str) -> str:
    """The scenario user of a group (``licensing-unit`` -> ``u-licensing-unit``)."""
    return f"u-{group}"


def colleague_of(group: str) -> str:
    """A second user of the group: for a task under the four-eyes rule (``fourEyesWith``)
    after the first user did the task it names."""
    return f"u2-{group}"


class ScenarioError(AssertionError):
    pass


class BI:
    """``run_due``: what the background worker would do after each command (fire due
    timers, run due service-task jobs); the fixture passes the engine's."""

    def __init__(self, client: Client, run_due: Callable[[], object] = lambda: None) -> None:
        self.client = client
        self.run_due = run_due

    # -- plumbing ------------------------------------------------------------------------

    def call(self, method: str, path: str, user: str, expect: int | tuple[int, ...] = 200,
             **kwargs) -> Any:
        answer = self.client.call(method, f"/api{path}", user, **kwargs)
        if method != "GET":
            self.run_due()
        expected = (expect,) if isinstance(expect, int) else expect
        if answer.status_code not in expected:
            raise ScenarioError(f"{method} {path} as {user}: {answer.status_code} "
                                f"{answer.get_json()}")
        return answer.get_json()

    # -- what users do -------------------------------------------------------------------

    def start(self, process_key: str, data: dict | None = None, *, as_group: str,
              business_key: str | None = None) -> dict:
        body = {"process_key": process_key, "data": data or {}}
        if business_key:
            body["business_key"] = business_key
        return self.call("POST", "/process-instances", user_of(as_group), 201, json=body)

    def detail(self, instance_id: str) -> dict:
        return self.call("GET", f"/process-instances/{instance_id}", ADMIN)

    def ready(self, instance_id: str) -> list[dict]:
        return self.detail(instance_id)["ready_tasks"]

    def task(self, instance_id: str, element_id: str) -> dict:
        found = [t for t in self.ready(instance_id) if t["element_id"] == element_id]
        if len(found) != 1:
            ready = [t["element_id"] for t in self.ready(instance_id)]
            raise ScenarioError(f"expected one ready '{element_id}', ready: {ready}")
        return found[0]

    def complete(self, instance_id: str, element_id: str, data: dict | None = None, *,
                 as_group: str | None = None, expect: int = 200) -> dict:
        """Complete the ready task ``element_id`` as a user of ``as_group`` (default: its
        first candidate group)."""
        task = self.task(instance_id, element_id)
        answer = self.post_completion(task, as_group or task["candidate_groups"][0], data or {})
        if answer.status_code != expect:
            raise ScenarioError(f"completing {element_id}: {answer.status_code} "
                                f"{answer.get_json()}")
        return answer.get_json()

    def post_completion(self, task: dict, group: str | None, data: dict):
        """As the group's user (the admin without a group), or as a colleague when the
        four-eyes rule bars the first; then what the worker does."""
        path = f"/api/tasks/{task['id']}/complete"
        answer = self.client.call("POST", path, user_of(group) if group else ADMIN,
                                  json={"data": data})
        if group and answer.status_code == 403 and "four-eyes" in answer.get_data(as_text=True):
            answer = self.client.call("POST", path, colleague_of(group), json={"data": data})
        self.run_due()
        return answer

    def form(self, task_id: str) -> dict:
        return self.call("GET", f"/tasks/{task_id}", ADMIN)["form"]

    def message(self, name: str, data: dict | None = None, *, instance_id: str | None = None,
                business_key: str | None = None, expect: int = 200) -> Any:
        """What an outside party sends (the Council of State, the Commission, ...)."""
        body: dict[str, Any] = {"name": name, "data": data or {}}
        if instance_id:
            body["instance_id"] = instance_id
        if business_key:
            body["business_key"] = business_key
        return self.call("POST", "/messages", ADMIN, expect, json=body)

    def advance(self, duration: str) -> str:
        return self.call("POST", "/dev/clock", ADMIN, json={"advance": duration})["now"]

    def move_to(self, moment: str) -> str:
        return self.call("POST", "/dev/clock", ADMIN, json={"to": moment})["now"]

    def now(self) -> str:
        return self.call("GET", "/dev/clock", ADMIN)["now"]

    def run_jobs(self) -> None:
        """Service tasks run in the job executor: moving the clock a second runs what is due."""
        self.advance("PT1S")

    def state(self, instance_id: str) -> str:
        return self.detail(instance_id)["state"]

    def waiting(self, instance_id: str) -> list[dict]:
        return self.detail(instance_id)["waiting"]

    def events(self, instance_id: str) -> list[dict]:
        return self.call("GET", f"/process-instances/{instance_id}/events", ADMIN)["items"]

    def ended_at(self, instance_id: str) -> list[str]:
        """The end events the instance reached (from its trail)."""
        return [element for e in self.events(instance_id) if e["action"] == "path.taken"
                for element in e["data"]["elements"] if element in self._end_events(
                    self.detail(instance_id)["process_key"])]

    def _end_events(self, process_key: str) -> set[str]:
        return model_elements(process_key).end_events

    def notifications(self, instance_id: str | None = None) -> list[dict]:
        query = {"instance_id": instance_id} if instance_id else {}
        return self.call("GET", "/notifications", ADMIN, query_string=query)["items"]

    def definition(self, process_key: str) -> dict:
        return self.call("GET", f"/process-definitions/{process_key}", ADMIN)


# -- random valid data from a JSON Schema ------------------------------------------------

def random_data(schema: dict | None, rng: random.Random) -> dict[str, Any]:
    """Valid data for a form's or a payload's JSON Schema: every required field, and each
    optional one half of the time."""
    if not schema:
        return {}
    required = set(schema.get("required", []))
    data = {}
    for name, field in schema.get("properties", {}).items():
        if field.get("readOnly"):
            continue
        if name in required or rng.random() < 0.5:
            data[name] = random_value(field, rng)
    return data


def random_value(field: dict, rng: random.Random) -> Any:
    if "enum" in field:
        return rng.choice(field["enum"])
    kind = field.get("type")
    if kind == "boolean":
        return rng.random() < 0.5
    if kind in ("integer", "number"):
        low = field.get("minimum", 0)
        high = field.get("maximum", max(low, 0) + 1000)
        value = rng.uniform(low, high)
        return int(value) if kind == "integer" else round(value, 2)
    if field.get("format") == "date":
        return (date(2027, 1, 4) + timedelta(days=rng.randint(0, 60))).isoformat()
    if "pattern" in field:
        examples = field.get("examples") or []
        if not examples:
            raise ScenarioError(f"a pattern field needs an example: {field}")
        return rng.choice(examples)
    low = field.get("minLength", 1)
    high = max(low, min(field.get("maxLength", 24), 24))
    return "".join(rng.choice(string.ascii_letters + " ") for _ in range(rng.randint(low, high))
                   ).strip() or "x" * max(low, 1)


# -- the generic driver ------------------------------------------------------------------

#: clock moves in a row with nothing to wait for, before an instance counts as stuck
MAX_IDLE = 5

def walk(bi: BI, instance_id: str, rng: random.Random, max_steps: int = 300) -> int:
    """Drive an instance to its end; answers the steps taken. Raises when it gets stuck.

    With no task, message or timer to wait for, only service-task jobs can be pending: the
    clock moves a second so that the job executor runs them (a few times, for jobs that
    follow one another), then the instance is stuck."""
    process_key = bi.detail(instance_id)["process_key"]
    messages = {m["name"]: m["payload"] for m in bi.definition(process_key)["messages"]}
    idle = 0
    for step in range(max_steps):
        detail = bi.detail(instance_id)
        if detail["state"] != "running":
            return step
        timers = [w["due_at"] for w in detail["waiting"] if w["type"] == "timer"]
        waits = [w for w in detail["waiting"] if w["type"] == "message"]
        if detail["ready_tasks"]:
            _complete_one(bi, instance_id, rng.choice(detail["ready_tasks"]), rng)
        elif waits:
            name = rng.choice(waits)["message_name"]
            bi.message(name, random_data(messages.get(name), rng), instance_id=instance_id)
        elif timers and min(timers) > bi.now():
            bi.move_to(min(timers))
        elif timers or idle < MAX_IDLE:
            bi.run_jobs()
            idle += not timers
            continue
        else:
            raise ScenarioError(f"instance {instance_id} is stuck: {detail}")
        idle = 0
    raise ScenarioError(f"instance {instance_id} did not end within {max_steps} steps")


def _complete_one(bi: BI, instance_id: str, task: dict, rng: random.Random) -> None:
    schema = bi.form(task["id"])
    group = rng.choice(task["candidate_groups"]) if task["candidate_groups"] else None
    for _ in range(20):  # a model may refuse some combinations (a cross-field rule)
        answer = bi.post_completion(task, group, random_data(schema, rng))
        if answer.status_code == 200:
            return
        if answer.status_code != 422:
            raise ScenarioError(f"completing {task['element_id']}: {answer.status_code} "
                                f"{answer.get_json()}")
    raise ScenarioError(f"no valid data found for {task['element_id']}")
