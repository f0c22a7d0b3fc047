"""Arms and dual-use licences (``arms_dualuse_licence``): scenarios of the Licensing Unit,
the minister's cabinet and the director-general, with the applicant, FPS Foreign Affairs
and the other Member States answering through messages."""

from __future__ import annotations

import json
import random

from lxml import etree
from model_coverage import PROCESSES, models

from scenarios.scenario_support import ADMIN, BI, walk

KEY = "arms_dualuse_licence"
LU, CABINET, DG = "licensing-unit", "minister-cabinet", "director-general"

THERMAL_CAMERAS = {
    "applicant": "Thermovision Brussels SA",
    "company_number": "0456.789.123",
    "brussels_seat": "Rue de la Loi 42, 1040 Etterbeek",
    "applicant_email": "export@thermovision.be",
    "operation": "export",
    "regime": "dual_use",
    "licence_type": "individual",
    "control_list_entry": "6A003.b.4.b",
    "description": "Uncooled thermal imaging cameras, 640x480 microbolometer",
    "quantity": 120,
    "value_eur": 384000.0,
    "consignee": "Gulf Security Trading LLC, Dubai",
    "end_user": "Dubai Civil Defence",
    "destination_country": "United Arab Emirates",
    "end_user_certificate": True,
}

ASSESSMENT = {
    "criteria_assessment": "Civil end use; no concern under criteria 1 to 8; "
                           "end-user certificate checked.",
    "embargo_applies": False,
    "diversion_risk": "low",
    "prior_denials": 0,
    "mandatory_refusal": False,
    "proposal": "grant_with_conditions",
    "proposed_conditions": "No re-export without prior consent.",
}


def start(bi: BI, data: dict | None = None, key: str = "LIC-2027-0042", **extra) -> str:
    return bi.start(KEY, {**THERMAL_CAMERAS, **(data or {}), **extra}, as_group=LU,
                    business_key=key)["id"]


def ready(bi: BI, instance_id: str) -> list[str]:
    return sorted(t["element_id"] for t in bi.ready(instance_id))


def to_examination(bi: BI, instance_id: str, consultation: str = "none") -> None:
    bi.complete(instance_id, "check_completeness", {"file_complete": True}, as_group=LU)
    bi.complete(instance_id, "classify_items", {"classification": "listed_item",
                                                "consultation": consultation}, as_group=LU)


def to_minister(bi: BI, instance_id: str, assessment: dict | None = None) -> None:
    bi.complete(instance_id, "assess_application", {**ASSESSMENT, **(assessment or {})},
                as_group=LU)
    bi.complete(instance_id, "validate_proposal", {"proposal_validated": True}, as_group=LU)


def fired(bi: BI, instance_id: str) -> list[str]:
    return [e["element_id"] for e in bi.events(instance_id) if e["action"] == "timer.fired"]


def mails(bi: BI, instance_id: str) -> list[dict]:
    """E-mails of the instance, oldest first (the outbox lists newest first)."""
    return [n for n in reversed(bi.notifications(instance_id)) if n["channel"] == "email"]


# -- the main line -----------------------------------------------------------------------

