"""Running instances through the engine API: start, complete, claim, messages, cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import ADMIN, CABINET, CASE_WORKER, MODELS, OTHER_WORKER, OUTSIDER, START

from engine import Actor, queries
from engine.errors import (
    Conflict,
    DeploymentFailed,
    Forbidden,
    NotFound,
    ProcessError,
    ValidationFailed,
)

APPLICATION = {"applicant": "Thermocam SA", "amount": 48000.0, "urgent": True,
               "received_on": "2027-01-04"}


def ready(engine, instance_id):
    return engine.read(queries.ready_tasks_of, instance_id)


def only_ready(engine, instance_id):
    tasks = ready(engine, instance_id)
    assert len(tasks) == 1, tasks
    return tasks[0]


@pytest.fixture
def review(engine, deploy):
    deploy("review.bpmn")
    return engine.start("review", actor=CASE_WORKER, business_key="LIC-2027-0001",
                        data=APPLICATION)


class TestStart:
    def test_start_runs_to_the_first_user_task_with_its_inbox_row(self, engine, review):
        assert review.state == "running"
        assert review.process_version == 1
        task = only_ready(engine, review.id)
        assert (task.element_id, task.name) == ("assess", "Assess the application")
        assert task.candidate_groups == ["licensing-unit"]
        assert task.business_key == "LIC-2027-0001"
        assert task.priority == 80  # ${80 if urgent else 50}
        assert task.due_at == START + timedelta(days=5)
        assert task.created_at == START

    def test_start_data_gets_defaults_and_types(self, engine, review):
        event = engine.read(queries.events, review.id)[0]
        assert event.action == "instance.started"
        assert event.data["data"] == {**APPLICATION, "quantity": 1}

    @pytest.mark.parametrize(("data", "field"), [
        ({"amount": 1.0}, "applicant"),
        ({"applicant": "x", "amount": -1}, "amount"),
        ({"applicant": "x", "amount": "12"}, "amount"),
        ({"applicant": "x", "amount": 1, "quantity": 1.5}, "quantity"),
        ({"applicant": "x", "amount": 1, "received_on": "04/01/2027"}, "received_on"),
        ({"applicant": "x", "amount": 1, "colour": "red"}, "colour"),
        ({"applicant": "x" * 101, "amount": 1}, "applicant"),
    ])
    def test_start_data_is_validated_against_the_start_form(self, engine, deploy, data, field):
        deploy("review.bpmn")
        with pytest.raises(ValidationFailed) as failure:
            engine.start("review", actor=CASE_WORKER, data=data)
        assert field in failure.value.details
        assert engine.read(queries.instances, ADMIN).total == 0

    def test_serializer_keys_in_data_are_refused(self, engine, deploy):
        deploy("opinion.bpmn")
        with pytest.raises(ValidationFailed) as failure:
            engine.start("opinion", actor=ADMIN, data={"title": {"typename": "BpmnWorkflow"}})
        assert "data.title.typename" in failure.value.details

    def test_only_candidate_starter_groups_may_start(self, engine, deploy):
        deploy("review.bpmn")
        with pytest.raises(Forbidden):
            engine.start("review", actor=OUTSIDER, data=APPLICATION)
        assert engine.start("review", actor=ADMIN, data=APPLICATION).state == "running"

    def test_a_process_without_starter_groups_is_open_to_all(self, engine, deploy):
        deploy("parallel.bpmn")
        assert engine.start("parallel", actor=OUTSIDER).state == "running"

    def test_unknown_process_is_not_found(self, engine):
        with pytest.raises(NotFound):
            engine.start("nope", actor=ADMIN)

    def test_new_instances_use_the_latest_version_running_ones_keep_theirs(
            self, engine, deploy, review):
        from conftest import MODELS

        xml = (MODELS / "review.bpmn").read_bytes().replace(
            b'name="Assess the application"', b'name="Assess (v2)"')
        engine.deploy([("review.bpmn", xml)])
        newer = engine.start("review", actor=CASE_WORKER, data=APPLICATION)
        assert newer.process_version == 2
        assert only_ready(engine, newer.id).name == "Assess (v2)"
        old_task = only_ready(engine, review.id)
        engine.complete_task(old_task.id, {"decision": "refuse"}, actor=CASE_WORKER)
        assert engine.instance(review.id).state == "completed"


class TestComplete:
    def test_complete_follows_the_gateway_to_the_next_task(self, engine, review):
        task = only_ready(engine, review.id)
        engine.complete_task(task.id, {"decision": "grant", "comment": "fine"},
                             actor=CASE_WORKER)
        assert engine.task(task.id).state == "completed"
        assert engine.task(task.id).completed_by == "bob"
        nxt = only_ready(engine, review.id)
        assert nxt.element_id == "validate"
        assert nxt.candidate_users == ["alice"]

    def test_the_default_flow_ends_the_instance(self, engine, review):
        task = only_ready(engine, review.id)
        engine.complete_task(task.id, {"decision": "refuse"}, actor=CASE_WORKER)
        instance = engine.instance(review.id)
        assert instance.state == "completed"
        assert instance.ended_at == START
        assert ready(engine, review.id) == []

    @pytest.mark.parametrize(("data", "field"), [
        ({}, "decision"),
        ({"decision": "maybe"}, "decision"),
        ({"decision": "grant", "comment": "x" * 201}, "comment"),
        ({"decision": "grant", "extra": 1}, "extra"),
        ({"decision": None}, "decision"),
    ])
    def test_completion_data_is_validated_and_nothing_changes(self, engine, review, data, field):
        task = only_ready(engine, review.id)
        with pytest.raises(ValidationFailed) as failure:
            engine.complete_task(task.id, data, actor=CASE_WORKER)
        assert field in failure.value.details
        assert engine.task(task.id).state == "ready"
        actions = [e.action for e in engine.read(queries.events, review.id)]
        assert actions == ["instance.started", "path.taken"]

    def test_a_completed_task_cannot_be_completed_again(self, engine, review):
        task = only_ready(engine, review.id)
        engine.complete_task(task.id, {"decision": "refuse"}, actor=CASE_WORKER)
        with pytest.raises(Conflict):
            engine.complete_task(task.id, {"decision": "refuse"}, actor=CASE_WORKER)

    def test_non_candidates_may_not_complete(self, engine, review):
        task = only_ready(engine, review.id)
        with pytest.raises(Forbidden):
            engine.complete_task(task.id, {"decision": "grant"}, actor=CABINET)
        assert engine.task(task.id).state == "ready"

    def test_a_task_claimed_by_another_is_a_conflict(self, engine, review):
        task = only_ready(engine, review.id)
        engine.claim(task.id, actor=OTHER_WORKER)
        with pytest.raises(Conflict, match="claimed by carol"):
            engine.complete_task(task.id, {"decision": "grant"}, actor=CASE_WORKER)
        engine.complete_task(task.id, {"decision": "grant"}, actor=OTHER_WORKER)

    def test_unknown_task_is_not_found(self, engine):
        with pytest.raises(NotFound):
            engine.complete_task("0" * 36, {}, actor=ADMIN)


class TestClaims:
    def test_claim_unclaim_assign(self, engine, review):
        task = only_ready(engine, review.id)
        assert engine.claim(task.id, actor=CASE_WORKER).assignee == "bob"
        with pytest.raises(Conflict):
            engine.claim(task.id, actor=OTHER_WORKER)
        with pytest.raises(Forbidden):
            engine.unclaim(task.id, actor=OTHER_WORKER)
        assert engine.unclaim(task.id, actor=CASE_WORKER).assignee is None
        assert engine.assign(task.id, "carol", actor=CASE_WORKER).assignee == "carol"
        with pytest.raises(Forbidden):
            engine.assign(task.id, "eve", actor=OUTSIDER)
        actions = [e.action for e in engine.read(queries.events, review.id)]
        assert actions == ["instance.started", "path.taken", "task.claimed", "task.unclaimed",
                           "task.assigned"]

    def test_claiming_needs_candidacy(self, engine, review):
        task = only_ready(engine, review.id)
        with pytest.raises(Forbidden):
            engine.claim(task.id, actor=OUTSIDER)
        assert engine.task(task.id).assignee is None


class TestGatewaysAndLanes:
    def test_parallel_branches_then_join(self, engine, deploy):
        deploy("parallel.bpmn")
        instance = engine.start("parallel", actor=ADMIN)
        tasks = {t.element_id: t for t in ready(engine, instance.id)}
        assert set(tasks) == {"consult_fps", "consult_finance"}
        engine.complete_task(tasks["consult_fps"].id, actor=ADMIN)
        assert [t.element_id for t in ready(engine, instance.id)] == ["consult_finance"]
        engine.complete_task(tasks["consult_finance"].id, actor=ADMIN)
        final = only_ready(engine, instance.id)
        assert final.element_id == "summarise"
        engine.complete_task(final.id, actor=ADMIN)
        assert engine.instance(instance.id).state == "completed"

    def test_lanes_become_candidate_groups_unless_the_task_names_some(self, engine, deploy):
        deploy("lanes.bpmn")
        instance = engine.start("lanes", actor=ADMIN)
        first = only_ready(engine, instance.id)
        assert first.candidate_groups == ["licensing-unit"]
        engine.complete_task(first.id, actor=CASE_WORKER)
        second = only_ready(engine, instance.id)
        assert second.candidate_groups == ["finance"]
        engine.complete_task(second.id, actor=Actor.of("fin", "finance"))
        assert only_ready(engine, instance.id).candidate_groups == [
            "cabinet-du-ministre-president"]


class TestMessages:
    @pytest.fixture
    def waiting(self, engine, deploy):
        deploy("opinion.bpmn")
        instance = engine.start("opinion", actor=ADMIN, business_key="TREATY-7",
                                data={"title": "Benelux treaty"})
        engine.complete_task(only_ready(engine, instance.id).id, actor=ADMIN)
        return instance

    def test_the_instance_waits_for_the_message(self, engine, waiting):
        waits = engine.read(queries.waits_of, waiting.id)
        assert [(w.kind, w.element_id, w.message_name) for w in waits] == [
            ("message", "await_opinion", "council-of-state-opinion")]
        assert ready(engine, waiting.id) == []

    def test_message_by_business_key_carries_its_data_into_the_gateway(self, engine, waiting):
        reached = engine.correlate("council-of-state-opinion", actor=ADMIN,
                                   business_key="TREATY-7", data={"competence_problem": True})
        assert [i.id for i in reached] == [waiting.id]
        assert only_ready(engine, waiting.id).element_id == "redo"
        assert engine.read(queries.waits_of, waiting.id) == []

    def test_message_by_instance_id(self, engine, waiting):
        engine.correlate("council-of-state-opinion", actor=ADMIN, instance_id=waiting.id,
                         data={"competence_problem": False})
        assert only_ready(engine, waiting.id).element_id == "second_reading"

    def test_a_message_nobody_waits_for_is_not_found(self, engine, waiting):
        with pytest.raises(NotFound):
            engine.correlate("council-of-state-opinion", actor=ADMIN, business_key="OTHER")
        with pytest.raises(NotFound):
            engine.correlate("another-message", actor=ADMIN, instance_id=waiting.id)

    def test_a_message_must_name_its_target(self, engine, waiting):
        with pytest.raises(ValidationFailed):
            engine.correlate("council-of-state-opinion", actor=ADMIN)

    def test_a_message_that_breaks_the_gateway_is_rolled_back(self, engine, waiting):
        with pytest.raises(ProcessError) as failure:
            engine.correlate("council-of-state-opinion", actor=ADMIN, instance_id=waiting.id,
                             data={})
        assert "competence_problem" in failure.value.message
        assert len(engine.read(queries.waits_of, waiting.id)) == 1


class TestCancel:
    def test_cancel_closes_open_tasks_and_records_the_reason(self, engine, review):
        task = only_ready(engine, review.id)
        engine.cancel(review.id, "applicant withdrew", actor=CASE_WORKER)
        instance = engine.instance(review.id)
        assert (instance.state, instance.end_reason) == ("cancelled", "applicant withdrew")
        assert engine.task(task.id).state == "cancelled"
        with pytest.raises(Conflict):
            engine.complete_task(task.id, {"decision": "grant"}, actor=CASE_WORKER)

    def test_cancel_needs_a_reason_and_the_right_person(self, engine, review):
        with pytest.raises(ValidationFailed):
            engine.cancel(review.id, " ", actor=ADMIN)
        with pytest.raises(Forbidden):
            engine.cancel(review.id, "no", actor=OTHER_WORKER)
        engine.cancel(review.id, "duplicate file", actor=ADMIN)
        with pytest.raises(Conflict):
            engine.cancel(review.id, "again", actor=ADMIN)


class TestCallActivityAndScripts:
    def test_call_activity_runs_the_child_and_returns(self, engine, deploy):
        deploy("infringement_child.bpmn", "infringement_parent.bpmn")
        instance = engine.start("transposition_lite", actor=ADMIN, business_key="32024L0001")
        engine.complete_task(only_ready(engine, instance.id).id, {"notified": False},
                             actor=ADMIN)
        child_task = only_ready(engine, instance.id)
        assert child_task.element_id == "reply"
        assert child_task.process_key == "transposition_lite"
        engine.complete_task(child_task.id, {"reply_text": "measures notified"}, actor=ADMIN)
        close = only_ready(engine, instance.id)
        assert close.element_id == "close"
        engine.complete_task(close.id, actor=ADMIN)
        assert engine.instance(instance.id).state == "completed"

    def test_a_running_caller_keeps_the_callee_version_it_started_with(self, engine, deploy):
        from conftest import MODELS

        deploy("infringement_child.bpmn", "infringement_parent.bpmn")
        instance = engine.start("transposition_lite", actor=ADMIN)
        child = (MODELS / "infringement_child.bpmn").read_bytes().replace(
            b'name="Draft the reply"', b'name="Draft the reply (v2)"')
        engine.deploy([("infringement_child.bpmn", child)])
        engine.complete_task(only_ready(engine, instance.id).id, {"notified": False},
                             actor=ADMIN)
        assert only_ready(engine, instance.id).name == "Draft the reply"

    def test_script_task_runs_in_the_sandbox(self, engine, deploy):
        deploy("scripted.bpmn")
        instance = engine.start("scripted", actor=ADMIN, data={"amount": 60000.0})
        task = only_ready(engine, instance.id)
        assert task.element_id == "confirm"
        from engine.calendar.moments import end_of_day

        assert task.due_at == end_of_day(START.date())
        assert task.follow_up_at == end_of_day(START.date() + timedelta(days=1))
        engine.complete_task(task.id, actor=ADMIN)
        assert engine.instance(instance.id).state == "completed"

    def test_boundary_timer_is_recorded_as_a_wait(self, engine, deploy):
        deploy("deadline.bpmn")
        instance = engine.start("deadline", actor=ADMIN)
        waits = engine.read(queries.waits_of, instance.id)
        assert [(w.kind, w.element_id) for w in waits] == [("timer", "lapse")]
        assert waits[0].due_at is not None
        engine.complete_task(only_ready(engine, instance.id).id, actor=CASE_WORKER)
        assert engine.read(queries.waits_of, instance.id) == []


class TestDecisions:
    @pytest.mark.parametrize(("regime", "amount", "task"), [
        ("arms", 10.0, "minister_decides"),
        ("dual-use", 60000.0, "minister_decides"),
        ("dual-use", 50000.0, "director_decides"),
    ])
    def test_business_rule_task_evaluates_the_deployed_dmn(self, engine, deploy, regime, amount,
                                                           task):
        deploy("licence_route.dmn", "routed.bpmn")
        instance = engine.start("routed", actor=ADMIN, data={"regime": regime, "amount": amount})
        assert only_ready(engine, instance.id).element_id == task

    def test_a_process_needs_its_decision_deployed(self, engine, deploy):
        from engine.errors import DeploymentFailed

        with pytest.raises(DeploymentFailed) as failure:
            deploy("routed.bpmn")
        assert failure.value.problems[0].element_id == "route_it"
        deploy("licence_route.dmn")
        assert [d.key for d in deploy("routed.bpmn")] == ["routed"]


class TestDeclaredPayloads:
    """A catching event may declare its message's payload (``payload:FIELD`` properties)."""

    @pytest.fixture
    def waiting(self, engine, deploy):
        deploy("declared_opinion.bpmn")
        return engine.start("declared_opinion", actor=ADMIN)

    def test_a_payload_that_fits_is_delivered_typed(self, engine, waiting):
        engine.correlate("council-of-state-opinion", actor=ADMIN, instance_id=waiting.id,
                         data={"competence_problem": True})
        assert engine.instance(waiting.id).state == "completed"
        [event] = [e for e in engine.read(queries.events, waiting.id)
                   if e.action == "message.received"]
        assert event.data["data"] == {"competence_problem": True}

    @pytest.mark.parametrize(("data", "field"), [
        ({}, "competence_problem"), ({"competence_problem": "yes"}, "competence_problem"),
        ({"competence_problem": False, "remark": "typo"}, "remark"),
    ])
    def test_a_payload_that_does_not_fit_is_refused_naming_the_field(self, engine, waiting,
                                                                     data, field):
        with pytest.raises(ValidationFailed) as failure:
            engine.correlate("council-of-state-opinion", actor=ADMIN, instance_id=waiting.id,
                             data=data)
        assert field in failure.value.details
        assert engine.instance(waiting.id).state == "running"

    def test_a_bad_declaration_is_a_deploy_problem(self, engine):
        xml = (MODELS / "declared_opinion.bpmn").read_bytes().replace(b'"string?"', b'"text"')
        with pytest.raises(DeploymentFailed) as failure:
            engine.deploy([("declared_opinion.bpmn", xml)])
        [problem] = failure.value.problems
        assert problem.element_id == "opinion"
        assert "payload field 'remarks' has type 'text'" in problem.message
