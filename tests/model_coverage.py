"""How much of each model in ``processes/`` the scenario tests took, from the audit trail.

Every command appends a ``path.taken`` event (the elements it completed, the sequence flows
between them). Scenario tests hand the events of their instances to :func:`record`, which
appends them to a file per test process; at the end of the run :func:`summarise` reads them
all (xdist workers included) and reports, per model, the share of flow nodes and sequence
flows taken. A full run of the suite fails when a model's flow nodes are not all taken.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lxml import etree

PROCESSES = Path(__file__).resolve().parents[1] / "processes"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
FLOW_NODES = ("task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
              "receiveTask", "manualTask", "callActivity", "subProcess", "startEvent",
              "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
              "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway")
ENV = "BIFLOW_COVERAGE_DIR"


@dataclass(frozen=True)
class ModelElements:
    flow_nodes: frozenset[str]
    flows: frozenset[str]
    end_events: frozenset[str]
    #: embedded sub-process ids: their elements count for this model
    subprocesses: frozenset[str]


@lru_cache
def models() -> dict[str, Path]:
    """Executable process id -> file, for every model in ``processes/``."""
    found = {}
    for path in sorted(PROCESSES.rglob("*.bpmn")):
        if "tests" in path.relative_to(PROCESSES).parts[:-1]:
            continue
        root = etree.parse(str(path)).getroot()
        for process in root.xpath("//bpmn:process[@isExecutable='true']", namespaces=NS):
            found[process.get("id")] = path
    return found


@lru_cache
def model_elements(key: str) -> ModelElements:
    root = etree.parse(str(models()[key])).getroot()
    [process] = root.xpath(f"//bpmn:process[@id='{key}']", namespaces=NS)
    nodes = [n for n in process.iter() if isinstance(n.tag, str)
             and etree.QName(n).localname in FLOW_NODES]
    return ModelElements(
        flow_nodes=frozenset(n.get("id") for n in nodes),
        flows=frozenset(f.get("id") for f in process.iter(f"{{{NS['bpmn']}}}sequenceFlow")),
        end_events=frozenset(n.get("id") for n in nodes
                             if etree.QName(n).localname == "endEvent"),
        subprocesses=frozenset(n.get("id") for n in nodes
                               if etree.QName(n).localname == "subProcess"))


def taken_by_model(paths: list[tuple[str, dict]]) -> dict[str, dict[str, set[str]]]:
    """``(process key, path.taken data)`` pairs -> per model key: elements and flows taken.

    Elements of a called process come as ``callee/element`` and count for the callee;
    those of an embedded sub-process as ``subprocess/element`` and count for the caller.
    """
    taken: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"nodes": set(),
                                                                 "flows": set()})
    for key, data in paths:
        for kind, ids in (("nodes", data.get("elements", [])), ("flows", data.get("flows", []))):
            for qualified in ids:
                owner, _, element = qualified.rpartition("/")
                model = owner if owner in models() else key
                taken[model][kind].add(element)
    return taken


def record(paths: list[tuple[str, dict]]) -> None:
    """Append what a test took to this process's file (no-op outside a coverage run)."""
    directory = os.environ.get(ENV)
    if not directory or not paths:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(Path(directory) / f"{worker}.jsonl", "a", encoding="utf-8") as out:
        for key, data in paths:
            out.write(json.dumps([key, data]) + "\n")


def summarise(directory: Path) -> tuple[list[str], list[str]]:
    """Report lines, and the models whose flow nodes were not all taken."""
    paths = []
    for file in sorted(directory.glob("*.jsonl")):
        paths += [tuple(json.loads(line)) for line in file.read_text().splitlines() if line]
    if not paths:
        return [], []
    taken = taken_by_model(paths)
    lines = [f"{'model':<28} {'flow nodes':>14} {'sequence flows':>16}  not taken"]
    short = []
    for key in sorted(models()):
        elements = model_elements(key)
        nodes = taken[key]["nodes"] & elements.flow_nodes
        flows = taken[key]["flows"] & elements.flows
        missing = sorted(elements.flow_nodes - nodes)
        shown = ", ".join(missing[:6]) + (f", ... (+{len(missing) - 6})" if len(missing) > 6
                                          else "")
        lines.append(f"{key:<28} {_share(nodes, elements.flow_nodes):>14} "
                     f"{_share(flows, elements.flows):>16}  {shown or '-'}")
        if missing:
            short.append(key)
    return lines, short


def _share(taken: set, total: frozenset) -> str:
    percent = 100 * len(taken) / len(total) if total else 100
    return f"{len(taken)}/{len(total)} {percent:3.0f}%"