def test_dual_use_export_of_thermal_cameras_is_granted_with_conditions(bi):
    instance_id = start(bi)
    assert ready(bi, instance_id) == ["check_completeness"]
    to_examination(bi, instance_id)
    assert ready(bi, instance_id) == ["assess_application"]
    to_minister(bi, instance_id)
    decide = bi.task(instance_id, "decide_licence")
    assert decide["candidate_groups"] == [CABINET]
    # due 30 working days after the complete file (Monday 4 January 2027)
    assert decide["due_at"].startswith("2027-02-1")
    bi.complete(instance_id, "decide_licence", {
        "decision": "grant_with_conditions",
        "licence_conditions": "No re-export without prior consent; end-use report after delivery."},
        as_group=CABINET)
    bi.run_jobs()
    data = bi.detail(instance_id)["data"]
    assert data["licence_number"] == "BI-LIC-2027-0001"
    assert data["licence_issued_on"] == "2027-01-04"
    [issued] = mails(bi, instance_id)
    assert issued["recipient"] == "export@thermovision.be"
    assert "BI-LIC-2027-0001" in issued["subject"]
    assert "No re-export" in issued["body"]
    # validity 24 months: reminder 60 days before 4 January 2029, then expiry
    waits = {(w["element_id"], w["message_name"] or w["due_at"][:10])
             for w in bi.waiting(instance_id)}
    assert waits == {("catch_all_received", "catch-all-information"),
                     ("expiry_reminder_due", "2028-11-05")}
    bi.move_to("2028-11-06T00:00:00+01:00")
    bi.run_jobs()
    assert "expiry_reminder_due" in fired(bi, instance_id)
    assert "expires soon" in mails(bi, instance_id)[-1]["subject"]
    bi.move_to("2029-01-05T00:00:00+01:00")
    assert bi.state(instance_id) == "completed"
    assert bi.ended_at(instance_id) == ["licence_expired"]


def test_the_demo_example_starts(bi):
    example = json.loads((PROCESSES / "examples" / f"{KEY}.json").read_text(encoding="utf-8"))
    instance_id = bi.start(KEY, example["data"], as_group=example["as_group"],
                           business_key=example["business_key"])["id"]
    assert ready(bi, instance_id) == ["check_completeness"]
    assert bi.detail(instance_id)["data"]["validity_months"] == 24


# -- completeness ------------------------------------------------------------------------

def test_missing_documents_sent_in_time_complete_the_file(bi):
    instance_id = start(bi)
    bi.complete(instance_id, "check_completeness", {
        "file_complete": False,
        "missing_documents": "End-user certificate signed by Dubai Civil Defence"}, as_group=LU)
    bi.run_jobs()
    [request] = mails(bi, instance_id)
    assert request["recipient"] == "export@thermovision.be"
    assert "End-user certificate" in request["body"] and "30 days" in request["body"]
    assert ready(bi, instance_id) == ["await_documents"]
    [lapse] = [w for w in bi.waiting(instance_id) if w["type"] == "timer"]
    assert lapse["due_at"].startswith("2027-02-03T22:59:59")  # 30 days, end of the day
    bi.advance("P20D")
    bi.message("documents-received", {"documents": "End-user certificate (signed)"},
               business_key="LIC-2027-0042")
    assert ready(bi, instance_id) == ["check_completeness"]
    assert bi.detail(instance_id)["data"]["documents"] == "End-user certificate (signed)"
    bi.complete(instance_id, "check_completeness", {"file_complete": True}, as_group=LU)
    assert ready(bi, instance_id) == ["classify_items"]
    assert bi.detail(instance_id)["data"]["file_complete_on"] == "2027-01-24"


def test_documents_recorded_by_hand_also_complete_the_file(bi):
    instance_id = start(bi)
    bi.complete(instance_id, "check_completeness", {"file_complete": False}, as_group=LU)
    bi.run_jobs()
    bi.complete(instance_id, "await_documents", {"documents": "Technical data sheet, by post"},
                as_group=LU)
    assert ready(bi, instance_id) == ["check_completeness"]


def test_an_application_lapses_when_the_documents_do_not_come(bi):
    instance_id = start(bi, documents_days=15)
    bi.complete(instance_id, "check_completeness", {
        "file_complete": False, "missing_documents": "Technical data sheet"}, as_group=LU)
    bi.run_jobs()
    bi.advance("P14D")
    assert ready(bi, instance_id) == ["await_documents"]
    bi.advance("P2D")
    assert "documents_deadline_passed" in fired(bi, instance_id)
    assert bi.state(instance_id) == "completed"
    assert bi.ended_at(instance_id) == ["application_lapsed"]
    assert "lapsed" in mails(bi, instance_id)[-1]["subject"]
    bi.message("documents-received", {"documents": "too late"}, business_key="LIC-2027-0042",
               expect=(404, 409))


# -- a Member State where the goods are located ------------------------------------------

IN_GERMANY = {"goods_in_other_member_state": True, "other_member_state": "Germany"}


