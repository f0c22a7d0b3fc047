"""The HTTP API through the Flask test client: every endpoint, its 4xx answers included."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from conftest import BROKEN, MODELS

from engine import Actor

APPLICATION = {"applicant": "Thermocam SA", "amount": 48000, "urgent": True}


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def upload(client, user, *names):
    files = {"files": [(io.BytesIO((MODELS / n).read_bytes()), n) for n in names]}
    return client.post("/api/process-definitions", user, data=files,
                       content_type="multipart/form-data")


@pytest.fixture
def review(client):
    assert upload(client, "olga", "review.bpmn").status_code == 201
    response = client.post("/api/process-instances", "bob", json={
        "process_key": "review", "business_key": "LIC-1", "data": APPLICATION})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


class TestAuthentication:
    def test_public_endpoints(self, client):
        assert client.get("/api/health").get_json() == {"status": "ok", "database": "ok"}
        spec = client.get("/api/openapi.json").get_json()
        assert "/api/tasks" in spec["paths"]
        assert client.get("/api/docs").status_code == 200

    @pytest.mark.parametrize("header", [None, "Bearer", "Bearer nonsense", "Basic abc",
                                        "Bearer bif_" + "x" * 43])
    def test_missing_or_bad_tokens_get_401(self, client, header):
        headers = {"Authorization": header} if header else {}
        response = client.get("/api/tasks", headers=headers)
        assert error_of(response, 401)["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")

    def test_revoked_tokens_get_401(self, client, engine):
        assert client.get("/api/tasks", "bob").status_code == 200
        engine.revoke_tokens("bob")
        error_of(client.get("/api/tasks", "bob"), 401)

    def test_a_second_token_works_alongside_the_first(self, client, engine):
        second = engine.issue_token("bob")
        assert client.get("/api/tasks", second).status_code == 200
        assert client.get("/api/tasks", "bob").status_code == 200

    def test_security_headers(self, client):
        response = client.get("/api/health")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "Access-Control-Allow-Origin" not in response.headers


class TestDefinitions:
    def test_process_owners_deploy_then_nothing_changes(self, client):
        response = upload(client, "olga", "review.bpmn", "parallel.bpmn")
        assert response.status_code == 201
        assert sorted((d["key"], d["version"]) for d in response.get_json()) == [
            ("parallel", 1), ("review", 1)]
        again = upload(client, "olga", "review.bpmn")
        assert again.status_code == 200
        assert again.get_json()[0]["unchanged"] is True

    def test_raw_xml_body(self, client):
        xml = (MODELS / "parallel.bpmn").read_bytes()
        response = client.post("/api/process-definitions?filename=parallel.bpmn", "ada",
                               data=xml, content_type="application/xml")
        assert response.status_code == 201
        assert response.get_json()[0]["key"] == "parallel"

    def test_only_process_owners_and_admins_deploy(self, client):
        assert error_of(upload(client, "bob", "review.bpmn"), 403)["code"] == "forbidden"

    def test_problems_come_back_as_a_list(self, client):
        files = {"files": [(io.BytesIO((BROKEN / "no_topic.bpmn").read_bytes()),
                            "no_topic.bpmn")]}
        error = error_of(client.post("/api/process-definitions", "olga", data=files,
                                     content_type="multipart/form-data"), 422)
        assert error["code"] == "deployment_failed"
        assert error["details"] == [{"file": "no_topic.bpmn", "element_id": "call_registry",
                                     "element_name": "Call the registry",
                                     "message": "the service task has no camunda:topic"}]

    def test_non_xml_uploads(self, client):
        error = error_of(client.post("/api/process-definitions", "olga", data=b"hello",
                                     content_type="application/xml"), 422)
        assert "not well-formed XML" in error["details"][0]["message"]
        error_of(client.post("/api/process-definitions", "olga", json={"a": 1}), 415)

    def test_oversized_bodies_get_413(self, client):
        big = b"<x>" + b" " * (7 * 1024 * 1024) + b"</x>"
        error_of(client.post("/api/process-definitions", "olga", data=big,
                             content_type="application/xml"), 413)

    def test_list_detail_and_xml(self, client):
        upload(client, "olga", "review.bpmn")
        listing = client.get("/api/process-definitions", "bob").get_json()["items"]
        assert [(d["key"], d["version"]) for d in listing] == [("review", 1)]
        detail = client.get("/api/process-definitions/review", "bob").get_json()
        assert detail["starter_groups"] == ["licensing-unit"]
        assert detail["start_form"]["required"] == ["applicant", "amount"]
        assert [v["version"] for v in detail["versions"]] == [1]
        xml = client.get("/api/process-definitions/review/xml?version=1", "bob")
        assert xml.mimetype == "application/xml"
        assert xml.data == (MODELS / "review.bpmn").read_bytes()
        error_of(client.get("/api/process-definitions/review/xml?version=9", "bob"), 404)
        assert detail["messages"] == []

    def test_detail_lists_the_messages_waited_for_with_their_payload(self, client):
        upload(client, "olga", "declared_opinion.bpmn", "opinion.bpmn")
        declared = client.get("/api/process-definitions/declared_opinion", "bob").get_json()
        assert declared["messages"] == [{
            "name": "council-of-state-opinion", "process": "declared_opinion",
            "element_id": "opinion", "element_name": None,
            "payload": {"type": "object", "properties": {"competence_problem": {
                "type": "boolean"}, "remarks": {"type": "string"}},
                "required": ["competence_problem"], "additionalProperties": False}}]
        free = client.get("/api/process-definitions/opinion", "bob").get_json()["messages"]
        assert [(m["name"], m["payload"]) for m in free] == [("council-of-state-opinion", None)]
        error_of(client.get("/api/process-definitions/nope", "bob"), 404)
        error_of(client.get("/api/process-definitions/review/xml?version=x", "bob"), 422)


class TestInstances:
    def test_start_answers_the_instance_and_its_ready_tasks(self, review):
        assert review["state"] == "running"
        assert review["business_key"] == "LIC-1"
        assert [t["element_id"] for t in review["ready_tasks"]] == ["assess"]

    @pytest.mark.parametrize(("body", "field"), [
        ({"process_key": "review", "data": {"amount": 1}}, "applicant"),
        ({"process_key": "review", "data": {"applicant": "A", "amount": "x"}}, "amount"),
        ({"process_key": "review", "data": APPLICATION, "colour": "red"}, "colour"),
        ({"data": APPLICATION}, "process_key"),
        ({"process_key": "review", "data": [1]}, "data"),
        ({"process_key": "review", "business_key": "", "data": APPLICATION}, "business_key"),
    ])
    def test_start_names_each_field_at_fault(self, client, body, field):
        upload(client, "olga", "review.bpmn")
        error = error_of(client.post("/api/process-instances", "bob", json=body), 422)
        assert field in error["details"], error

    def test_start_refusals(self, client):
        upload(client, "olga", "review.bpmn")
        body = {"process_key": "review", "data": APPLICATION}
        error_of(client.post("/api/process-instances", "eve", json=body), 403)
        error_of(client.post("/api/process-instances", "bob",
                             json={**body, "process_key": "nope"}), 404)
        error_of(client.post("/api/process-instances", "bob", data="{oops",
                             content_type="application/json"), 400)

    def test_visibility_of_instances(self, client, review):
        assert client.get("/api/process-instances", "bob").get_json()["total"] == 1
        assert client.get("/api/process-instances", "carol").get_json()["total"] == 1
        assert client.get("/api/process-instances", "eve").get_json()["total"] == 0
        assert client.get("/api/process-instances?state=completed", "ada").get_json()[
            "total"] == 0
        error_of(client.get(f"/api/process-instances/{review['id']}", "eve"), 404)
        error_of(client.get(f"/api/process-instances/{review['id']}/events", "eve"), 404)

    def test_detail_data_tasks_and_trail(self, client, review):
        detail = client.get(f"/api/process-instances/{review['id']}", "bob").get_json()
        assert detail["data"]["applicant"] == "Thermocam SA"
        assert detail["data"]["quantity"] == 1
        assert [t["element_id"] for t in detail["ready_tasks"]] == ["assess"]
        assert detail["waiting"] == []
        events = client.get(f"/api/process-instances/{review['id']}/events", "bob").get_json()
        assert [e["action"] for e in events["items"]] == ["instance.started", "path.taken"]

    def test_waiting_for_a_message_then_delivering_it(self, client):
        upload(client, "olga", "opinion.bpmn")
        started = client.post("/api/process-instances", "ada", json={
            "process_key": "opinion", "business_key": "T-7", "data": {"title": "Benelux"}})
        instance = started.get_json()
        task_id = instance["ready_tasks"][0]["id"]
        client.post(f"/api/tasks/{task_id}/complete", "ada", json={})
        detail = client.get(f"/api/process-instances/{instance['id']}", "ada").get_json()
        assert detail["waiting"] == [{"type": "message", "element_id": "await_opinion",
                                      "due_at": None,
                                      "message_name": "council-of-state-opinion"}]
        error_of(client.post("/api/messages", "ada", json={
            "name": "council-of-state-opinion", "business_key": "OTHER"}), 404)
        error_of(client.post("/api/messages", "ada", json={"business_key": "T-7"}), 422)
        reached = client.post("/api/messages", "ada", json={
            "name": "council-of-state-opinion", "business_key": "T-7",
            "data": {"competence_problem": False}})
        assert reached.status_code == 200
        assert [i["id"] for i in reached.get_json()["instances"]] == [instance["id"]]

    def test_outsiders_cannot_message_an_instance(self, client):
        upload(client, "olga", "opinion.bpmn")
        instance = client.post("/api/process-instances", "ada", json={
            "process_key": "opinion", "business_key": "T-8"}).get_json()
        client.post(f"/api/tasks/{instance['ready_tasks'][0]['id']}/complete", "ada", json={})
        error_of(client.post("/api/messages", "eve", json={
            "name": "council-of-state-opinion", "business_key": "T-8"}), 404)

    def test_cancel(self, client, review):
        path = f"/api/process-instances/{review['id']}/cancel"
        error_of(client.post(path, "carol", json={"reason": "no"}), 403)
        error_of(client.post(path, "bob", json={}), 422)
        response = client.post(path, "bob", json={"reason": "applicant withdrew"})
        assert response.get_json()["state"] == "cancelled"
        error_of(client.post(path, "bob", json={"reason": "again"}), 409)


class TestTasks:
    def test_inbox_filters_and_sorting(self, client, review):
        page = client.get("/api/tasks", "bob").get_json()
        assert page["total"] == 1
        item = page["items"][0]
        assert set(item) >= {"id", "name", "element_id", "process_key", "process_version",
                             "instance_id", "business_key", "candidate_groups",
                             "candidate_users", "assignee", "state", "created_at", "due_at",
                             "follow_up_at", "priority"}
        assert client.get("/api/tasks", "eve").get_json()["total"] == 0
        assert client.get("/api/tasks?business_key=LIC-1&sort=-priority&unassigned=true",
                          "bob").get_json()["total"] == 1
        assert client.get("/api/tasks?overdue=true", "bob").get_json()["total"] == 0
        assert client.get("/api/tasks?due_before=2000-01-01T00:00:00Z",
                          "bob").get_json()["total"] == 0
        error_of(client.get("/api/tasks?sort=name", "bob"), 422)
        error_of(client.get("/api/tasks?limit=201", "bob"), 422)
        error_of(client.get("/api/tasks?due_before=yesterday", "bob"), 422)

    def test_counts(self, client, review):
        counts = client.get("/api/tasks/counts", "bob").get_json()["items"]
        assert counts == [{"group": "licensing-unit", "ready": 1, "unassigned": 1,
                           "overdue": 0}]

    def test_detail_with_form(self, client, review):
        task_id = review["ready_tasks"][0]["id"]
        detail = client.get(f"/api/tasks/{task_id}", "bob").get_json()
        assert detail["form"]["properties"]["decision"]["enum"] == ["grant", "refuse"]
        assert detail["data"] == {}
        error_of(client.get(f"/api/tasks/{task_id}", "eve"), 403)
        error_of(client.get("/api/tasks/unknown", "bob"), 404)

    def test_claim_complete_and_the_4xx_along_the_way(self, client, review):
        task_id = review["ready_tasks"][0]["id"]
        error_of(client.post(f"/api/tasks/{task_id}/claim", "eve"), 403)
        assert client.post(f"/api/tasks/{task_id}/claim", "bob").get_json()["assignee"] == "bob"
        error_of(client.post(f"/api/tasks/{task_id}/claim", "carol"), 409)
        error_of(client.post(f"/api/tasks/{task_id}/complete", "carol",
                             json={"data": {"decision": "grant"}}), 409)
        error = error_of(client.post(f"/api/tasks/{task_id}/complete", "bob",
                                     json={"data": {"decision": "maybe", "x": 1}}), 422)
        assert set(error["details"]) == {"decision", "x"}
        done = client.post(f"/api/tasks/{task_id}/complete", "bob",
                           json={"data": {"decision": "grant"}})
        assert done.status_code == 200
        assert [t["element_id"] for t in done.get_json()["ready_tasks"]] == ["validate"]
        error_of(client.post(f"/api/tasks/{task_id}/complete", "bob",
                             json={"data": {"decision": "grant"}}), 409)
        validate = done.get_json()["ready_tasks"][0]["id"]
        final = client.post(f"/api/tasks/{validate}/complete", "dan",
                            json={"data": {"validated": True}})
        assert final.get_json()["state"] == "completed"

    def test_unclaim_and_assign(self, client, review):
        task_id = review["ready_tasks"][0]["id"]
        client.post(f"/api/tasks/{task_id}/claim", "bob")
        error_of(client.post(f"/api/tasks/{task_id}/unclaim", "carol"), 403)
        assert client.post(f"/api/tasks/{task_id}/unclaim", "bob").get_json()["assignee"] is None
        error_of(client.post(f"/api/tasks/{task_id}/assign", "eve", json={"user": "x"}), 403)
        error_of(client.post(f"/api/tasks/{task_id}/assign", "bob", json={}), 422)
        assigned = client.post(f"/api/tasks/{task_id}/assign", "bob", json={"user": "carol"})
        assert assigned.get_json()["assignee"] == "carol"

    def test_comments(self, client, review):
        task_id = review["ready_tasks"][0]["id"]
        posted = client.post(f"/api/tasks/{task_id}/comments", "bob",
                             json={"message": "end-user certificate missing"})
        assert posted.status_code == 201
        assert posted.get_json()["author"] == "bob"
        error_of(client.post(f"/api/tasks/{task_id}/comments", "bob", json={"message": ""}),
                 422)
        error_of(client.post(f"/api/tasks/{task_id}/comments", "eve", json={"message": "x"}),
                 403)
        listing = client.get(f"/api/tasks/{task_id}/comments", "carol").get_json()["items"]
        assert [c["message"] for c in listing] == ["end-user certificate missing"]


class TestIncidents:
    def test_admins_list_and_retry(self, client, engine, registry, clock):
        def register_is_down(ctx):
            raise OSError("register down")

        registry.register("flaky", register_is_down)
        upload(client, "olga", "services.bpmn")
        client.post("/api/process-instances", "ada", json={"process_key": "services"})
        for _ in range(3):
            engine.run_jobs()
            clock.advance(timedelta(minutes=10))
        error_of(client.get("/api/incidents", "bob"), 403)
        [incident] = client.get("/api/incidents", "ada").get_json()["items"]
        assert "down" in incident["message"]
        retried = client.post(f"/api/incidents/{incident['id']}/retry", "ada")
        assert retried.status_code == 200
        assert retried.get_json()["resolved_by"] == "ada"
        error_of(client.post(f"/api/incidents/{incident['id']}/retry", "ada"), 409)
        error_of(client.post("/api/incidents/999/retry", "ada"), 404)


def test_unknown_paths_and_methods_answer_json(client):
    assert error_of(client.get("/api/nowhere", "bob"), 404)["code"] == "not_found"
    assert error_of(client.call("DELETE", "/api/tasks", "bob"), 405)["code"] == \
        "method_not_allowed"


def test_actor_identity_is_user_plus_groups(engine, client):
    assert engine.authenticate(client.tokens["bob"]) == Actor.of("bob", "licensing-unit")


@pytest.mark.parametrize("path", ["/api/process-instances?business_key=a%00b",
                                  "/api/tasks/a%00b"])
def test_nul_characters_in_the_url_get_400(client, path):
    error = error_of(client.get(path, "ada"), 400)
    assert error["message"] == "NUL characters are not allowed in the URL"


@pytest.mark.parametrize(("body", "field"), [
    ({"process_key": "review\x00", "data": {}}, "body.process_key"),
    ({"process_key": "review", "data": {"applicant": "\x00"}}, "body.data.applicant"),
])
def test_nul_characters_in_the_body_are_named(client, body, field):
    error = error_of(client.post("/api/process-instances", "ada", json=body), 422)
    assert field in error["details"]


@pytest.mark.parametrize("depth", [40, 5000, 200000])
def test_deeply_nested_bodies_get_a_4xx(client, depth):
    body = '{"process_key": "x", "data": {"a": ' + "[" * depth + "]" * depth + "}}"
    response = client.post("/api/process-instances", "ada", data=body,
                           content_type="application/json")
    assert response.status_code in (400, 422)
    assert "nests too deeply" in response.get_json()["error"]["message"]


def test_the_engine_refuses_nul_characters_in_data(engine, deploy):
    from engine.errors import ValidationFailed

    deploy("opinion.bpmn")
    with pytest.raises(ValidationFailed):
        engine.start("opinion", actor=Actor.of("ada", "admin"), data={"title": "a\x00b"})
