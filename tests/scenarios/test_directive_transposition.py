"""Scenario tests of the transposition of an EU directive (``directive_transposition``):
a transposition notified in time, a federal-only directive, a missed deadline that escalates
(6, 3 and 1 month before it) and enters the infringement procedure one month after it, and
the drafting loops (competence problem, rejected ordinance, partial transposition)."""

from __future__ import annotations

import random

import pytest

from scenarios.scenario_support import BI, walk

KEY = "directive_transposition"
BUSINESS_KEY = "TRANSPOSITION-32024L3019"


def directive(**changes) -> dict:
    return {"celex_number": "32024L3019",
            "directive_title": "Directive (EU) 2024/3019 concerning urban wastewater treatment "
                               "(recast)",
            "oj_published_on": "2024-12-12", "transposition_deadline": "2028-07-31",
            "lead_administration": "Brussels Environment",
            "competent_minister": "Minister for Climate Transition and Environment", **changes}


def start(bi: BI, competence: str = "regional", **changes) -> str:
    instance_id = bi.start(KEY, directive(**changes), as_group="europe-directorate",
                           business_key=BUSINESS_KEY)["id"]
    bi.complete(instance_id, "assess_competence",
                {"competence": competence, "brussels_entity": "region",
                 "competence_notes": "Water policy: regional competence"},
                as_group="europe-directorate")
    if competence != "federal_only":
        bi.complete(instance_id, "report_estimated_date",
                    {"estimated_transposition_on": "2027-12-15",
                     "reported_to_dge_on": "2027-01-08"}, as_group="europe-directorate")
    return instance_id


def ready(bi: BI, instance_id: str) -> list[str]:
    return sorted(t["element_id"] for t in bi.ready(instance_id))


def fired(bi: BI, instance_id: str) -> list[str]:
    return [e["element_id"] for e in bi.events(instance_id) if e["action"] == "timer.fired"]


def subjects(bi: BI, instance_id: str) -> list[str]:
    return [n["subject"] for n in bi.notifications(instance_id)]


def draft_to_council_of_state(bi: BI, instance_id: str, *, instrument: str = "government_decree",
                              urgency: bool = False, requested_on: str = "2027-02-15",
                              finance_opinion: str = "favourable") -> None:
    bi.complete(instance_id, "draft_measure",
                {"instrument": instrument, "draft_reference": "AGRBC/ENV/2027/14",
                 "correlation_table_ready": True}, as_group="europe-directorate")
    bi.complete(instance_id, "inspection_of_finance",
                {"finance_opinion": finance_opinion, "budget_impact_eur": 350000.0,
                 "finance_remarks": "Staff costs at Brussels Environment"}, as_group="finance")
    bi.complete(instance_id, "government_first_reading", {"first_reading_on": "2027-02-11"},
                as_group="minister-cabinet")
    bi.complete(instance_id, "request_council_of_state",
                {"requested_on": requested_on, "urgency": urgency},
                as_group="europe-directorate")


def adopt_and_publish(bi: BI, instance_id: str, *, status: str = "complete") -> None:
    bi.complete(instance_id, "government_final_adoption", {"adopted_on": "2027-04-22"},
                as_group="minister-cabinet")
    if "publish_measure" not in ready(bi, instance_id):
        bi.message("parliament-vote", {"adopted": True, "vote_on": "2027-06-04"},
                   business_key=BUSINESS_KEY)
    bi.complete(instance_id, "publish_measure",
                {"gazette_published_on": "2027-05-12", "gazette_numac": "2027041876"},
                as_group="europe-directorate")
    bi.complete(instance_id, "notify_commission",
                {"notified_on": "2027-05-20", "transposition_status": status,
                 "correlation_table_sent": True}, as_group="europe-directorate")