def consult_germany(bi: BI, instance_id: str) -> None:
    to_examination(bi, instance_id)
    assert ready(bi, instance_id) == ["consult_member_state"]
    bi.complete(instance_id, "consult_member_state", {
        "member_state_consulted_on": "2027-01-04", "consultation_reference": "DUeS-2027-DE-117"},
        as_group=LU)
    assert ready(bi, instance_id) == ["await_member_state"]


def test_silence_of_the_member_state_is_consent(bi):
    instance_id = start(bi, IN_GERMANY)
    consult_germany(bi, instance_id)
    [timer] = [w for w in bi.waiting(instance_id) if w["type"] == "timer"
               and w["element_id"] == "member_state_silent"]
    assert timer["due_at"].startswith("2027-01-18T22:59:59")  # 10 working days
    bi.move_to("2027-01-19T08:00:00+01:00")
    assert "member_state_silent" in fired(bi, instance_id)
    assert ready(bi, instance_id) == ["assess_application"]


def test_an_extension_to_30_working_days_then_silence(bi):
    instance_id = start(bi, IN_GERMANY)
    consult_germany(bi, instance_id)
    bi.advance("P7D")
    bi.message("member-state-extension", {"extension_reason": "end user under review"},
               business_key="LIC-2027-0042")
    assert ready(bi, instance_id) == ["await_member_state_extended"]
    bi.move_to("2027-01-19T08:00:00+01:00")
    assert ready(bi, instance_id) == ["await_member_state_extended"]  # 10 days no longer count
    bi.move_to("2027-02-16T08:00:00+01:00")  # 30 working days after 4 January: 15 February
    assert "member_state_silent_extended" in fired(bi, instance_id)
    # the director-general was warned on 1 February meanwhile
    assert ready(bi, instance_id) == ["assess_application", "follow_up_late_file"]


def test_an_objection_after_an_extension_binds_the_region(bi):
    instance_id = start(bi, IN_GERMANY)
    consult_germany(bi, instance_id)
    bi.complete(instance_id, "await_member_state", {"member_state_answer": "extension"},
                as_group=LU)
    bi.advance("P15D")
    bi.message("member-state-objection", {"objection_grounds": "Risk of diversion to a "
                                          "military end user"}, business_key="LIC-2027-0042")
    assert ready(bi, instance_id) == ["state_refusal_grounds"]


def test_a_member_state_objection_leads_to_a_refusal_and_a_denial_notice(bi):
    instance_id = start(bi, IN_GERMANY)
    consult_germany(bi, instance_id)
    bi.message("member-state-objection", {"objection_grounds": "Goods subject to a national "
                                          "investigation"}, business_key="LIC-2027-0042")
    # binding: no assessment, no free decision; the cabinet signs the refusal
    assert ready(bi, instance_id) == ["state_refusal_grounds"]
    bi.complete(instance_id, "state_refusal_grounds", {
        "refusal_criterion": "member_state_objection",
        "refusal_grounds": "Binding objection of Germany, where the goods are located."},
        as_group=CABINET)
    bi.run_jobs()
    assert bi.ended_at(instance_id) == ["licence_refused"]
    [notice] = [n for n in bi.notifications(instance_id) if n["channel"] == "denial-notice"]
    assert "Germany" in notice["body"]


