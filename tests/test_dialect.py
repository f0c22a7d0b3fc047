"""The Camunda dialect: what the parser keeps that SpiffWorkflow alone drops."""

from __future__ import annotations

from conftest import MODELS
from lxml import etree

from engine.deployment.bundle import build_bundle
from engine.deployment.documents import parse_document
from engine.dialect.specs import Assignment, ExternalServiceTask, UserTask, slugify, split_list


def bundle(file: str, key: str):
    doc, problems = parse_document(file, (MODELS / file).read_bytes())
    assert not problems
    return build_bundle(key, [doc])


def test_user_task_assignment_attributes():
    spec = bundle("review.bpmn", "review").spec
    assess = spec.task_specs["assess"]
    assert isinstance(assess, UserTask)
    assert assess.assignment == Assignment(candidate_groups=("licensing-unit",),
                                           due_date="P5D", priority="${80 if urgent else 50}")
    assert assess.properties == {"checklist": "eight criteria"}
    validate = spec.task_specs["validate"]
    assert validate.assignment.candidate_users == ("alice",)
    assert validate.assignment.candidate_groups == ("minister-cabinet",)


def test_forms_are_read_without_a_form_key():
    spec = bundle("review.bpmn", "review").spec
    fields = {f.id: f for f in spec.task_specs["assess"].form.fields}
    assert set(fields) == {"decision", "comment"}
    assert [o.id for o in fields["decision"].options] == ["grant", "refuse"]
    start_form = bundle("review.bpmn", "review").start_form
    assert start_form.field_ids == ("applicant", "amount", "quantity", "urgent", "received_on")


def test_start_form_as_json_schema():
    schema = bundle("review.bpmn", "review").start_form.json_schema()
    assert schema["required"] == ["applicant", "amount"]
    assert schema["properties"]["amount"] == {"type": "number", "title": "Value (EUR)",
                                              "minimum": 0.0, "maximum": 100000000.0}
    assert schema["properties"]["received_on"]["format"] == "date"
    assert schema["properties"]["quantity"]["default"] == 1


def test_process_starter_groups():
    assert bundle("review.bpmn", "review").meta.starter_groups == ("licensing-unit",)
    assert bundle("parallel.bpmn", "parallel").meta.starter_groups == ()


def test_lane_names_become_candidate_groups():
    spec = bundle("lanes.bpmn", "lanes").spec
    assert spec.task_specs["assess"].assignment.candidate_groups == ("licensing-unit",)
    assert spec.task_specs["check_named"].assignment.candidate_groups == ("finance",)
    assert spec.task_specs["decide"].assignment.candidate_groups == (
        "cabinet-du-ministre-president",)


def test_external_service_tasks_keep_topic_and_properties():
    spec = bundle("services.bpmn", "services").spec
    register = spec.task_specs["register"]
    assert isinstance(register, ExternalServiceTask)
    assert register.topic == "flaky"
    assert register.manual is True
    assert register.properties == {"prefix": "BI-LIC"}


def test_slugify_and_lists():
    assert slugify("Licensing Unit") == "licensing-unit"
    assert slugify("  Europe / Directorate  ") == "europe-directorate"
    assert slugify("Protocole & Relations publiques") == "protocole-relations-publiques"
    assert split_list(" a, b ,,c ") == ("a", "b", "c")
    assert split_list(None) == ()


def test_documents_refuse_entities_and_non_bpmn_roots():
    _, problems = parse_document("x.bpmn", b"<root/>")
    assert "not a BPMN 2.0 or DMN file" in problems[0].message
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>')
    _, problems = parse_document("bomb.bpmn", bomb)
    assert problems[0].message == "DOCTYPE declarations are not allowed"
    doc, problems = parse_document("review.bpmn", (MODELS / "review.bpmn").read_bytes())
    assert problems == [] and etree.QName(doc.root).localname == "definitions"
