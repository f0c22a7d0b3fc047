"""The dev clock: ``/api/dev/clock`` moves the engine clock and fires what falls due; the
issue's legal-deadline model driven through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import API_USERS, START, Client

from api import create_app
from engine import Engine
from engine.db import Database
from engine.devclock import DevClock


@pytest.fixture
def dev_client(engine) -> Client:
    app = create_app(engine, dev_clock=True)
    app.testing = True
    users = {**API_USERS, "sam": ["licensing-supervisors"]}
    tokens = {name: engine.add_user(name, groups) for name, groups in users.items()}
    return Client(app.test_client(), tokens)


def iso(moment: datetime) -> str:
    return moment.isoformat()


class TestEndpoints:
    def test_without_the_flag_there_is_no_clock_endpoint(self, client):
        assert client.get("/api/dev/clock", user="ada").status_code == 404
        assert client.post("/api/dev/clock", user="ada",
                           json={"advance": "P1D"}).status_code == 404

    def test_admins_read_and_move_it_forward_only(self, dev_client):
        assert dev_client.get("/api/dev/clock", user="ada").json == {"now": iso(START)}
        moved = dev_client.post("/api/dev/clock", user="ada", json={"advance": "P3D"})
        assert moved.status_code == 200
        assert moved.json == {"now": iso(START + timedelta(days=3))}
        moved = dev_client.post("/api/dev/clock", user="ada",
                                json={"to": "2027-01-15T09:00:00Z"})
        assert moved.json == {"now": "2027-01-15T09:00:00+00:00"}
        back = dev_client.post("/api/dev/clock", user="ada", json={"to": "2027-01-10T09:00:00Z"})
        assert back.status_code == 422
        assert "to" in back.json["error"]["details"]

    @pytest.mark.parametrize(("body", "field"), [
        ({}, "advance"), ({"advance": "P1D", "to": "2027-02-01T00:00:00Z"}, "advance"),
        ({"advance": "three days"}, "advance"), ({"to": "2027-02-01T00:00:00"}, "to"),
        ({"advance": "P1D", "speed": 2}, "speed"),
    ])
    def test_bad_moves_are_422_naming_the_field(self, dev_client, body, field):
        answer = dev_client.post("/api/dev/clock", user="ada", json=body)
        assert answer.status_code == 422
        assert field in str(answer.json["error"]["details"])

    def test_only_admins(self, dev_client):
        assert dev_client.get("/api/dev/clock", user="bob").status_code == 403
        assert dev_client.post("/api/dev/clock", user="bob",
                               json={"advance": "P1D"}).status_code == 403
        assert dev_client.get("/api/dev/clock").status_code == 401


def test_the_legal_deadline_model_through_the_api(dev_client, deploy):
    """Due in 10 working days, escalated to the supervisors after 5 days, lapsed after 30
    working days: each when the dev clock passes its moment."""
    deploy("escalation.bpmn")
    started = dev_client.post("/api/process-instances", user="bob", json={
        "process_key": "escalation", "business_key": "LIC-2027-0042",
        "data": {"applicant": "Thermocam SA", "received_on": "2027-01-04"}})
    assert started.status_code == 201, started.json
    instance_id = started.json["id"]
    [assess] = started.json["ready_tasks"]
    assert assess["due_at"] == "2027-01-18T22:59:59.999999+00:00"
    assert assess["overdue"] is False

    def inbox(user: str, **query) -> list[dict]:
        answer = dev_client.get("/api/tasks", user=user, query_string=query)
        assert answer.status_code == 200, answer.json
        return answer.json["items"]

    def move(**body) -> None:
        assert dev_client.post("/api/dev/clock", user="ada", json=body).status_code == 200

    move(advance="P4DT23H")
    assert inbox("sam") == []
    move(advance="PT1H")  # five days after the start: the escalation
    assert [t["element_id"] for t in inbox("sam")] == ["supervise"]
    [mail] = dev_client.get("/api/notifications", user="ada").json["items"]
    assert mail["recipient"] == "group:licensing-supervisors"

    move(to="2027-01-18T22:59:59Z")
    assert [t["overdue"] for t in inbox("bob")] == [False]
    assert inbox("bob", overdue="true") == []
    move(to="2027-01-19T00:00:00Z")  # past the due date: overdue, not lapsed
    assert [(t["element_id"], t["overdue"]) for t in inbox("bob")] == [("assess", True)]
    assert [t["element_id"] for t in inbox("bob", overdue="true")] == ["assess"]

    move(to="2027-02-15T23:00:00Z")  # the 30th working day has ended: the file lapses
    assert inbox("bob") == []
    events = dev_client.get(f"/api/process-instances/{instance_id}/events", user="bob").json
    fired = [e["element_id"] for e in events["items"] if e["action"] == "timer.fired"]
    assert fired == ["remind", "lapse"]
    [supervise] = inbox("sam")
    done = dev_client.post(f"/api/tasks/{supervise['id']}/complete", user="sam", json={})
    assert done.status_code == 200
    detail = dev_client.get(f"/api/process-instances/{instance_id}", user="ada").json
    assert detail["state"] == "completed"


def test_every_process_sees_the_dev_clock_move(database_url):
    """Two engines on one database (two server or worker processes) share the offset."""
    first = Engine(Database(database_url), clock=DevClock(Database(database_url), 0))
    second = Engine(Database(database_url), clock=DevClock(Database(database_url), 0))
    try:
        before = second.clock.now()
        assert abs(before - datetime.now(UTC)) < timedelta(minutes=1)
        first.clock.advance(timedelta(days=10))
        assert second.clock.now() - before >= timedelta(days=10)
        target = datetime.now(UTC) + timedelta(days=40)
        second.clock.set(target)
        assert first.clock.now() >= target
        with pytest.raises(ValueError):
            first.clock.set(target - timedelta(days=1))
        with pytest.raises(ValueError):
            first.clock.advance(timedelta(seconds=-1))
    finally:
        for engine in (first, second):
            engine.clock.db.dispose()
            engine.close()
