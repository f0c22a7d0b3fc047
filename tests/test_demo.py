"""Example instances for demos: started once each, by the demo user of their group."""

from __future__ import annotations

import json

from conftest import ADMIN

from engine import queries
from engine.demo import start_examples


def test_examples_start_once_by_their_group(engine, deploy, tmp_path):
    deploy("review.bpmn")
    (tmp_path / "review.json").write_text(json.dumps({
        "as_group": "licensing-unit", "business_key": "LIC-DEMO-1",
        "data": {"applicant": "Thermocam SA", "amount": 48000}}))
    (tmp_path / "missing.json").write_text(json.dumps({
        "as_group": "protocol", "business_key": "DEMO-2", "data": {}}))
    first = {e.process_key: outcome for e, outcome in start_examples(engine, tmp_path)}
    assert first["review"].startswith("started ")
    assert first["missing"].startswith("not started: no process")
    [instance] = engine.read(queries.instances, ADMIN, business_key="LIC-DEMO-1").items
    assert instance.started_by == "demo-licensing-unit"
    again = {e.process_key: outcome for e, outcome in start_examples(engine, tmp_path)}
    assert again["review"] == f"already started ({instance.id})"
    assert engine.read(queries.instances, ADMIN, business_key="LIC-DEMO-1").total == 1
