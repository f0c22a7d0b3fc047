"""Reception of a foreign delegation (``processes/delegation_reception.bpmn``).

The engine clock starts on Monday 4 January 2027, 08:00 UTC (09:00 in Brussels). Protocol
registers the request, the minister-president's cabinet decides, Protocol prepares the
programme; security notifications go to the federal services for heads of state or
government (or a flagged threat) when the notice leaves 3 working days; the visit ends with
its last day, then the follow-up report and, above the threshold, the gifts inventory.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from handlers import gifts
from handlers.registry import HandlerContext
from scenarios.scenario_support import BI, random_data, walk

KEY = "delegation_reception"
PROTOCOL, CABINET, FINANCE = "protocol", "minister-cabinet", "finance"
FPS_PROTOCOL = "protocol@diplobel.fed.be"
CRISIS_CENTRE = "permanence@crisiscentrum.be"
POLICE_ZONE = "info.polbru@police.belgium.eu"

STATE_VISIT = {
    "requesting_body": "Embassy of the Kingdom of Spain",
    "contact_email": "emb.bruselas@maec.es",
    "head_of_delegation": "King Felipe VI",
    "head_rank": "head_of_state",
    "visit_type": "state",
    "visit_start": "2027-02-15",
    "visit_end": "2027-02-16",
    "delegation_size": 24,
    "composition": "The King, the Minister of Foreign Affairs, 4 advisers, press officers",
    "purpose": "State visit to Belgium: Brussels leg on urban innovation",
    "meetings_requested": "Minister-President; visit of the Brussels Urban Lab",
    "languages": "Spanish, French",
    "threat_flagged": False,
    "press": True,
}

SHORT_NOTICE_VISIT = {
    "requesting_body": "Embassy of the Portuguese Republic",
    "contact_email": "protocolo@embaixada-portugal.be",
    "head_of_delegation": "Prime Minister Luís Montenegro",
    "head_rank": "head_of_government",
    "visit_type": "working",
    "visit_start": "2027-01-06",  # Wednesday: 2 working days after Monday 4 January
    "visit_end": "2027-01-06",
    "delegation_size": 8,
    "purpose": "Working lunch on the Brussels-Lisbon innovation partnership",
    "languages": "Portuguese, English",
}

MINISTER_VISIT = {
    "requesting_body": "Embassy of the Republic of Korea",
    "contact_email": "protocol.be@mofa.go.kr",
    "head_of_delegation": "Minister of Science and ICT",
    "head_rank": "minister",
    "visit_type": "official",
    "visit_start": "2027-02-03",
    "visit_end": "2027-02-04",
    "delegation_size": 6,
    "purpose": "Cooperation in artificial intelligence research",
}

CHECKED = {"request_complete": True, "recommended_level": "political",
           "protocol_assessment": "Complete request; the Minister-President is available."}
PROGRAMME = {
    "venues": "Hotel de Ville de Bruxelles (Gothic Hall); Brussels Urban Lab, Anderlecht",
    "interpreters": "Spanish-French, 2 interpreters booked with SCIC",
    "catering": "Lunch for 40 at the Town Hall",
    "transport": "Motorcade from the Royal Palace, police escort",
    "gifts_offered": "Book on Art Nouveau in Brussels",
    "budget_eur": 18500.0,
    "police_zone_email": POLICE_ZONE,
}
REPORT = {
    "outcomes": "Memorandum of understanding on urban innovation signed.",
    "commitments": "Joint call for projects in 2028.",
    "costs_eur": 17240.5,
    "gifts_received": 2,
    "gifts_description": "Lladró porcelain vase; book",
    "highest_gift_value_eur": 450.0,
}


# -- helpers -----------------------------------------------------------------------------

def start(bi: BI, data: dict, key: str = "DEL-2027-001", **extra) -> str:
    return bi.start(KEY, {**data, **extra}, as_group=PROTOCOL, business_key=key)["id"]


def ready(bi: BI, instance_id: str) -> list[str]:
    return sorted(t["element_id"] for t in bi.ready(instance_id))


def fired(bi: BI, instance_id: str) -> list[str]:
    return [e["element_id"] for e in bi.events(instance_id)
            if e["action"] == "timer.fired"]


def took(bi: BI, instance_id: str) -> set[str]:
    """The elements the instance went through (its trail's ``path.taken`` events)."""
    return {element for e in bi.events(instance_id) if e["action"] == "path.taken"
            for element in e["data"]["elements"]}


def mails(bi: BI, instance_id: str) -> list[dict]:
    return [m for m in bi.notifications(instance_id) if m["channel"] == "email"]


def recipients(bi: BI, instance_id: str) -> set[str]:
    return {part.strip() for m in mails(bi, instance_id) for part in m["recipient"].split(",")}


def approve(bi: BI, instance_id: str, decision: str = "accept") -> None:
    bi.complete(instance_id, "check_request", CHECKED, as_group=PROTOCOL)
    bi.complete(instance_id, "approve_visit", {"decision": decision,
                                               "received_by": "Minister-President"},
                as_group=CABINET)


def cancel(bi: BI, key: str, reason: str = "The visit is postponed sine die") -> None:
    bi.message("visit-cancelled", {"cancellation_reason": reason, "cancelled_by": "Embassy"},
               business_key=key)
    bi.run_jobs()


# -- scenarios ---------------------------------------------------------------------------

def test_state_visit_with_security_notifications_report_and_gifts(bi):
    instance = start(bi, STATE_VISIT)
    data = bi.detail(instance)["data"]
    assert (data["federal_protection"], data["short_notice"]) == (True, False)
    assert (data["report_days"], data["gift_threshold_eur"]) == (10, 150.0)
    assert ready(bi, instance) == ["check_request"]
    approve(bi, instance)
    task = bi.task(instance, "prepare_programme")
    assert task["candidate_groups"] == [PROTOCOL]
    # due by the end of Wednesday 10 February, 3 working days before Monday 15 February
    assert task["due_at"].startswith("2027-02-10T22:59:59")
    [escalation] = [w for w in bi.waiting(instance) if w["element_id"] == "file_not_ready"]
    assert escalation["due_at"].startswith("2027-02-10T08:00:00")  # 09:00 in Brussels

    bi.complete(instance, "prepare_programme", PROGRAMME)
    bi.run_jobs()
    sent = {m["recipient"]: m for m in mails(bi, instance)}
    assert {FPS_PROTOCOL, CRISIS_CENTRE, POLICE_ZONE} <= set(sent)
    assert "King Felipe VI" in sent[FPS_PROTOCOL]["subject"]
    assert "2027-02-15" in sent[CRISIS_CENTRE]["body"]
    assert all(m["created_at"] < "2027-02-10" for m in mails(bi, instance))
    assert ready(bi, instance) == ["host_visit"]

    bi.move_to("2027-02-16T22:00:00+00:00")  # still the last day of the visit in Brussels
    assert ready(bi, instance) == ["host_visit"]
    bi.move_to("2027-02-17T08:00:00+00:00")
    assert fired(bi, instance) == ["visit_over"]
    report = bi.task(instance, "write_report")
    assert report["due_at"].startswith("2027-03-02T22:59:59")  # 10 working days later
    bi.complete(instance, "write_report", REPORT)
    bi.run_jobs()
    entry = bi.task(instance, "inventory_gifts")
    assert entry["candidate_groups"] == [FINANCE]
    data = bi.detail(instance)["data"]
    assert (data["gift_register_number"], data["gift_registered_on"]) == ("BI-GIFT-2027-0001",
                                                                          "2027-02-17")
    [register] = [m for m in bi.notifications(instance) if m["channel"] == "gift-register"]
    assert "Lladró" in register["body"]
    bi.complete(instance, "inventory_gifts", {"storage_location": "Protocol safe, Mont des Arts 10",
                                              "inventory_value_eur": 450.0})
    assert bi.state(instance) == "completed"
    assert bi.ended_at(instance) == ["gifts_in_inventory"]
    assert "file_not_ready" not in fired(bi, instance)


def test_file_not_ready_escalates_then_the_visit_is_cancelled_after_notifications(bi):
    instance = start(bi, STATE_VISIT, visit_start="2027-01-18", visit_end="2027-01-19",
                     threat_flagged=True)
    approve(bi, instance)
    # 3 working days before Monday 18 January is Wednesday 13 January; 09:00 in Brussels
    bi.move_to("2027-01-13T07:59:00+00:00")
    assert fired(bi, instance) == []
    bi.move_to("2027-01-13T08:00:01+00:00")
    assert fired(bi, instance) == ["file_not_ready"]
    [warning] = mails(bi, instance)
    assert {r.strip() for r in warning["recipient"].split(",")} == {"group:minister-cabinet",
                                                                   "group:protocol"}
    assert "not ready" in warning["subject"]
    assert ready(bi, instance) == ["prepare_programme"]  # the task stays

    bi.complete(instance, "prepare_programme", PROGRAMME)  # still on the deadline day
    bi.run_jobs()
    assert {FPS_PROTOCOL, CRISIS_CENTRE, POLICE_ZONE} <= recipients(bi, instance)
    cancel(bi, "DEL-2027-001", "State visit postponed by the Spanish Royal Household")
    assert bi.state(instance) == "completed"
    assert bi.ended_at(instance) == ["escalation_sent", "visit_cancelled_after_programme"]
    # one e-mail withdraws the security notifications and tells Protocol and the cabinet
    [withdrawal] = [m for m in mails(bi, instance) if m["subject"].startswith("Cancelled")]
    assert {r.strip() for r in withdrawal["recipient"].split(",")} == {
        FPS_PROTOCOL, CRISIS_CENTRE, POLICE_ZONE, "group:protocol", "group:minister-cabinet"}
    assert "postponed by the Spanish Royal Household" in withdrawal["body"]


def test_head_of_government_at_short_notice_proceeds_without_federal_protection(bi):
    instance = start(bi, SHORT_NOTICE_VISIT, report_days=5)
    data = bi.detail(instance)["data"]
    assert (data["notice_days"], data["short_notice"], data["federal_protection"]) == (2, True,
                                                                                       False)
    assert ready(bi, instance) == ["decide_short_notice"]
    bi.complete(instance, "decide_short_notice", {
        "short_notice_decision": "proceed",
        "short_notice_remarks": "The Prime Minister only stops over; lunch at the Residence."})
    approve(bi, instance)
    bi.complete(instance, "prepare_programme", {**PROGRAMME, "budget_eur": 2400.0})
    bi.run_jobs()
    # no federal protection: no security notifications; the programme was not ready 3
    # working days before the visit (the notice was shorter), so the cabinet was warned
    assert recipients(bi, instance) == {"group:minister-cabinet", "group:protocol"}
    assert "escalate_file_not_ready" in took(bi, instance)
    # a timer already past due when its task opens fires in the same command
    assert fired(bi, instance) == ["file_not_ready"]

    bi.move_to("2027-01-06T15:00:00+00:00")
    bi.complete(instance, "host_visit", {"visit_log": "Lunch moved to 13:00 at the Prime "
                                                      "Minister's request."})
    report = bi.task(instance, "write_report")
    assert report["due_at"].startswith("2027-01-13T22:59:59")  # 5 working days (a parameter)
    bi.move_to("2027-01-14T08:00:00+00:00")
    assert fired(bi, instance) == ["file_not_ready", "report_overdue"]
    reminder = next(m for m in mails(bi, instance) if m["subject"].startswith("Follow-up"))
    assert "5 working days" in reminder["body"]
    bi.complete(instance, "write_report", {**REPORT, "gifts_received": 0,
                                           "gifts_description": "",
                                           "highest_gift_value_eur": 0.0})
    assert bi.state(instance) == "completed"
    assert sorted(bi.ended_at(instance)) == ["escalation_sent", "reminder_sent", "visit_closed"]


def test_short_notice_rescheduled_then_declined_by_the_cabinet(bi):
    instance = start(bi, SHORT_NOTICE_VISIT)
    bi.complete(instance, "decide_short_notice", {"short_notice_decision": "reschedule"})
    assert ready(bi, instance) == ["agree_new_dates"]
    bi.complete(instance, "agree_new_dates", {
        "visit_start": "2027-02-10", "visit_end": "2027-02-10",
        "reschedule_note": "New date proposed by the embassy on 4 January"})
    data = bi.detail(instance)["data"]
    assert (data["visit_start"], data["notice_days"], data["federal_protection"]) == (
        "2027-02-10", 27, True)
    approve(bi, instance, "decline")
    bi.run_jobs()
    [declined] = mails(bi, instance)
    assert "protocolo@embaixada-portugal.be" in declined["recipient"]
    assert "regrets" in declined["body"]
    assert bi.ended_at(instance) == ["visit_declined"]


def test_cabinet_downgrades_to_administrative_level(bi):
    instance = start(bi, MINISTER_VISIT, gift_threshold_eur=500.0)
    assert bi.detail(instance)["data"]["security_required"] is False
    approve(bi, instance, "downgrade")
    bi.run_jobs()
    [downgraded] = mails(bi, instance)
    assert "administrative level" in downgraded["body"]
    assert "protocol.be@mofa.go.kr" in downgraded["recipient"]
    bi.complete(instance, "prepare_programme", {**PROGRAMME, "budget_eur": 900.0})
    bi.run_jobs()
    assert len(mails(bi, instance)) == 1  # no security notifications for a minister
    bi.move_to("2027-02-05T08:00:00+00:00")
    assert fired(bi, instance) == ["visit_over"]
    # a gift of 300 EUR stays below this visit's threshold of 500 EUR
    bi.complete(instance, "write_report", {**REPORT, "highest_gift_value_eur": 300.0})
    assert bi.ended_at(instance) == ["visit_closed"]
    assert "gift_register_number" not in bi.detail(instance)["data"]


def test_new_dates_still_at_short_notice_or_in_reverse_order(bi):
    instance = start(bi, SHORT_NOTICE_VISIT)
    bi.complete(instance, "decide_short_notice", {"short_notice_decision": "reschedule"})
    bi.complete(instance, "agree_new_dates", {"visit_start": "2027-01-05",
                                              "visit_end": "2027-01-05"})
    assert ready(bi, instance) == ["decide_short_notice"]  # still short notice: decide again
    bi.complete(instance, "decide_short_notice", {"short_notice_decision": "reschedule"})
    bi.complete(instance, "agree_new_dates", {"visit_start": "2027-03-01",
                                              "visit_end": "2027-02-26",
                                              "reschedule_note": "Dates given in reverse"})
    data = bi.detail(instance)["data"]
    assert (data["visit_last_day"], data["federal_protection"]) == ("2027-03-01", True)
    assert ready(bi, instance) == ["check_request"]


def test_visit_cancelled_by_message_at_any_stage(bi):
    stages = ("decide_short_notice", "agree_new_dates", "check_request", "approve_visit",
              "prepare_programme", "host_visit")
    for number, stage in enumerate(stages, 1):
        key = f"DEL-2027-{number:03d}"
        short = stage in ("decide_short_notice", "agree_new_dates")
        instance = start(bi, SHORT_NOTICE_VISIT if short else MINISTER_VISIT, key)
        if stage == "agree_new_dates":
            bi.complete(instance, "decide_short_notice", {"short_notice_decision": "reschedule"})
        if stage in ("approve_visit", "prepare_programme", "host_visit"):
            bi.complete(instance, "check_request", CHECKED)
        if stage in ("prepare_programme", "host_visit"):
            bi.complete(instance, "approve_visit", {"decision": "accept"})
        if stage == "host_visit":
            bi.complete(instance, "prepare_programme", PROGRAMME)
            bi.run_jobs()
        assert ready(bi, instance) == [stage]
        cancel(bi, key)
        assert bi.state(instance) == "completed", stage
        end = "visit_cancelled_after_programme" if stage == "host_visit" else "visit_cancelled"
        assert bi.ended_at(instance) == [end], stage
        # a minister's visit had no security notifications to withdraw
        [told] = mails(bi, instance)
        assert told["recipient"] == "group:protocol, group:minister-cabinet"
        assert "postponed sine die" in told["body"]
        assert bi.detail(instance)["data"]["cancelled_by"] == "Embassy"


def test_a_cancellation_needs_a_reason(bi):
    start(bi, MINISTER_VISIT)
    answer = bi.message("visit-cancelled", {"cancelled_by": "Embassy"},
                        business_key="DEL-2027-001", expect=422)
    assert "cancellation_reason" in str(answer)
    schema = {m["name"]: m["payload"] for m in bi.definition(KEY)["messages"]}
    assert set(schema) == {"visit-cancelled"}
    assert schema["visit-cancelled"]["required"] == ["cancellation_reason"]


def test_start_form_refuses_an_unknown_visit_type(bi):
    answer = bi.call("POST", "/process-instances", "u-protocol", 422, json={
        "process_key": KEY, "data": {**STATE_VISIT, "visit_type": "incognito"}})
    assert "visit_type" in str(answer)


# -- the generic driver ------------------------------------------------------------------

def test_random_walks_end(bi):
    """Ten random instances, from random valid start data (visits in the past, last days
    before first days, any rank), each driven to an end event."""
    start_form = bi.definition(KEY)["start_form"]
    for seed in range(10):
        rng = random.Random(seed)
        instance = start(bi, random_data(start_form, rng), key=f"WALK-{seed}")
        steps = walk(bi, instance, rng)
        assert steps < 300
        assert bi.state(instance) == "completed"


# -- the gift-register handler -----------------------------------------------------------

def test_gift_register_handler_numbers_and_records_the_entry():
    ctx = HandlerContext(
        instance_id="i-1", business_key="DEL-2027-001", element_id="register_gifts",
        topic="gift-register", data={**STATE_VISIT, **REPORT, "visit_last_day": "2027-02-16"},
        properties={}, idempotency_key="k-1", attempt=1,
        now=datetime(2027, 12, 31, 23, 30, tzinfo=UTC))  # already 1 January in Brussels
    result = gifts.handle(ctx)
    assert result.output == {"gift_registered_on": "2028-01-01"}
    [number] = result.numbers
    assert (number.variable, number.sequence, number.template.format(n=7)) == (
        "gift_register_number", "BI-GIFT-2028", "BI-GIFT-2028-0007")
    [entry] = result.messages
    assert (entry.channel, entry.recipient) == ("gift-register", "group:finance")
    assert entry.payload["entry"]["highest_gift_value_eur"] == 450.0
    with pytest.raises(ValueError, match="highest_gift_value_eur"):
        gifts.handle(HandlerContext(**{**ctx.__dict__, "data": {}}))


def test_the_demo_example_starts(bi):
    example = json.loads((Path(__file__).parents[2] / "processes" / "examples"
                          / f"{KEY}.json").read_text(encoding="utf-8"))
    instance = bi.start(KEY, example["data"], as_group=example["as_group"],
                        business_key=example["business_key"])
    assert [t["element_id"] for t in instance["ready_tasks"]] == ["check_request"]