def test_objections_and_answers_recorded_by_hand(bi):
    objecting = start(bi, IN_GERMANY, key="LIC-2027-0043")
    consult_germany(bi, objecting)
    bi.complete(objecting, "await_member_state", {
        "member_state_answer": "objection", "objection_grounds": "by letter"}, as_group=LU)
    assert ready(bi, objecting) == ["state_refusal_grounds"]
    consenting = start(bi, IN_GERMANY, key="LIC-2027-0044")
    consult_germany(bi, consenting)
    bi.complete(consenting, "await_member_state", {"member_state_answer": "no_objection"},
                as_group=LU)
    assert ready(bi, consenting) == ["assess_application"]
    late = start(bi, IN_GERMANY, key="LIC-2027-0045")
    consult_germany(bi, late)
    bi.complete(late, "await_member_state", {"member_state_answer": "extension"}, as_group=LU)
    bi.complete(late, "await_member_state_extended", {"member_state_objects": False},
                as_group=LU)
    assert ready(bi, late) == ["assess_application"]
    late_objection = start(bi, IN_GERMANY, key="LIC-2027-0046")
    consult_germany(bi, late_objection)
    bi.complete(late_objection, "await_member_state", {"member_state_answer": "extension"},
                as_group=LU)
    bi.complete(late_objection, "await_member_state_extended", {
        "member_state_objects": True, "objection_grounds": "sensitive end user"}, as_group=LU)
    assert ready(bi, late_objection) == ["state_refusal_grounds"]


def test_goods_elsewhere_are_not_a_consultation_for_arms(bi):
    instance_id = start(bi, {**IN_GERMANY, "regime": "arms", "control_list_entry": "ML5"})
    to_examination(bi, instance_id)
    assert ready(bi, instance_id) == ["assess_application"]


# -- consultations of FPS Foreign Affairs and the embassies ------------------------------

def test_fps_foreign_affairs_answers_the_consultation(bi):
    instance_id = start(bi)
    to_examination(bi, instance_id, consultation="fps_foreign_affairs")
    assert ready(bi, instance_id) == ["await_consultation"]
    bi.message("consultation-reply", {"favourable": False, "consultation_remarks":
                                      "Concerns about the end user"},
               business_key="LIC-2027-0042")
    assert ready(bi, instance_id) == ["assess_application"]
    assert bi.detail(instance_id)["data"]["favourable"] is False


def test_an_end_use_check_without_reply_does_not_block_the_file(bi):
    instance_id = start(bi, consultation_days=5)
    to_examination(bi, instance_id, consultation="embassy_end_use_check")
    bi.move_to("2027-01-12T08:00:00+01:00")  # 5 working days after 4 January: 11 January
    assert "consultation_timeout" in fired(bi, instance_id)
    assert ready(bi, instance_id) == ["assess_application"]


def test_a_consultation_reply_recorded_by_hand(bi):
    instance_id = start(bi)
    to_examination(bi, instance_id, consultation="embassy_end_use_check")
    bi.complete(instance_id, "await_consultation", {"favourable": True}, as_group=LU)
    assert ready(bi, instance_id) == ["assess_application"]


# -- assessment, four eyes and decision ---------------------------------------------------

def test_the_validator_sends_a_proposal_back_to_the_assessment(bi):
    instance_id = start(bi)
    to_examination(bi, instance_id)
    bi.complete(instance_id, "assess_application", ASSESSMENT, as_group=LU)
    validate = bi.task(instance_id, "validate_proposal")
    assert validate["candidate_groups"] == [LU]
    bi.complete(instance_id, "validate_proposal", {
        "proposal_validated": False, "validation_remarks": "Check the prior denials"},
        as_group=LU)
    assert ready(bi, instance_id) == ["assess_application"]


def test_the_four_eyes_property_names_the_assessment():
    root = etree.parse(str(models()[KEY])).getroot()
    [prop] = root.xpath("//*[@id='validate_proposal']//*[local-name()='property']")
    assert (prop.get("name"), prop.get("value")) == ("fourEyesWith", "assess_application")


def test_a_mandatory_refusal_skips_the_free_decision(bi):
    instance_id = start(bi, destination_country="Country under an EU arms embargo")
    to_examination(bi, instance_id)
    to_minister(bi, instance_id, {"embargo_applies": True, "mandatory_refusal": True,
                                  "proposal": "refuse"})
    assert ready(bi, instance_id) == ["state_refusal_grounds"]


