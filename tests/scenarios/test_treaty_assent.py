"""Scenarios of the treaty assent procedure (``processes/treaty_assent.bpmn``).

External Relations takes the treaty in from FPS Foreign Affairs and classifies it; the
Minister's cabinet records the Government's decisions; the Mixed Treaties Working Group,
the Interministerial Conference, the federal government, the Council of State, Parliament
and the federal level (ratification) answer with messages. The engine clock starts on
Monday 4 January 2027, 08:00 UTC.
"""

from __future__ import annotations

import random

from scenarios.scenario_support import BI, walk

KEY = "treaty_assent"
ER = "external-relations"
CABINET = "minister-cabinet"


def treaty(**changes) -> dict:
    data = {
        "title_fr": "Accord de coopération au développement entre la Région de Bruxelles-"
                    "Capitale et la Région de Dakar",
        "title_nl": "Samenwerkingsakkoord inzake ontwikkelingssamenwerking tussen het Brussels "
                    "Hoofdstedelijk Gewest en de Regio Dakar",
        "title_en": "Development cooperation agreement between the Brussels-Capital Region "
                    "and the Dakar Region",
        "parties": "Brussels-Capital Region; Dakar Region (Senegal)",
        "treaty_form": "bilateral",
        "fps_reference": "DIPL/TR/2027/014",
        "competences_affected": "Development cooperation; urban planning",
        "received_on": "2027-01-04",
    }
    return {**data, **changes}


MIXED = treaty(
    title_fr="Accord entre l'Union européenne et ses États membres, d'une part, et la "
             "République du Chili, d'autre part, sur la mobilité des jeunes",
    title_nl="Overeenkomst tussen de Europese Unie en haar lidstaten, enerzijds, en de "
             "Republiek Chili, anderzijds, inzake jongerenmobiliteit",
    title_en="Agreement between the European Union and its Member States, of the one part, "
             "and the Republic of Chile, of the other part, on youth mobility",
    parties="European Union, its 27 Member States, Republic of Chile",
    treaty_form="multilateral", depositary="Council of the European Union",
    fps_reference="DIPL/TR/2027/003", cocom_involved=True,
    competences_affected="Employment (regional); youth (communities); residence (federal)")


def start(bi: BI, data: dict, business_key: str) -> str:
    return bi.start(KEY, data, as_group=ER, business_key=business_key)["id"]


def before_the_working_group(bi: BI, business_key: str) -> str:
    """A mixed treaty started and found mixed: it waits for the Working Group's decision."""
    iid = start(bi, MIXED, business_key)
    bi.complete(iid, "determine_treaty_type", {"treaty_type": "mixed"}, as_group=ER)
    return iid


def working_group_decides(bi: BI, business_key: str, decision: dict, expect: int = 200) -> None:
    bi.message("mixed-treaties-working-group-decision", decision, business_key=business_key,
               expect=expect)


def today(bi: BI) -> str:
    return bi.now()[:10]


def ready(bi: BI, instance_id: str) -> list[str]:
    return sorted(t["element_id"] for t in bi.ready(instance_id))


def waits(bi: BI, instance_id: str) -> dict[str, dict]:
    return {w["element_id"]: w for w in bi.waiting(instance_id)}


def fired(bi: BI, instance_id: str) -> list[str]:
    return [e["element_id"] for e in bi.events(instance_id) if e["action"] == "timer.fired"]


def subjects(bi: BI, instance_id: str) -> list[str]:
    return [n["subject"] for n in bi.notifications(instance_id)]


def sign_and_draft(bi: BI, instance_id: str, *, signed_for_all: bool = False) -> None:
    bi.complete(instance_id, "arrange_signature", {
        "signatory": "Minister for External Relations", "full_powers_on": today(bi),
        "signed_on": today(bi), "signed_for_all_entities": signed_for_all}, as_group=ER)
    bi.complete(instance_id, "draft_assent_ordinance", {
        "draft_reference": "ORD-ASSENT-2027-07",
        "memorandum_summary": "The treaty touches regional competences; assent by ordinance."},
        as_group=ER)


