"""Scenario tests of the infringement procedure (``infringement_procedure``), started on its
own when a Commission letter arrives: letter of formal notice, reasoned opinion, referral to
the Court of Justice, the internal cut-off 10 working days before the Commission's deadline
(2 months after receipt by default) and the lapse when the deadline passes."""

from __future__ import annotations

import random

import pytest

from scenarios.scenario_support import BI, walk

KEY = "infringement_procedure"
BUSINESS_KEY = "INFR(2027)2041"


def letter(**changes) -> dict:
    """The start form: a letter of formal notice for the urban waste water directive."""
    return {"celex_number": "32024L3019",
            "directive_title": "Directive (EU) 2024/3019 concerning urban wastewater treatment",
            "infringement_number": "INFR(2027)2041", "stage": "formal_notice",
            "received_on": "2027-01-04", "grounds": "non_communication",
            "lead_administration": "Brussels Environment", **changes}


def start(bi: BI, **changes) -> str:
    return bi.start(KEY, letter(**changes), as_group="europe-directorate",
                    business_key=BUSINESS_KEY)["id"]


def ready(bi: BI, instance_id: str) -> list[str]:
    return sorted(t["element_id"] for t in bi.ready(instance_id))


def fired(bi: BI, instance_id: str) -> list[str]:
    return [e["element_id"] for e in bi.events(instance_id) if e["action"] == "timer.fired"]


def reply(bi: BI, instance_id: str, stage: str, *, sent_on: str) -> None:
    """Draft, validate (first sent back for revision) and send a reply through DGE."""
    bi.complete(instance_id, f"draft_{stage}_reply",
                {"reply_summary": "Draft ordinance adopted at first reading; notification "
                                  "planned for June", "measures_announced_on": "2027-06-30"},
                as_group="europe-directorate")
    bi.complete(instance_id, f"validate_{stage}_reply",
                {"cabinet_decision": "revise", "cabinet_remarks": "Give a firm date"},
                as_group="minister-cabinet")
    assert ready(bi, instance_id) == [f"draft_{stage}_reply"]
    bi.complete(instance_id, f"draft_{stage}_reply",
                {"reply_summary": "The ordinance will be adopted on 30 June 2027"},
                as_group="europe-directorate")
    bi.complete(instance_id, f"validate_{stage}_reply", {"cabinet_decision": "validated"},
                as_group="minister-cabinet")
    bi.complete(instance_id, f"send_{stage}_reply",
                {"reply_sent_on": sent_on, "dge_reference": "DGE/E2/2027/118"},
                as_group="europe-directorate")


def messages_waited(bi: BI, instance_id: str) -> list[str]:
    return sorted(w["message_name"] for w in bi.waiting(instance_id) if w["type"] == "message")


def test_formal_notice_reasoned_opinion_referral_and_sanction(bi: BI) -> None:
    instance_id = start(bi)
    [draft] = bi.ready(instance_id)
    # two months after receipt is 4 March 2027; ten working days earlier, 18 February
    assert draft["element_id"] == "draft_formal_notice_reply"
    assert draft["due_at"].startswith("2027-02-18T22:59:59")
    assert sorted(w["due_at"][:10] for w in bi.waiting(instance_id)) == ["2027-02-18",
                                                                          "2027-03-04"]
    reply(bi, instance_id, "formal_notice", sent_on="2027-02-15")
    # the Commission answers by message; the Europe directorate may also record it by hand
    assert ready(bi, instance_id) == ["await_reasoned_opinion"]
    assert messages_waited(bi, instance_id) == ["infringement-closed", "reasoned-opinion"]

    bi.move_to("2027-04-12T08:00:00Z")
    bi.message("reasoned-opinion", {"received_on": "2027-04-12"}, business_key=BUSINESS_KEY)
    [draft] = bi.ready(instance_id)
    assert draft["element_id"] == "draft_reasoned_opinion_reply"
    assert draft["due_at"].startswith("2027-05-31")  # 12 June (Saturday) - 10 working days
    reply(bi, instance_id, "reasoned_opinion", sent_on="2027-05-20")
    assert ready(bi, instance_id) == ["await_referral"]
    assert messages_waited(bi, instance_id) == ["court-referral", "infringement-closed"]

    bi.move_to("2027-09-29T08:00:00Z")
    bi.message("court-referral", {"received_on": "2027-09-29", "court_case_number": "C-612/27",
                                  "sanction_requested": "lump_sum_and_penalty"},
               business_key=BUSINESS_KEY)
    assert bi.detail(instance_id)["data"]["sanction_requested"] == "lump_sum_and_penalty"
    bi.complete(instance_id, "prepare_court_defence",
                {"defence_summary": "Ordinance of 30 June 2027 notified on 5 July 2027",
                 "defence_sent_on": "2027-11-15"}, as_group="europe-directorate")
    bi.message("court-judgment", {"judgment_on": "2028-10-12",
                                  "court_outcome": "infringement_found",
                                  "sanction_eur": 2_500_000.0}, business_key=BUSINESS_KEY)
    bi.complete(instance_id, "provision_financial_sanction",
                {"region_share_eur": 1_250_000.0, "budget_line": "BA 01.002.99.01.8300"},
                as_group="finance")
    assert bi.state(instance_id) == "completed"
    assert bi.ended_at(instance_id) == ["sanction_provisioned"]
    assert fired(bi, instance_id) == []


