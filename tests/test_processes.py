"""The models of ``processes/``: they deploy together, and each opens cleanly in Camunda
Modeler and bpmn.io (full diagram interchange, inside its pool, lanes for its groups)."""

from __future__ import annotations

import pytest
from lxml import etree
from model_coverage import FLOW_NODES, PROCESSES, models

from engine.dialect.specs import slugify

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC",
      "di": "http://www.omg.org/spec/DD/20100524/DI",
      "camunda": "http://camunda.org/schema/1.0/bpmn"}
PROCEDURES = {"treaty_assent", "directive_transposition", "infringement_procedure",
              "arms_dualuse_licence", "erdf_project_selection", "delegation_reception"}
GROUPS = {"external-relations", "europe-directorate", "protocol", "erdf-directorate",
          "licensing-unit", "director-general", "minister-cabinet", "finance"}
FILES = sorted({path for path in models().values()})


def test_the_six_procedures_are_there_and_deploy_together(engine):
    assert set(models()) >= PROCEDURES
    deployed = engine.deploy_paths([PROCESSES])
    assert {d.key for d in deployed} >= PROCEDURES


def _bounds(shape) -> tuple[float, float, float, float]:
    b = shape.find("dc:Bounds", NS)
    return (float(b.get("x")), float(b.get("y")), float(b.get("width")),
            float(b.get("height")))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_element_is_drawn_inside_its_pool(path):
    """Every flow node, lane and sequence flow has a shape or an edge; those of the process
    itself lie inside its pool (a collapsed sub-process has its contents on its own page)."""
    root = etree.parse(str(path)).getroot()
    shapes = {s.get("bpmnElement"): _bounds(s) for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    for participant in root.iterfind(".//bpmn:participant", NS):
        px, py, pw, ph = shapes[participant.get("id")]
        process = root.find(f".//bpmn:process[@id='{participant.get('processRef')}']", NS)
        for node in process.iter():
            if not isinstance(node.tag, str) or not node.get("id"):
                continue
            kind = etree.QName(node).localname
            if kind == "sequenceFlow":
                assert len(edges[node.get("id")].findall("di:waypoint", NS)) >= 2, node.get("id")
            elif kind in FLOW_NODES or kind == "lane":
                assert node.get("id") in shapes, f"{node.get('id')} has no shape"
                if etree.QName(node.getparent()).localname in ("process", "lane"):
                    x, y, w, h = shapes[node.get("id")]
                    assert px <= x and x + w <= px + pw and py <= y and y + h <= py + ph, (
                        f"{node.get('id')} is outside its pool")


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_lanes_and_user_tasks_name_groups_of_the_brief(path):
    root = etree.parse(str(path)).getroot()
    for lane in root.iterfind(".//bpmn:lane", NS):
        assert slugify(lane.get("name") or "") in GROUPS, lane.get("name")
    for task in root.iterfind(".//bpmn:userTask", NS):
        groups = (task.get(f"{{{NS['camunda']}}}candidateGroups") or "").split(",")
        assert groups and all(g.strip() in GROUPS for g in groups), task.get("id")