def test_transposed_in_time_and_notified(bi: BI) -> None:
    instance_id = start(bi, status_reminder_count=2)
    assert ready(bi, instance_id) == ["draft_measure"]
    due = {w["element_id"]: w["due_at"][:10] for w in bi.waiting(instance_id)}
    assert due == {"status_reminder_due": "2027-02-04",
                   "six_months_before_deadline": "2028-01-31",
                   "three_months_before_deadline": "2028-04-30",
                   "one_month_before_deadline": "2028-06-30",
                   "one_month_after_deadline": "2028-08-31"}
    bi.move_to("2027-02-05T08:00:00Z")  # the monthly status reminder, twice here
    assert subjects(bi, instance_id) == ["Transposition of 32024L3019: status for DGE"]
    bi.move_to("2027-04-05T08:00:00Z")
    assert subjects(bi, instance_id) == ["Transposition of 32024L3019: status for DGE"] * 2
    assert "status_reminder_due" not in [w["element_id"] for w in bi.waiting(instance_id)]
    draft_to_council_of_state(bi, instance_id, requested_on="2027-04-05")
    bi.message("council-of-state-opinion", {"competence_problem": False,
                                            "opinion_number": "72.114/1"},
               business_key=BUSINESS_KEY)
    adopt_and_publish(bi, instance_id)
    assert bi.state(instance_id) == "completed"
    assert sorted(bi.ended_at(instance_id)) == ["directive_transposed", "status_reminded",
                                                "status_reminded"]
    assert bi.waiting(instance_id) == []


def test_federal_only_directive_is_closed_at_once(bi: BI) -> None:
    instance_id = start(bi, competence="federal_only", celex_number="32023L2225",
                        directive_title="Directive (EU) 2023/2225 on credit agreements for "
                                        "consumers", lead_administration="FPS Economy")
    assert bi.state(instance_id) == "completed"
    assert bi.ended_at(instance_id) == ["closed_federal_competence"]
    assert bi.notifications(instance_id) == []


def test_missed_deadline_escalates_and_enters_the_infringement_track(bi: BI) -> None:
    instance_id = start(bi, competence="mixed", transposition_deadline="2027-07-30")
    bi.move_to("2027-02-01T08:00:00Z")  # deadline - 6 months: 30 January
    assert "Transposition of 32024L3019: deadline in 6 months" in subjects(bi, instance_id)
    draft_to_council_of_state(bi, instance_id, instrument="ordinance", urgency=True,
                              requested_on="2027-03-01", finance_opinion="unfavourable")
    # reasoned urgency: 5 working days, then the Government goes on without the opinion
    assert ready(bi, instance_id) == ["record_council_of_state_opinion"]
    bi.move_to("2027-03-09T08:00:00Z")
    assert "council_of_state_lapsed" in fired(bi, instance_id)
    bi.complete(instance_id, "government_final_adoption", {"adopted_on": "2027-03-18"},
                as_group="minister-cabinet")
    bi.move_to("2027-05-03T08:00:00Z")  # deadline - 3 months: the director-general
    assert ready(bi, instance_id) == ["follow_up_late_transposition"]
    assert "Transposition of 32024L3019 at risk: deadline in 3 months" in subjects(bi, instance_id)
    bi.complete(instance_id, "follow_up_late_transposition",
                {"dg_instruction": "Table the ordinance before the summer recess",
                 "revised_estimate_on": "2027-07-15"}, as_group="director-general")
    bi.message("parliament-vote", {"adopted": False}, business_key=BUSINESS_KEY)
    assert ready(bi, instance_id) == ["draft_measure"]  # rejected: another drafting round
    bi.move_to("2027-07-01T08:00:00Z")  # deadline - 1 month: the cabinet
    assert ready(bi, instance_id) == ["arbitrate_late_transposition", "draft_measure"]
    bi.complete(instance_id, "arbitrate_late_transposition",
                {"cabinet_instruction": "Government decree for the technical annexes"},
                as_group="minister-cabinet")
    bi.move_to("2027-08-31T08:00:00Z")  # deadline + 1 month without notification
    assert {"six_months_before_deadline", "three_months_before_deadline",
            "one_month_before_deadline", "one_month_after_deadline"} <= set(fired(bi, instance_id))
    assert ready(bi, instance_id) == ["await_formal_notice", "draft_measure"]
    assert bi.detail(instance_id)["data"]["stage"] == "awaiting_letter"

    # the Commission's letter of formal notice reaches the called infringement procedure
    bi.move_to("2027-10-07T08:00:00Z")
    bi.message("letter-of-formal-notice", {"infringement_number": "INFR(2027)0312",
                                           "received_on": "2027-10-07",
                                           "grounds": "non_communication"},
               business_key=BUSINESS_KEY)
    [reply] = [t for t in bi.ready(instance_id) if t["element_id"] == "draft_formal_notice_reply"]
    assert reply["due_at"].startswith("2027-11-23")  # 7 December minus 10 working days

    # meanwhile the transposition goes on and Belgium notifies once the other entities are done
    draft_to_council_of_state(bi, instance_id, instrument="ordinance", requested_on="2027-10-08")
    bi.message("council-of-state-opinion", {"competence_problem": False},
               business_key=BUSINESS_KEY)
    adopt_and_publish(bi, instance_id)
    assert "directive_transposed" not in bi.ended_at(instance_id)
    bi.message("dge-notification-complete", {"belgian_notification_on": "2027-11-10",
                                             "late_entities": "Flemish Region"},
               business_key=BUSINESS_KEY)
    assert "directive_transposed" in bi.ended_at(instance_id)

    bi.complete(instance_id, "draft_formal_notice_reply",
                {"reply_summary": "The measures were notified on 10 November 2027"},
                as_group="europe-directorate")
    bi.complete(instance_id, "validate_formal_notice_reply", {"cabinet_decision": "validated"},
                as_group="minister-cabinet")
    bi.complete(instance_id, "send_formal_notice_reply", {"reply_sent_on": "2027-11-18"},
                as_group="europe-directorate")
    bi.message("infringement-closed", {"closed_on": "2028-02-10"}, business_key=BUSINESS_KEY)
    assert bi.state(instance_id) == "completed"
    assert {"directive_transposed", "infringement_track_ended", "europe_directorate_reminded",
            "director_general_followed_up", "cabinet_arbitrated"} <= set(bi.ended_at(instance_id))