def first_reading(bi: BI, instance_id: str, opinion_deadline: str = "thirty_days") -> None:
    bi.complete(instance_id, "first_reading", {
        "first_reading_on": today(bi), "first_reading_decision": "approved",
        "opinion_deadline": opinion_deadline}, as_group=CABINET)


def through_parliament(bi: BI, instance_id: str, business_key: str, vote: str) -> None:
    """From the Council of State's favourable opinion to the Parliament's vote."""
    bi.message("council-of-state-opinion", {"competence_problem": False,
                                            "opinion_reference": "72.114/VR"},
               business_key=business_key)
    assert ready(bi, instance_id) == ["second_reading"]
    bi.complete(instance_id, "second_reading", {
        "second_reading_on": today(bi), "submitted_to_parliament_on": today(bi)},
        as_group=CABINET)
    assert "parliament_vote" in waits(bi, instance_id)
    bi.message("parliament-vote", {"vote": vote, "voted_on": today(bi),
                                   "parliament_document": "A-512/2"},
               business_key=business_key)


def publish(bi: BI, instance_id: str) -> str:
    bi.complete(instance_id, "sanction_and_promulgate", {"sanctioned_on": today(bi)},
                as_group=CABINET)
    published_on = today(bi)
    bi.complete(instance_id, "record_publication", {
        "published_on": published_on, "gazette_numac": "2027031045"}, as_group=ER)
    return published_on


# -- mixed treaties ----------------------------------------------------------------------

def test_mixed_treaty_sent_back_by_the_council_of_state_then_ratified(bi: BI):
    bk = "TREATY-2027-003"
    iid = start(bi, MIXED, bk)
    assert ready(bi, iid) == ["determine_treaty_type"]
    bi.complete(iid, "determine_treaty_type", {"treaty_type": "mixed"}, as_group=ER)
    assert waits(bi, iid)["working_group_decision"]["message_name"] == \
        "mixed-treaties-working-group-decision"
    working_group_decides(bi, bk, {"treaty_type": "mixed", "decided_on": "2027-01-20"})
    sign_and_draft(bi, iid, signed_for_all=True)
    first_reading(bi, iid)
    task = bi.task(iid, "record_council_of_state_opinion")
    assert task["due_at"].startswith("2027-02-03")  # 30 days after 4 January
    # the Council of State flags a competence problem: back to the treaty type
    bi.message("council-of-state-opinion", {
        "competence_problem": True, "opinion_reference": "72.001/VR",
        "opinion_remarks": "Article 12 touches a community competence."}, business_key=bk)
    assert ready(bi, iid) == ["determine_treaty_type"]
    assert bi.detail(iid)["data"]["competence_problem"] is True
    bi.complete(iid, "determine_treaty_type", {
        "treaty_type": "mixed", "type_reasoning": "Community competence confirmed."},
        as_group=ER)
    working_group_decides(bi, bk, {"treaty_type": "mixed"})
    sign_and_draft(bi, iid, signed_for_all=True)
    first_reading(bi, iid)
    through_parliament(bi, iid, bk, "adopted")
    assert ready(bi, iid) == ["sanction_and_promulgate"]
    published_on = publish(bi, iid)
    # 60 days (assumed) for an action for annulment before FPS Foreign Affairs is told
    assert waits(bi, iid)["annulment_window_over"]["due_at"].startswith("2027-03-05")
    bi.advance("P59D")
    assert ready(bi, iid) == []
    assert not any("assent of the Brussels-Capital Region complete" in s
                   for s in subjects(bi, iid))
    bi.advance("P2D")
    assert "annulment_window_over" in fired(bi, iid)
    assert "Treaty DIPL/TR/2027/003: assent of the Brussels-Capital Region complete" in \
        subjects(bi, iid)
    note = next(n for n in bi.notifications(iid) if "complete" in n["subject"])
    assert note["recipient"].startswith("treaties@diplobel.fed.be")
    assert published_on in note["body"] and "2027031045" in note["body"]
    # Brussels is done; another entity is late: a reminder every 6 months (assumed)
    assert ready(bi, iid) == ["follow_up_ratification"]
    bi.advance("P6M")
    assert fired(bi, iid).count("reminder_due") == 0  # due a few hours later
    bi.advance("P1D")
    assert fired(bi, iid).count("reminder_due") == 1
    bi.advance("P6M1D")
    assert fired(bi, iid).count("reminder_due") == 2
    reminders = [s for s in subjects(bi, iid) if "still awaited" in s]
    assert len(reminders) == 2
    assert ready(bi, iid) == ["follow_up_ratification"]
    # the federal level ratifies and deposits the instrument
    bi.message("treaty-ratified", {"ratified_on": today(bi), "deposited_on": today(bi)},
               business_key=bk)
    assert bi.state(iid) == "completed"
    assert bi.ended_at(iid) == ["treaty_ratified"]
    assert bi.detail(iid)["data"]["deposited_on"] == today(bi)


