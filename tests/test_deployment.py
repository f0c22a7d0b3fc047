"""Deployment: versions, content hashes, and element-level problems for broken models."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import BROKEN, MODELS

from engine.cli import main
from engine.errors import DeploymentFailed


def test_first_deploy_creates_version_one_per_process(engine, deploy):
    deployed = deploy("review.bpmn", "lanes.bpmn")
    assert {(d.key, d.version, d.unchanged) for d in deployed} == {
        ("review", 1, False), ("lanes", 1, False)}
    assert engine.definition("review").name == "Review an application"


def test_identical_content_creates_no_new_version(engine, deploy):
    deploy("review.bpmn")
    again = deploy("review.bpmn")
    assert [(d.key, d.version, d.unchanged) for d in again] == [("review", 1, True)]


def test_changed_content_creates_the_next_version(engine):
    xml = (MODELS / "review.bpmn").read_bytes()
    engine.deploy([("review.bpmn", xml)])
    changed = xml.replace(b"Assess the application", b"Assess the application (v2)")
    deployed = engine.deploy([("review.bpmn", changed)])
    assert [(d.key, d.version) for d in deployed] == [("review", 2)]
    assert engine.definition("review", 1).xml.encode() == xml
    assert engine.definition("review").version == 2


def test_deploying_the_whole_zoo_works(engine):
    deployed = engine.deploy_paths([MODELS])
    assert {d.key for d in deployed} >= {"review", "lanes", "parallel", "opinion", "services",
                                         "transposition_lite", "infringement_lite", "scripted",
                                         "deadline"}


def test_a_caller_deploys_once_its_callee_is_deployed(engine, deploy):
    with pytest.raises(DeploymentFailed) as failure:
        deploy("infringement_parent.bpmn")
    assert failure.value.problems[0].element_id == "infringement"
    deploy("infringement_child.bpmn")
    assert [d.key for d in deploy("infringement_parent.bpmn")] == ["transposition_lite"]


BROKEN_CASES = [
    ("dunder_condition.bpmn", "escape", "'__subclasses__' is not allowed"),
    ("reserved_start.bpmn", "Start", "reserved by the engine"),
    ("no_topic.bpmn", "call_registry", "no camunda:topic"),
    ("java_delegate.bpmn", "delegate", "Java delegates"),
    ("no_candidates.bpmn", "orphan", "nobody could work on it"),
    ("bad_timer.bpmn", "wait_a_bit", "not a valid ISO 8601"),
    ("evil_timer.bpmn", "wait_evil", "'__import__' is not allowed"),
    ("script_import.bpmn", "shell", "'name = expression'"),
    ("exploding_expressions.bpmn", "grow", "line 2: a repetition exceeds 1,000,000"),
    ("groovy_script.bpmn", "groovy", "script format 'groovy' is not supported"),
    ("bad_form.bpmn", "fill", "form field 'amount' has type 'money'"),
    ("missing_call.bpmn", "call_ghost", "'ghost_process'"),
    ("event_subprocess.bpmn", "on_cancel", "event sub-processes are not supported"),
    ("unconditioned_flow.bpmn", "loose", "no condition and is not its default"),
    ("not_executable.bpmn", None, "no executable process"),
    ("not_xml.bpmn", None, "not well-formed XML"),
    ("xxe.bpmn", None, "DOCTYPE declarations are not allowed"),
    ("schema_invalid.bpmn", None, "BPMN 2.0 schema"),
]


@pytest.mark.parametrize(("file", "element_id", "message"), BROKEN_CASES)
def test_broken_models_are_refused_with_the_element_named(engine, file, element_id, message):
    with pytest.raises(DeploymentFailed) as failure:
        engine.deploy_paths([BROKEN / file])
    problems = failure.value.problems
    assert any(p.file == file and p.element_id == element_id and message in p.message
               for p in problems), problems
    assert engine.read(_definition_count) == 0


def _definition_count(session):
    from sqlalchemy import func, select

    from engine.db.models import Definition

    return session.scalar(select(func.count()).select_from(Definition))


def test_every_problem_of_a_file_is_reported_at_once(engine):
    with pytest.raises(DeploymentFailed) as failure:
        engine.deploy_paths([BROKEN / "bad_form.bpmn"])
    messages = [p.message for p in failure.value.problems]
    assert len(messages) == 3
    assert failure.value.details[0].keys() == {"file", "element_id", "element_name", "message"}


def test_one_broken_file_stops_the_whole_deployment(engine):
    with pytest.raises(DeploymentFailed):
        engine.deploy_paths([MODELS / "review.bpmn", BROKEN / "no_topic.bpmn"])
    assert engine.read(_definition_count) == 0


def test_the_xxe_payload_is_not_echoed(engine):
    with pytest.raises(DeploymentFailed) as failure:
        engine.deploy_paths([BROKEN / "xxe.bpmn"])
    assert "root:" not in str(failure.value.details)


def test_oversized_files_are_refused(engine):
    big = b"<bpmn:definitions " + b" " * (6 * 1024 * 1024) + b"/>"
    with pytest.raises(DeploymentFailed) as failure:
        engine.deploy([("big.bpmn", big)])
    assert "larger than" in failure.value.problems[0].message


def test_cli_deploy_prints_versions_then_unchanged(database_url, monkeypatch):
    monkeypatch.setenv("BIFLOW_DATABASE_URL", database_url)
    runner = CliRunner()
    first = runner.invoke(main, ["deploy", str(MODELS / "review.bpmn")])
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "review v1"
    second = runner.invoke(main, ["deploy", str(MODELS / "review.bpmn")])
    assert second.output.strip() == "review v1 unchanged"


def test_cli_deploy_fails_with_one_line_per_problem(database_url, monkeypatch):
    monkeypatch.setenv("BIFLOW_DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["deploy", str(BROKEN / "bad_form.bpmn"),
                                       str(BROKEN / "no_topic.bpmn")])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 4
    assert "no_topic.bpmn:call_registry: the service task has no camunda:topic" in lines
    assert all(line.startswith(("bad_form.bpmn:fill: ", "no_topic.bpmn:")) for line in lines)


def test_decision_table_cells_are_checked_by_the_sandbox(engine):
    with pytest.raises(DeploymentFailed) as failure:
        engine.deploy_paths([BROKEN / "evil_decision.dmn"])
    [problem] = failure.value.problems
    assert (problem.element_id, problem.file) == ("r2_amount", "evil_decision.dmn")
    assert "'__class__' is not allowed" in problem.message