def test_competence_problem_and_partial_transposition_loop_back(bi: BI) -> None:
    instance_id = start(bi)
    draft_to_council_of_state(bi, instance_id)
    bi.message("council-of-state-opinion", {"competence_problem": True,
                                            "remarks": "Article 4 is a federal matter"},
               business_key=BUSINESS_KEY)
    assert ready(bi, instance_id) == ["draft_measure"]
    draft_to_council_of_state(bi, instance_id, requested_on="2027-03-15")
    # the opinion is recorded by hand
    bi.complete(instance_id, "record_council_of_state_opinion",
                {"competence_problem": False, "opinion_number": "72.301/1"},
                as_group="europe-directorate")
    adopt_and_publish(bi, instance_id, status="partial")
    assert ready(bi, instance_id) == ["draft_measure"]  # a new drafting round
    draft_to_council_of_state(bi, instance_id, requested_on="2027-06-01")
    bi.message("council-of-state-opinion", {"competence_problem": False},
               business_key=BUSINESS_KEY)
    adopt_and_publish(bi, instance_id)
    assert bi.ended_at(instance_id) == ["directive_transposed"]


@pytest.mark.parametrize("how", ["message", "by_hand"])
def test_commission_closes_before_the_letter(bi: BI, how: str) -> None:
    instance_id = start(bi, transposition_deadline="2026-12-15")
    bi.move_to("2027-01-16T08:00:00Z")  # 15 January: deadline + 1 month
    assert "await_formal_notice" in ready(bi, instance_id)
    if how == "message":
        bi.message("infringement-closed", {"closed_on": "2027-02-01"},
                   business_key=BUSINESS_KEY)
    else:
        bi.complete(instance_id, "await_formal_notice",
                    {"commission_step": "case_closed", "infringement_number": "INFR(2027)0044",
                     "received_on": "2027-02-01"}, as_group="europe-directorate")
    assert "infringement_track_ended" in bi.ended_at(instance_id)
    assert bi.state(instance_id) == "running"  # the transposition itself goes on


@pytest.mark.parametrize("seed", range(10))
def test_random_walks_end(bi: BI, seed: int) -> None:
    instance_id = bi.start(KEY, directive(transposition_deadline="2027-09-30"),
                           as_group="europe-directorate", business_key=f"WALK-{seed}")["id"]
    steps = walk(bi, instance_id, random.Random(seed))
    assert bi.state(instance_id) == "completed"
    assert steps < 300