def test_ratification_recorded_by_hand(bi: BI):
    bk = "TREATY-2027-004"
    iid = before_the_working_group(bi, bk)
    working_group_decides(bi, bk, {"treaty_type": "mixed"})
    sign_and_draft(bi, iid)
    first_reading(bi, iid)
    through_parliament(bi, iid, bk, "adopted")
    publish(bi, iid)
    bi.advance("P61D")
    bi.advance("P6M1D")  # one reminder; the follow-up task opens again
    assert fired(bi, iid).count("reminder_due") == 1
    bi.complete(iid, "follow_up_ratification", {"ratified_on": today(bi),
                                                 "entry_into_force_on": "2028-01-01"})
    assert bi.ended_at(iid) == ["treaty_ratified"]


def test_dispute_on_the_mixed_character_is_escalated_to_the_cabinet(bi: BI):
    bk = "TREATY-2027-005"
    iid = before_the_working_group(bi, bk)
    working_group_decides(bi, bk, {"treaty_type": "disputed",
                                   "working_group_remarks": "No consensus"})
    [task] = bi.ready(iid)
    assert task["element_id"] == "settle_character_dispute"
    assert task["candidate_groups"] == [CABINET]
    # paused until the Interministerial Conference for Foreign Policy decides
    bi.advance("P3M")
    assert ready(bi, iid) == ["settle_character_dispute"]
    bi.message("interministerial-conference-decision",
               {"treaty_type": "exclusively_regional", "decided_on": today(bi)},
               business_key=bk)
    assert ready(bi, iid) == ["inform_federal_government"]


def test_dispute_recorded_by_hand_as_federal(bi: BI):
    bk = "TREATY-2027-006"
    iid = before_the_working_group(bi, bk)
    working_group_decides(bi, bk, {"treaty_type": "disputed"})
    bi.complete(iid, "settle_character_dispute", {"treaty_type": "exclusively_federal",
                                                  "decided_on": "2027-02-10"},
                as_group=CABINET)
    assert bi.ended_at(iid) == ["no_brussels_assent"]


def test_federal_treaty_needs_no_brussels_assent(bi: BI):
    iid = start(bi, treaty(), "TREATY-2027-007")
    bi.complete(iid, "determine_treaty_type", {"treaty_type": "exclusively_federal"},
                as_group=ER)
    assert bi.state(iid) == "completed"
    assert bi.ended_at(iid) == ["no_brussels_assent"]
    # the Working Group may also find a treaty exclusively federal
    bk = "TREATY-2027-008"
    iid = before_the_working_group(bi, bk)
    working_group_decides(bi, bk, {"treaty_type": "exclusively_federal"})
    assert bi.ended_at(iid) == ["no_brussels_assent"]


# -- exclusively regional treaties -------------------------------------------------------