def test_the_minister_refuses_and_the_member_states_are_told(bi):
    instance_id = start(bi)
    to_examination(bi, instance_id)
    to_minister(bi, instance_id, {"diversion_risk": "high", "proposal": "refuse"})
    bi.complete(instance_id, "decide_licence", {"decision": "refuse"}, as_group=CABINET)
    refusal = bi.task(instance_id, "state_refusal_grounds")
    assert refusal["candidate_groups"] == [CABINET]
    bi.complete(instance_id, "state_refusal_grounds", {"refusal_criterion": "criterion_7"},
                as_group=CABINET, expect=422)  # the grounds are required
    bi.complete(instance_id, "state_refusal_grounds", {
        "refusal_criterion": "criterion_7",
        "refusal_grounds": "Criterion 7: risk of diversion to a military end user."},
        as_group=CABINET)
    bi.run_jobs()
    assert bi.ended_at(instance_id) == ["licence_refused"]
    [notice] = [n for n in bi.notifications(instance_id) if n["channel"] == "denial-notice"]
    assert notice["recipient"] == "eu-member-states,european-commission"
    assert "United Arab Emirates" in notice["subject"]
    assert "Criterion 7" in notice["body"]
    assert bi.detail(instance_id)["data"]["denial_notified_on"] == "2027-01-04"
    [refusal_mail] = mails(bi, instance_id)
    assert "refused" in refusal_mail["subject"] and "Criterion 7" in refusal_mail["body"]


# -- deadlines -----------------------------------------------------------------------------

def test_escalation_to_the_director_general_and_the_missed_target(bi):
    instance_id = start(bi)
    to_examination(bi, instance_id)
    # 20 working days after Monday 4 January 2027: Monday 1 February
    bi.move_to("2027-02-01T12:00:00+01:00")
    assert ready(bi, instance_id) == ["assess_application"]
    bi.move_to("2027-02-02T08:00:00+01:00")
    assert "escalation_due" in fired(bi, instance_id)
    [warning] = mails(bi, instance_id)
    assert warning["recipient"] == "group:director-general"
    assert ready(bi, instance_id) == ["assess_application", "follow_up_late_file"]
    bi.complete(instance_id, "follow_up_late_file", {
        "dg_instruction": "Finish the assessment this week."}, as_group=DG)
    to_minister(bi, instance_id)
    assert bi.task(instance_id, "decide_licence")["due_at"].startswith("2027-02-15")
    bi.move_to("2027-02-16T08:00:00+01:00")  # 30 working days: Monday 15 February
    assert "target_exceeded" in fired(bi, instance_id)
    assert "missed" in mails(bi, instance_id)[-1]["subject"]
    assert ready(bi, instance_id) == ["decide_licence"]  # the target is no lapse
    bi.complete(instance_id, "decide_licence", {"decision": "grant"}, as_group=CABINET)
    bi.run_jobs()
    assert bi.detail(instance_id)["data"]["licence_number"] == "BI-LIC-2027-0001"
    assert set(bi.ended_at(instance_id)) == {"escalation_handled", "target_exceeded_reported"}


def test_the_escalation_figures_are_parameters(bi):
    instance_id = start(bi, escalation_days=5)
    to_examination(bi, instance_id)
    bi.move_to("2027-01-12T08:00:00+01:00")
    assert "follow_up_late_file" in ready(bi, instance_id)


# -- withdrawal ------------------------------------------------------------------------------

def test_the_applicant_withdraws_under_assessment(bi):
    instance_id = start(bi)
    to_examination(bi, instance_id, consultation="fps_foreign_affairs")
    bi.message("application-withdrawn", {"withdrawal_reason": "Contract cancelled by the "
                                         "customer"}, business_key="LIC-2027-0042")
    assert ready(bi, instance_id) == []
    bi.run_jobs()
    assert bi.state(instance_id) == "completed"
    assert bi.ended_at(instance_id) == ["application_withdrawn"]
    assert "withdrawn" in mails(bi, instance_id)[-1]["subject"]


# -- after the grant -------------------------------------------------------------------------

def granted(bi: BI, **extra) -> str:
    instance_id = start(bi, **extra)
    to_examination(bi, instance_id)
    to_minister(bi, instance_id)
    bi.complete(instance_id, "decide_licence", {"decision": "grant"}, as_group=CABINET)
    bi.run_jobs()
    return instance_id