def test_cutoff_escalates_and_deadlines_lapse(bi: BI) -> None:
    instance_id = start(bi)
    # the internal cut-off passes without a reply: the director-general and cabinet are warned
    bi.move_to("2027-02-19T08:00:00Z")
    assert ready(bi, instance_id) == ["draft_formal_notice_reply", "push_formal_notice_reply"]
    [warning] = bi.notifications(instance_id)
    assert warning["recipient"] == "group:director-general, group:minister-cabinet"
    assert "internal cut-off" in warning["subject"]
    bi.complete(instance_id, "push_formal_notice_reply",
                {"dg_instruction": "Reply with the planning by Friday"},
                as_group="director-general")
    # the Commission's deadline passes: the reply is missed, the Commission moves on
    bi.move_to("2027-03-05T08:00:00Z")
    assert ready(bi, instance_id) == ["await_reasoned_opinion"]
    assert any("no reply to the letter of formal notice" in n["subject"]
               for n in bi.notifications(instance_id))
    assert messages_waited(bi, instance_id) == ["infringement-closed", "reasoned-opinion"]

    bi.message("reasoned-opinion", {"received_on": "2027-03-08"}, business_key=BUSINESS_KEY)
    [draft] = bi.ready(instance_id)
    # 8 May 2027 (a Saturday) minus 10 working days, Ascension Day (6 May) skipped
    assert draft["due_at"].startswith("2027-04-23")
    bi.move_to("2027-04-24T08:00:00Z")
    assert ready(bi, instance_id) == ["draft_reasoned_opinion_reply",
                                      "push_reasoned_opinion_reply"]
    bi.complete(instance_id, "push_reasoned_opinion_reply",
                {"dg_instruction": "Cabinet meeting on Monday"}, as_group="director-general")
    bi.complete(instance_id, "draft_reasoned_opinion_reply",
                {"reply_summary": "Measures adopted, publication pending"},
                as_group="europe-directorate")
    # the cabinet does not validate before the Commission's deadline
    bi.move_to("2027-05-09T08:00:00Z")
    assert ready(bi, instance_id) == ["await_referral"]
    assert any("no reply to the reasoned opinion" in n["subject"]
               for n in bi.notifications(instance_id))
    bi.message("infringement-closed", {"closed_on": "2027-07-15",
                                       "closure_reference": "C(2027) 4410"},
               business_key=BUSINESS_KEY)
    assert sorted(bi.ended_at(instance_id)) == ["case_closed", "formal_notice_reply_pushed",
                                                "reasoned_opinion_reply_pushed"]
    assert set(fired(bi, instance_id)) >= {"formal_notice_cutoff_passed",
                                           "formal_notice_deadline_passed",
                                           "reasoned_opinion_cutoff_passed",
                                           "reasoned_opinion_validation_deadline_passed"}


def test_validation_lapses_then_commission_closes(bi: BI) -> None:
    instance_id = start(bi, grounds="non_conformity", commission_reply_months=3,
                        internal_cutoff_working_days=15)
    [draft] = bi.ready(instance_id)
    assert draft["due_at"].startswith("2027-03-12")  # 4 April (Sunday) minus 15 working days
    bi.complete(instance_id, "draft_formal_notice_reply",
                {"reply_summary": "The Region contests the non-conformity"},
                as_group="europe-directorate")
    bi.move_to("2027-04-05T08:00:00Z")
    assert ready(bi, instance_id) == ["await_reasoned_opinion"]
    assert "formal_notice_validation_deadline_passed" in fired(bi, instance_id)
    bi.message("infringement-closed", {"closed_on": "2027-05-20"}, business_key=BUSINESS_KEY)
    assert bi.ended_at(instance_id) == ["case_closed"]