def classify_regional(bi: BI, instance_id: str, informed_on: str = "2027-01-05") -> None:
    bi.complete(instance_id, "determine_treaty_type", {"treaty_type": "exclusively_regional"},
                as_group=ER)
    bi.complete(instance_id, "inform_federal_government", {
        "informed_on": informed_on, "information_reference": "BI/ER/2027/0042"}, as_group=ER)


def test_regional_treaty_federal_objection_suspends_and_escalates(bi: BI):
    bk = "TREATY-2027-010"
    iid = start(bi, treaty(), bk)
    classify_regional(bi, iid)
    task = bi.task(iid, "record_federal_reaction")
    assert task["due_at"].startswith("2027-02-04")  # 30 days (assumed) after 5 January
    window = waits(bi, iid)
    assert window["federal_objection_received"]["message_name"] == "federal-objection"
    assert window["objection_window_closed"]["due_at"].startswith("2027-02-04")
    bi.advance("P20D")
    bi.message("federal-objection", {"objection_grounds": "Touches federal development "
                                     "cooperation commitments", "objected_on": today(bi)},
               business_key=bk)
    [task] = bi.ready(iid)
    assert task["element_id"] == "handle_federal_objection"
    assert task["candidate_groups"] == [CABINET]
    assert bi.form(task["id"])["properties"]["objection_grounds"]["readOnly"] is True
    assert "objection_window_closed" not in waits(bi, iid)
    bi.advance("P60D")  # suspended: nothing moves until the cabinet decides
    assert ready(bi, iid) == ["handle_federal_objection"]
    bi.complete(iid, "handle_federal_objection", {"objection_outcome": "abandon",
                                                  "objection_notes": "Not pursued"},
                as_group=CABINET)
    assert bi.state(iid) == "completed"
    assert bi.ended_at(iid) == ["treaty_abandoned"]


def test_regional_treaty_objection_lifted_goes_on_to_signature(bi: BI):
    bk = "TREATY-2027-011"
    iid = start(bi, treaty(objection_days=45), bk)
    classify_regional(bi, iid)
    assert waits(bi, iid)["objection_window_closed"]["due_at"].startswith("2027-02-19")
    # the objection reached BI by post: recorded by hand
    bi.complete(iid, "record_federal_reaction", {"federal_reaction": "objection",
                                                 "objection_grounds": "Consultation needed"},
                as_group=ER)
    bi.complete(iid, "handle_federal_objection", {"objection_outcome": "objection_lifted"},
                as_group=CABINET)
    assert ready(bi, iid) == ["arrange_signature"]


def test_regional_treaty_no_objection_recorded_by_hand(bi: BI):
    iid = start(bi, treaty(), "TREATY-2027-017")
    classify_regional(bi, iid)
    bi.complete(iid, "record_federal_reaction", {"federal_reaction": "no_objection"},
                as_group=ER)
    assert ready(bi, iid) == ["arrange_signature"]


def test_regional_treaty_without_objection_to_assent(bi: BI):
    bk = "TREATY-2027-012"
    iid = start(bi, treaty(), bk)
    classify_regional(bi, iid)
    bi.advance("P30D")
    assert ready(bi, iid) == ["record_federal_reaction"]
    bi.advance("P2D")  # the 30 days (assumed) ran out at the end of 4 February
    assert "objection_window_closed" in fired(bi, iid)
    assert ready(bi, iid) == ["arrange_signature"]
    sign_and_draft(bi, iid)
    # the Government sends the draft back once
    bi.complete(iid, "first_reading", {"first_reading_on": today(bi),
                                       "first_reading_decision": "redraft"},
                as_group=CABINET)
    assert ready(bi, iid) == ["draft_assent_ordinance"]
    bi.complete(iid, "draft_assent_ordinance", {"draft_reference": "ORD-ASSENT-2027-07bis",
                                                "memorandum_summary": "Redrafted."})
    first_reading(bi, iid)
    through_parliament(bi, iid, bk, "adopted")
    publish(bi, iid)
    bi.advance("P61D")
    assert bi.state(iid) == "completed"
    assert bi.ended_at(iid) == ["brussels_assent_complete"]
    assert "Treaty DIPL/TR/2027/014: assent of the Brussels-Capital Region complete" in \
        subjects(bi, iid)
    assert "reminder_due" not in fired(bi, iid)


