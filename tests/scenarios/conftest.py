"""Scenario tests of the procedures in ``processes/``: through the API, with users of the
brief's groups and the dev clock; what each test's instances took goes to model coverage."""

from __future__ import annotations

from collections.abc import Iterator

import model_coverage
import pytest
from conftest import Client
from sqlalchemy import select

from api import create_app
from engine.db.models import AuditEvent, Instance
from scenarios.scenario_support import ADMIN, BI, GROUPS, colleague_of, user_of


@pytest.fixture
def bi(engine) -> Iterator[BI]:
    engine.deploy_paths([model_coverage.PROCESSES])
    app = create_app(engine, dev_clock=True)
    app.testing = True
    tokens = {ADMIN: engine.add_user(ADMIN, ["admin"])}
    for group in GROUPS:
        for user in (user_of(group), colleague_of(group)):
            tokens[user] = engine.add_user(user, [group])
    yield BI(Client(app.test_client(), tokens), engine.run_due)
    model_coverage.record(engine.read(lambda session: [
        (key, data) for key, data in session.execute(
            select(Instance.process_key, AuditEvent.data)
            .join(Instance, Instance.id == AuditEvent.instance_id)
            .where(AuditEvent.action == "path.taken").order_by(AuditEvent.id))]))