def test_catch_all_information_after_the_grant_suspends_the_licence(bi):
    instance_id = granted(bi)
    bi.advance("P90D")
    bi.message("catch-all-information", {"information_source": "FPS Foreign Affairs",
                                         "catch_all_details": "End user linked to a WMD "
                                         "programme"}, business_key="LIC-2027-0042")
    bi.complete(instance_id, "review_catch_all", {
        "suspend_licence": True, "suspension_reasons": "Catch-all: WMD end use"}, as_group=LU)
    bi.run_jobs()
    assert bi.ended_at(instance_id) == ["licence_suspended"]
    assert "suspended" in mails(bi, instance_id)[-1]["subject"]


def test_a_licence_kept_in_force_after_a_review_still_expires_once_reminded(bi):
    instance_id = granted(bi, validity_months=12, expiry_reminder_days=30)
    bi.move_to("2027-12-06T08:00:00+01:00")  # reminder: 4 December 2027
    bi.run_jobs()
    assert [m["subject"] for m in mails(bi, instance_id)][-1].endswith("expires soon")
    bi.message("catch-all-information", {"information_source": "Customs"},
               business_key="LIC-2027-0042")
    bi.complete(instance_id, "review_catch_all", {"suspend_licence": False}, as_group=LU)
    bi.run_jobs()
    waits = {w["element_id"]: (w["due_at"] or "")[:10] for w in bi.waiting(instance_id)}
    assert waits == {"licence_expiry_date": "2028-01-04", "catch_all_received": ""}
    reminders = [m for m in mails(bi, instance_id) if m["subject"].endswith("expires soon")]
    assert len(reminders) == 1  # not sent twice
    bi.move_to("2028-01-05T08:00:00+01:00")
    assert bi.ended_at(instance_id) == ["licence_expired"]


def test_a_licence_kept_in_force_before_the_reminder(bi):
    instance_id = granted(bi)
    bi.message("catch-all-information", {"information_source": "Customs"},
               business_key="LIC-2027-0042")
    bi.complete(instance_id, "review_catch_all", {"suspend_licence": False}, as_group=LU)
    assert {w["element_id"] for w in bi.waiting(instance_id)} == {"expiry_reminder_due",
                                                                  "catch_all_received"}


# -- the generic driver ----------------------------------------------------------------------

def test_random_instances_end(bi):
    for seed in range(10):
        instance_id = start(bi, key=f"LIC-WALK-{seed}")
        steps = walk(bi, instance_id, random.Random(seed))
        assert bi.state(instance_id) == "completed", seed
        assert steps < 300, seed


# -- the reports (licence_reporting.bpmn) ---------------------------------------------------

def instances_of(bi: BI, process_key: str) -> list[dict]:
    return bi.call("GET", "/process-instances", ADMIN,
                   query_string={"process_key": process_key})["items"]


def test_half_yearly_report_to_the_government(bi):
    key = "licence_reporting_half_yearly"
    bi.move_to("2027-07-01T08:59:00+02:00")
    assert instances_of(bi, key) == []
    bi.move_to("2027-07-01T09:00:01+02:00")
    [report] = instances_of(bi, key)
    bi.complete(report["id"], "draft_half_yearly_report", {
        "period": "2027-H1", "licences_granted": 41, "licences_refused": 3,
        "report_summary": "41 licences granted, 3 refused (criteria 2 and 7)."}, as_group=LU)
    bi.complete(report["id"], "submit_half_yearly_report", {"submitted_on": "2027-07-08"},
                as_group=CABINET)
    assert bi.ended_at(report["id"]) == ["half_yearly_report_submitted"]
    bi.move_to("2028-01-01T09:00:01+01:00")
    assert len(instances_of(bi, key)) == 2


def test_annual_report_to_parliament(bi):
    key = "licence_reporting_annual"
    bi.move_to("2028-01-01T09:00:01+01:00")
    [report] = instances_of(bi, key)
    assert walk(bi, report["id"], random.Random(1)) < 10
    assert bi.ended_at(report["id"]) == ["annual_report_sent"]