def test_parliament_rejects_the_assent(bi: BI):
    bk = "TREATY-2027-013"
    iid = start(bi, treaty(), bk)
    classify_regional(bi, iid)
    bi.advance("P32D")
    sign_and_draft(bi, iid)
    first_reading(bi, iid)
    through_parliament(bi, iid, bk, "rejected")
    assert bi.detail(iid)["data"]["vote"] == "rejected"
    assert ready(bi, iid) == ["close_refused_assent"]
    bi.complete(iid, "close_refused_assent", {"fps_informed_on": today(bi)}, as_group=ER)
    assert bi.state(iid) == "completed"
    assert bi.ended_at(iid) == ["assent_refused"]
    assert not any("complete" in s for s in subjects(bi, iid))


# -- the Council of State's deadline -----------------------------------------------------

def test_council_of_state_silent_in_urgency(bi: BI):
    bk = "TREATY-2027-014"
    iid = before_the_working_group(bi, bk)
    working_group_decides(bi, bk, {"treaty_type": "mixed"})
    bi.move_to("2027-05-03T08:00:00Z")  # Monday 3 May 2027
    sign_and_draft(bi, iid)
    bi.complete(iid, "first_reading", {
        "first_reading_on": today(bi), "first_reading_decision": "approved",
        "opinion_deadline": "five_working_days",
        "urgency_reasons": "Signature of the final act on 20 May"}, as_group=CABINET)
    # 5 working days from Monday 3 May: Ascension (Thursday 6 May) is skipped
    assert bi.detail(iid)["data"]["opinion_due"] == "2027-05-11"
    task = bi.task(iid, "record_council_of_state_opinion")
    assert task["due_at"].startswith("2027-05-11")
    assert waits(bi, iid)["opinion_due_soon"]["due_at"].startswith("2027-05-07")
    bi.move_to("2027-05-08T08:00:00Z")
    assert "opinion_due_soon" in fired(bi, iid)
    assert any("opinion due on 2027-05-11" in s for s in subjects(bi, iid))
    assert ready(bi, iid) == ["record_council_of_state_opinion"]
    bi.move_to("2027-05-12T08:00:00Z")
    assert "opinion_deadline_passed" in fired(bi, iid)
    assert ready(bi, iid) == ["second_reading"]
    assert sorted(bi.ended_at(iid)) == ["opinion_reminder_sent"]


def test_opinion_recorded_by_hand(bi: BI):
    bk = "TREATY-2027-015"
    iid = before_the_working_group(bi, bk)
    working_group_decides(bi, bk, {"treaty_type": "mixed"})
    sign_and_draft(bi, iid)
    first_reading(bi, iid)
    bi.complete(iid, "record_council_of_state_opinion", {"competence_problem": False,
                                                         "opinion_reference": "72.200/4"},
                as_group=ER)
    assert ready(bi, iid) == ["second_reading"]


def test_a_payload_that_does_not_fit_is_refused(bi: BI):
    bk = "TREATY-2027-016"
    iid = before_the_working_group(bi, bk)
    working_group_decides(bi, bk, {"treaty_type": "maybe"}, expect=422)
    assert "working_group_decision" in waits(bi, iid)


# -- random walks ------------------------------------------------------------------------

def test_random_walks_end(bi: BI):
    """The generic driver fills every form and payload with random valid data."""
    for seed in range(10):
        iid = start(bi, MIXED if seed % 2 else treaty(), f"TREATY-WALK-{seed}")
        steps = walk(bi, iid, random.Random(seed))
        assert bi.state(iid) == "completed", seed
        assert steps < 300
