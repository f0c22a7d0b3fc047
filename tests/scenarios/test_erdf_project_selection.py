"""ERDF project selection (``erdf_project_selection``): a call for projects of the ERDF
programme 2021-2027 in Brussels, from its publication to the signed grant agreements.

The ERDF Directorate publishes the call and receives applications until the closing date,
checks each one, the expert committee scores the admissible ones (a conflict-of-interest
declaration per expert, a minimum threshold), a handler ranks them within the budget
envelope, the Government decides (with a justification when it departs from the ranking),
the agreements are signed, a reserve project is selected when budget is left, and rejected
applicants may complain.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from handlers import erdf
from handlers.registry import HandlerContext
from scenarios.scenario_support import BI, walk

KEY = "erdf_project_selection"
DIRECTORATE, CABINET, FINANCE = "erdf-directorate", "minister-cabinet", "finance"

CALL = {
    "call_id": "ERDF-2027-01",
    "call_title": "Green and circular neighbourhoods",
    "specific_objective": "rso2_6",
    "budget_envelope": 600000.0,
    "cofinancing_rate": 40.0,
    "criteria_approved_on": "2026-12-10",
    "opening_date": "2027-01-11",
    "closing_date": "2027-03-12",
    "task_force": "Anne Peeters, Karim Benali",
}

GREEN_ROOFS = {"application_ref": "A01", "applicant": "Bruxelles Environnement Partners asbl",
               "project_title": "Green roofs for Cureghem", "requested_amount": 450000.0,
               "total_cost": 1125000.0, "contact_email": "roofs@example.be"}
CIRCULAR_HUB = {"application_ref": "A02", "applicant": "Circular Build Brussels SC",
                "project_title": "Circular construction hub in Tour & Taxis",
                "requested_amount": 400000.0, "contact_email": "hub@example.be"}
LATE_FILE = {"application_ref": "A03", "applicant": "Quick Start SRL",
             "project_title": "Pop-up repair cafes", "requested_amount": 300000.0,
             "contact_email": "repair@example.be"}

ADMISSIBLE = {"deadline_respected": True, "programme_fit": True, "applicant_capacity": True,
              "state_aid_compliant": True, "climate_proofed": True}


def scores(relevance, quality, capacity, sustainability, value):
    return {"score_relevance": relevance, "score_quality": quality, "score_capacity": capacity,
            "score_sustainability": sustainability, "score_value": value}


def complete(bi: BI, instance_id: str, element_id: str, data: dict | None = None,
             **kwargs) -> dict:
    """Complete a task, then let the job executor run the service tasks that follow (the
    dev clock's move runs due jobs)."""
    answer = bi.complete(instance_id, element_id, data, **kwargs)
    bi.advance("PT1S")
    return answer


def message(bi: BI, name: str, payload: dict, **kwargs):
    answer = bi.message(name, payload, **kwargs)
    bi.advance("PT1S")
    return answer


def data(bi: BI, instance_id: str) -> dict:
    return bi.detail(instance_id)["data"]


def ready(bi: BI, instance_id: str) -> list[str]:
    return [t["element_id"] for t in bi.ready(instance_id)]


def timers_fired(bi: BI, instance_id: str) -> list[str]:
    return [e["element_id"] for e in bi.events(instance_id)
            if e["action"] == "timer.fired"]


def open_call(bi: BI, call: dict | None = None) -> str:
    call = call or CALL
    instance = bi.start(KEY, call, as_group=DIRECTORATE, business_key=call["call_id"])
    bi.move_to(f"{call['opening_date']}T08:00:00+00:00")  # the opening date has come
    return instance["id"]


def receive(bi: BI, instance_id: str, application: dict) -> None:
    assert ready(bi, instance_id) == ["follow_open_call"]
    message(bi, "application-received", application, business_key=CALL["call_id"])
    form = bi.form(bi.task(instance_id, "acknowledge_application")["id"])
    assert "received_on" in form["properties"]
    complete(bi, instance_id, "acknowledge_application", {"received_on": bi.now()[:10]},
                as_group=DIRECTORATE)


def assess(bi: BI, instance_id: str, checks: dict, score: dict | None,
           conflicts: tuple[bool, ...] = (False, False)) -> None:
    complete(bi, instance_id, "check_admissibility", checks)
    if score is None:
        return
    for conflict in conflicts:  # one declaration per expert of the task force
        complete(bi, instance_id, "declare_conflicts", {"has_conflict": conflict})
    complete(bi, instance_id, "score_project", score)


def three_applications_scored(bi: BI) -> str:
    """A01 and A02 admissible and scored (82 and 71 points), A03 inadmissible (late)."""
    instance_id = open_call(bi)
    assert [w["message_name"] for w in bi.waiting(instance_id) if w["type"] == "message"] == [
        "application-received"]
    for application in (GREEN_ROOFS, CIRCULAR_HUB, LATE_FILE):
        receive(bi, instance_id, application)
    assert data(bi, instance_id)["applications_received"] == 3
    bi.move_to("2027-03-13T08:00:00+00:00")  # the closing date has passed
    assert "closing_date_reached" in timers_fired(bi, instance_id)
    message(bi, "application-received", LATE_FILE, business_key=CALL["call_id"], expect=404)

    assess(bi, instance_id, ADMISSIBLE, scores(26, 21, 12, 12, 11))  # A01: 82
    assess(bi, instance_id, ADMISSIBLE, scores(22, 18, 11, 10, 10), conflicts=(False, True))
    assess(bi, instance_id, {**ADMISSIBLE, "deadline_respected": False}, None)  # A03
    return instance_id


def test_government_departs_from_the_ranking_with_a_justification_and_a_complaint(bi):
    instance_id = three_applications_scored(bi)
    mails = bi.notifications(instance_id)
    inadmissible = [m for m in mails if m["recipient"] == "repair@example.be"]
    assert len(inadmissible) == 1 and "inadmissible" in inadmissible[0]["subject"]

    decision = bi.task(instance_id, "government_decision")
    assert decision["candidate_groups"] == [CABINET]
    shown = bi.call("GET", f"/tasks/{decision['id']}", "ada")["data"]
    assert shown["proposed_refs"] == "A01"  # 450 000 fits in 600 000; A02 no longer does
    assert shown["proposal_summary"].startswith("1. A01 Green roofs for Cureghem")
    assert "2. A02" in shown["proposal_summary"] and "reserve" in shown["proposal_summary"]
    complete(bi, instance_id, "government_decision", {
        "decision_date": "2027-04-22", "decision_reference": "GOV-2027-04-22/ERDF",
        "departs_from_ranking": True, "government_selected_refs": "A02"})
    # the justification is mandatory: a separate task that refuses a short text
    assert ready(bi, instance_id) == ["justify_departure"]
    complete(bi, instance_id, "justify_departure", {"justification": "Too short"}, expect=422)
    complete(bi, instance_id, "justify_departure", {
        "justification": "The circular hub is ready to start and completes the Tour & Taxis "
                         "renovation financed in 2024; the roofs can wait for the next call."})
    state = data(bi, instance_id)
    assert [p["ref"] for p in state["selected"]] == ["A02"]
    assert [p["ref"] for p in state["reserve"]] == ["A01"]
    assert [p["ref"] for p in state["rejected"]] == ["A03"]
    decision_mail = [m for m in bi.notifications(instance_id) if "decision" in m["subject"]]
    assert decision_mail and "hub@example.be" in decision_mail[0]["recipient"]

    # the rejected applicant complains while the agreement is being signed
    assert "sign_grant_agreement" in ready(bi, instance_id)
    message(bi, "complaint-filed", {"application_ref": "A03", "complainant": "Quick Start SRL",
                                   "grounds": "The application was sent on time by post.",
                                   "contact_email": "repair@example.be"},
               business_key=CALL["call_id"])
    complete(bi, instance_id, "examine_complaint", {
        "complaint_outcome": "dismissed",
        "reply": "The postmark shows 15 March 2027, after the closing date."})
    assert any("complaint" in m["subject"] and m["recipient"] == "repair@example.be"
               for m in bi.notifications(instance_id))

    complete(bi, instance_id, "sign_grant_agreement", {
        "agreement_outcome": "signed", "signed_on": "2027-05-03",
        "agreement_reference": "ERDF-2027-01-A02", "eu_amount": 400000.0})
    complete(bi, instance_id, "commit_budget", {"commitment_reference": "ENG-2027-0451"},
                as_group=FINANCE)
    # 200 000 left: the reserve project A01 (450 000) does not fit
    assert bi.state(instance_id) == "completed"
    assert data(bi, instance_id)["budget_left"] == 200000.0
    assert bi.ended_at(instance_id)[-1] == "selection_completed"


def test_a_reserve_project_is_selected_when_the_selected_one_declines(bi):
    instance_id = three_applications_scored(bi)
    complete(bi, instance_id, "government_decision", {
        "decision_date": "2027-04-22", "decision_reference": "GOV-2027-04-22/ERDF"})
    assert ready(bi, instance_id) == ["sign_grant_agreement"]  # follows the ranking: no
    # justification
    bi.move_to("2027-05-20T08:00:00+00:00")  # nobody complained within 30 days (22 May)
    # the opening date had passed when the call was published: that timer fired at once
    assert timers_fired(bi, instance_id) == ["call_opens", "closing_date_reached"]
    bi.move_to("2027-05-25T08:00:00+00:00")  # 20 working days after 22 April: 21 May
    assert timers_fired(bi, instance_id)[2:] == ["agreement_overdue", "complaint_period_over"]
    assert any(m["recipient"] == "group:finance" and "not signed" in m["subject"]
               for m in bi.notifications(instance_id))
    complete(bi, instance_id, "sign_grant_agreement", {"agreement_outcome": "declined",
                                                      "eu_amount": 0.0})
    reserve = bi.task(instance_id, "select_reserve_project")
    shown = bi.call("GET", f"/tasks/{reserve['id']}", "ada")["data"]
    assert (shown["next_reserve_ref"], shown["budget_left"]) == ("A02", 600000.0)
    complete(bi, instance_id, "select_reserve_project", {"reserve_decision": "selected",
                                                        "reserve_decision_date": "2027-06-03"})
    complete(bi, instance_id, "sign_grant_agreement", {
        "agreement_outcome": "signed", "signed_on": "2027-06-10", "eu_amount": 380000.0})
    complete(bi, instance_id, "commit_budget", {"commitment_reference": "ENG-2027-0502"})
    assert data(bi, instance_id)["signed_total"] == 380000.0
    assert bi.state(instance_id) == "completed"
    assert bi.ended_at(instance_id)[-1] == "selection_completed"


def test_a_call_without_applications_closes_on_its_closing_date(bi):
    instance_id = open_call(bi)
    assert any("published" in m["subject"] for m in bi.notifications(instance_id))
    bi.move_to("2027-03-12T20:00:00+00:00")  # 21:00 in Brussels: still open
    assert bi.state(instance_id) == "running"
    bi.move_to("2027-03-13T00:00:00+00:00")
    assert bi.state(instance_id) == "completed"
    assert bi.ended_at(instance_id) == ["call_closed_without_applications"]


def test_a_call_closed_early_with_a_project_below_the_threshold(bi):
    instance_id = open_call(bi, {**CALL, "minimum_score": 60})
    receive(bi, instance_id, CIRCULAR_HUB)
    complete(bi, instance_id, "follow_open_call", {"close_call_early": False})  # still open
    complete(bi, instance_id, "follow_open_call", {
        "close_call_early": True, "early_closure_reason": "Call withdrawn by the Government"})
    assert ready(bi, instance_id) == ["check_admissibility"]
    assess(bi, instance_id, ADMISSIBLE, scores(15, 12, 8, 9, 10))  # 54 < 60
    assert data(bi, instance_id)["proposed_refs"] == ""
    complete(bi, instance_id, "government_decision", {
        "decision_date": "2027-02-18", "decision_reference": "GOV-2027-02-18/ERDF"})
    assert data(bi, instance_id)["rejected_count"] == 1
    bi.move_to("2027-03-21T08:00:00+00:00")
    assert bi.state(instance_id) == "completed"


@pytest.mark.parametrize("seed", range(10))
def test_random_walks_end(bi, seed):
    rng = random.Random(seed)
    instance_id = open_call(bi)
    if seed % 2:  # half of the walks start with three applications received
        for application in (GREEN_ROOFS, CIRCULAR_HUB, LATE_FILE):
            receive(bi, instance_id, application)
    assert walk(bi, instance_id, rng) < 300
    assert bi.state(instance_id) == "completed"


def test_random_walk_from_the_start(bi):
    instance = bi.start(KEY, CALL, as_group=DIRECTORATE, business_key="ERDF-2027-02")
    assert walk(bi, instance["id"], random.Random(7)) < 300
    assert bi.state(instance["id"]) == "completed"


# -- the ranking handler alone ----------------------------------------------------------

def context(step: str, data: dict) -> HandlerContext:
    return HandlerContext(instance_id="i", business_key="ERDF-2027-01", element_id="e",
                          topic="erdf-selection", data=data, properties={"step": step},
                          idempotency_key="k", attempt=1, now=datetime(2027, 4, 1, tzinfo=UTC))


APPS = [
    {"ref": "A01", "applicant": "x", "title": "t1", "requested_amount": 300.0,
     "contact_email": "a@x.be", "admissible": True, "score": 70, "above_threshold": True},
    {"ref": "A02", "applicant": "y", "title": "t2", "requested_amount": 500.0,
     "contact_email": "b@x.be", "admissible": True, "score": 90, "above_threshold": True},
    {"ref": "A03", "applicant": "z", "title": "t3", "requested_amount": 100.0,
     "contact_email": "c@x.be", "admissible": True, "score": 40, "above_threshold": False},
    {"ref": "A04", "applicant": "w", "title": "t4", "requested_amount": 100.0,
     "contact_email": "d@x.be", "admissible": False, "score": 0, "above_threshold": False},
]


def test_handler_ranks_by_score_within_the_envelope():
    out = erdf.handle(context("rank", {"applications": APPS, "budget_envelope": 700})).output
    assert [(p["ref"], p["rank"], p["proposal"]) for p in out["ranking"]] == [
        ("A02", 1, "selected"), ("A01", 2, "reserve")]
    assert out["proposed_refs"] == "A02"
    assert "below the threshold" in out["proposal_summary"]
    assert "inadmissible" in out["proposal_summary"]


def test_handler_applies_a_departing_decision_and_offers_the_reserve():
    data = {"applications": APPS, "budget_envelope": 700}
    data.update(erdf.rank(data))
    decided = erdf.decide({**data, "departs_from_ranking": True,
                           "government_selected_refs": "A01; unknown"})
    assert [p["ref"] for p in decided["selected"]] == ["A01"]
    assert [p["ref"] for p in decided["reserve"]] == ["A02"]
    assert [p["ref"] for p in decided["rejected"]] == ["A03", "A04"]
    assert decided["applicant_emails"] == "a@x.be, b@x.be, c@x.be, d@x.be"
    signed = [{**decided["selected"][0], "signed": True, "eu_amount": 150.0}]
    left = erdf.budget({**data, **decided, "to_sign": signed})
    assert (left["budget_left"], left["reserve_available"]) == (550.0, True)
    assert left["next_reserve_ref"] == "A02" and left["reserve"] == []
    nothing = erdf.budget({**data, **decided, "to_sign": signed, "signed_total": 500.0})
    assert nothing["reserve_available"] is False
    with pytest.raises(ValueError):
        erdf.handle(context("nonsense", {}))
