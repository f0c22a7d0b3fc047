"""Four eyes (``fourEyesWith``): whoever completed a named task of the instance may not claim,
be assigned or complete the task that names it; admins are bound too."""

from __future__ import annotations

import pytest
from conftest import ADMIN, CASE_WORKER, MODELS, OTHER_WORKER

from engine import Actor, queries
from engine.errors import DeploymentFailed, Forbidden

THIRD_WORKER = Actor.of("frank", "licensing-unit")
REFUSED = ("four-eyes rule: {who} completed 'Assess the application' in this instance; "
           "someone else must do 'Validate the assessment'")


def _ready(engine, instance_id: str, element_id: str):
    [task] = [t for t in engine.read(queries.ready_tasks_of, instance_id)
              if t.element_id == element_id]
    return task


@pytest.fixture
def instance_id(engine, deploy) -> str:
    deploy("four_eyes.bpmn")
    return engine.start("four_eyes", actor=CASE_WORKER).id


def _assessed_by(engine, instance_id: str, actor: Actor) -> str:
    """Complete the assessment as ``actor``; answers the id of the validation task."""
    engine.complete_task(_ready(engine, instance_id, "assess_application").id, actor=actor)
    return _ready(engine, instance_id, "validate").id


def _refused(action, who: str = "you") -> None:
    with pytest.raises(Forbidden) as failure:
        action()
    assert failure.value.message == REFUSED.format(who=who)


class TestEngine:
    def test_the_assessor_may_not_claim_or_complete_the_validation(self, engine, instance_id):
        validate = _assessed_by(engine, instance_id, CASE_WORKER)
        _refused(lambda: engine.claim(validate, actor=CASE_WORKER))
        _refused(lambda: engine.complete_task(validate, {"validated": True},
                                              actor=CASE_WORKER))

    def test_nobody_may_assign_it_to_the_assessor(self, engine, instance_id):
        validate = _assessed_by(engine, instance_id, CASE_WORKER)
        _refused(lambda: engine.assign(validate, "bob", actor=OTHER_WORKER), who="bob")
        _refused(lambda: engine.assign(validate, "bob", actor=ADMIN), who="bob")
        assert engine.assign(validate, "carol", actor=CASE_WORKER).assignee == "carol"

    def test_another_member_of_the_group_validates(self, engine, instance_id):
        validate = _assessed_by(engine, instance_id, CASE_WORKER)
        assert engine.claim(validate, actor=OTHER_WORKER).assignee == "carol"
        engine.complete_task(validate, {"validated": True}, actor=OTHER_WORKER)
        assert engine.instance(instance_id).state == "completed"

    def test_admins_are_bound_too(self, engine, instance_id):
        validate = _assessed_by(engine, instance_id, ADMIN)
        _refused(lambda: engine.claim(validate, actor=ADMIN))
        _refused(lambda: engine.complete_task(validate, {"validated": True}, actor=ADMIN))

    def test_every_assessor_of_every_round_is_bound(self, engine, instance_id):
        validate = _assessed_by(engine, instance_id, CASE_WORKER)
        engine.complete_task(validate, {"validated": False}, actor=OTHER_WORKER)
        validate = _assessed_by(engine, instance_id, OTHER_WORKER)  # sent back, assessed again
        _refused(lambda: engine.claim(validate, actor=OTHER_WORKER))
        _refused(lambda: engine.claim(validate, actor=CASE_WORKER))
        engine.complete_task(validate, {"validated": True}, actor=THIRD_WORKER)
        assert engine.instance(instance_id).state == "completed"

    def test_the_rule_is_per_instance(self, engine, instance_id):
        _assessed_by(engine, instance_id, CASE_WORKER)
        other = engine.start("four_eyes", actor=CASE_WORKER).id
        validate = _assessed_by(engine, other, OTHER_WORKER)
        assert engine.claim(validate, actor=CASE_WORKER).assignee == "bob"

    def test_the_inbox_row_carries_the_rule(self, engine, instance_id):
        assert _ready(engine, instance_id, "assess_application").four_eyes_with is None
        validate = _assessed_by(engine, instance_id, CASE_WORKER)
        assert engine.task(validate).four_eyes_with == ["assess_application"]


class TestApi:
    def test_the_assessor_gets_403_with_the_reason(self, client, instance_id, engine):
        validate = _assessed_by(engine, instance_id, CASE_WORKER)
        for path, body in ((f"/api/tasks/{validate}/claim", None),
                           (f"/api/tasks/{validate}/complete", {"data": {"validated": True}})):
            response = client.post(path, "bob", json=body)
            assert response.status_code == 403
            error = response.get_json()["error"]
            assert (error["code"], error["message"]) == ("forbidden", REFUSED.format(who="you"))
        response = client.post(f"/api/tasks/{validate}/assign", "carol", json={"user": "bob"})
        assert response.status_code == 403
        assert response.get_json()["error"]["message"] == REFUSED.format(who="bob")
        done = client.post(f"/api/tasks/{validate}/complete", "carol",
                           json={"data": {"validated": True}})
        assert done.status_code == 200 and done.get_json()["state"] == "completed"


@pytest.mark.parametrize(("value", "message"), [
    ("ghost", "names 'ghost', which is not a user task of this process"),
    ("received", "names 'received', which is not a user task of this process"),
    ("assess_application, ghost", "names 'ghost'"),
    (" , ", "names no user task"),
])
def test_a_bad_property_is_refused_at_deploy(engine, value, message):
    xml = (MODELS / "four_eyes.bpmn").read_bytes().replace(
        b'name="fourEyesWith" value="assess_application"',
        f'name="fourEyesWith" value="{value}"'.encode())
    with pytest.raises(DeploymentFailed) as failure:
        engine.deploy([("four_eyes.bpmn", xml)])
    [problem] = failure.value.problems
    assert (problem.element_id, problem.element_name) == ("validate", "Validate the assessment")
    assert message in problem.message

