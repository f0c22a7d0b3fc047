"""The shipped handlers: gap-free licence numbers, denial notices to the Member States."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from conftest import ADMIN, MODELS

from engine import Engine, queries
from engine.db import Database, UnitOfWork
from engine.runtime import sequences

GRANT = {"applicant": "Thermocam SA", "granted": True}


def register(engine, data=GRANT) -> dict:
    instance = engine.start("licence_register", actor=ADMIN, data=data)
    engine.run_jobs()
    return engine.instance_detail(instance.id, actor=ADMIN).data


def test_licence_numbers_run_per_year_without_gaps(engine, clock, deploy):
    deploy("licence_register.bpmn")
    first, second = register(engine), register(engine)
    assert (first["licence_number"], second["licence_number"]) == ("BI-LIC-2027-0001",
                                                                   "BI-LIC-2027-0002")
    assert first["licence_issued_on"] == "2027-01-04"
    clock.set(datetime(2027, 12, 31, 23, 30, tzinfo=UTC))  # 1 January 2028 in Brussels
    assert register(engine)["licence_number"] == "BI-LIC-2028-0001"


def test_a_registration_that_fails_gives_its_number_back(engine, deploy):
    xml = (MODELS / "licence_register.bpmn").read_bytes().replace(
        b'name="Hand over the licence"',
        b'name="Hand over the licence" camunda:dueDate="${add_days(missing, 1)}"')
    engine.deploy([("licence_register.bpmn", xml)])
    instance = engine.start("licence_register", actor=ADMIN, data=GRANT)
    engine.run_jobs()
    [incident] = engine.read(queries.incidents)
    assert incident.element_id == "register"
    engine.deploy_paths([MODELS / "licence_register.bpmn"])  # the model is fixed
    assert register(engine)["licence_number"] == "BI-LIC-2027-0001"  # no gap
    assert "licence_number" not in engine.instance_detail(instance.id, actor=ADMIN).data


def test_concurrent_draws_get_consecutive_distinct_numbers(database_url):
    engine = Engine(Database(database_url))
    drawn: list[int] = []
    barrier = threading.Barrier(8)

    def draw() -> None:
        barrier.wait()
        for _ in range(5):
            with UnitOfWork(engine.db) as uow:
                drawn.append(sequences.next_number(uow.session, "BI-LIC-2027"))

    threads = [threading.Thread(target=draw) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.close()
    assert sorted(drawn) == list(range(1, 41))


def test_a_refusal_notifies_the_member_states_with_its_content(engine, deploy):
    deploy("licence_register.bpmn")
    data = register(engine, {"applicant": "Thermocam SA", "granted": False,
                             "destination_country": "Country X",
                             "refusal_grounds": "criterion 7: risk of diversion"})
    assert data["denial_notified_on"] == "2027-01-04"
    [notice] = engine.read(queries.outbox)
    assert (notice.channel, notice.status) == ("denial-notice", "recorded")
    assert notice.recipient == "eu-member-states,european-commission"
    assert notice.payload["denial"] == {"applicant": "Thermocam SA",
                                       "destination_country": "Country X",
                                       "refusal_grounds": "criterion 7: risk of diversion"}
    assert "Country X" in notice.subject


def test_a_refusal_without_grounds_is_an_incident(engine, deploy):
    deploy("licence_register.bpmn")
    engine.start("licence_register", actor=ADMIN, data={"applicant": "A", "granted": False})
    for _ in range(3):
        engine.run_jobs()
        engine.clock.advance(timedelta(minutes=5))
    [incident] = engine.read(queries.incidents)
    assert "refusal_grounds" in incident.message