def test_reasoned_opinion_left_unanswered(bi: BI) -> None:
    instance_id = start(bi, stage="reasoned_opinion", received_on="2027-02-01")
    bi.move_to("2027-04-02T08:00:00Z")  # 1 April 2027 is the Commission's deadline
    assert {"reasoned_opinion_cutoff_passed", "reasoned_opinion_deadline_passed"} <= set(
        fired(bi, instance_id))
    assert ready(bi, instance_id) == ["await_referral", "push_reasoned_opinion_reply"]
    bi.complete(instance_id, "push_reasoned_opinion_reply",
                {"dg_instruction": "Explain the delay to the cabinet"}, as_group="director-general")
    # the closure is recorded by hand
    bi.complete(instance_id, "await_referral",
                {"commission_step": "case_closed", "received_on": "2027-06-10"},
                as_group="europe-directorate")
    assert sorted(bi.ended_at(instance_id)) == ["case_closed", "reasoned_opinion_reply_pushed"]


@pytest.mark.parametrize("outcome", ["dismissed", "withdrawn"])
def test_started_on_a_reasoned_opinion(bi: BI, outcome: str) -> None:
    instance_id = start(bi, stage="reasoned_opinion", received_on="2027-01-04")
    assert ready(bi, instance_id) == ["draft_reasoned_opinion_reply"]
    reply(bi, instance_id, "reasoned_opinion", sent_on="2027-02-10")
    # the referral is recorded by hand
    bi.complete(instance_id, "await_referral",
                {"commission_step": "court_referral", "received_on": "2027-06-02"},
                as_group="europe-directorate")
    bi.complete(instance_id, "prepare_court_defence",
                {"defence_summary": "The measures were notified on 28 May 2027",
                 "defence_sent_on": "2027-08-01"}, as_group="europe-directorate")
    assert messages_waited(bi, instance_id) == ["court-judgment", "infringement-closed"]
    if outcome == "dismissed":
        bi.message("court-judgment", {"judgment_on": "2028-05-11", "court_outcome": "dismissed"},
                   business_key=BUSINESS_KEY)
        assert bi.ended_at(instance_id) == ["action_dismissed"]
    else:
        bi.message("infringement-closed", {"closed_on": "2027-10-01"},
                   business_key=BUSINESS_KEY)
        assert bi.ended_at(instance_id) == ["case_closed"]
    assert bi.state(instance_id) == "completed"


def test_withdrawal_recorded_by_hand_and_payload_checked(bi: BI) -> None:
    instance_id = start(bi, stage="reasoned_opinion")
    reply(bi, instance_id, "reasoned_opinion", sent_on="2027-02-10")
    # a message nobody waits for, and a payload that does not fit, are refused
    bi.message("court-judgment", {"judgment_on": "2028-05-11", "court_outcome": "dismissed"},
               business_key=BUSINESS_KEY, expect=404)
    bi.message("court-referral", {"received_on": "2027-06-02", "sanction_requested": "fine"},
               business_key=BUSINESS_KEY, expect=422)
    bi.message("court-referral", {"received_on": "2027-06-02",
                                  "sanction_requested": "penalty_payment"},
               business_key=BUSINESS_KEY)
    bi.complete(instance_id, "prepare_court_defence",
                {"defence_summary": "Measures notified", "defence_sent_on": "2027-08-01"},
                as_group="europe-directorate")
    bi.complete(instance_id, "await_judgment",
                {"court_outcome": "withdrawn", "judgment_on": "2027-12-01"},
                as_group="europe-directorate")
    assert bi.ended_at(instance_id) == ["case_closed"]


def test_bad_infringement_number_refused(bi: BI) -> None:
    bi.call("POST", "/process-instances", "u-europe-directorate", 422,
            json={"process_key": KEY, "data": letter(infringement_number="2027/2041")})


@pytest.mark.parametrize("seed", range(10))
def test_random_walks_end(bi: BI, seed: int) -> None:
    instance_id = start(bi)
    steps = walk(bi, instance_id, random.Random(seed))
    assert bi.state(instance_id) == "completed"
    assert steps < 300
