"""Our own checks of a BPMN model, run before SpiffWorkflow parses it.

Each check names the file and the BPMN element at fault, so a process owner can find it
in Camunda Modeler. Expressions are checked statically by the sandbox here, so that a
condition reaching for ``__class__`` is a deploy problem, not a run-time surprise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from engine import forms
from engine.calendar.cycles import check_cycle, is_cron
from engine.deployment.documents import BPMN_NS, CAMUNDA_NS, Document
from engine.dialect.messages import payload_form
from engine.dialect.parser import read_form
from engine.dialect.specs import FOUR_EYES, split_list
from engine.errors import Problem
from engine.expressions import ExpressionError, check
from engine.expressions.literals import is_iso8601
from engine.expressions.scripts import SCRIPT_FORMATS, parse_script

#: Task names SpiffWorkflow uses itself; a BPMN element with such an id breaks the process.
RESERVED_IDS = frozenset({"Start", "End", "Root", "StartEventSplit", "StartEventJoin"})
RESERVED_SUFFIXES = (".BoundaryEventSplit", ".BoundaryEventJoin", " [child]")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,254}$")
_LOOKS_ISO = re.compile(r"^(R\d*/)?P[0-9T]|^\d{4}-\d{2}")
_GATEWAYS = ("exclusiveGateway", "inclusiveGateway")
_DELEGATES = ("class", "expression", "delegateExpression")


def _b(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def _c(attribute: str) -> str:
    return f"{{{CAMUNDA_NS}}}{attribute}"


@lru_cache(maxsize=1)
def _xsd() -> BpmnValidator:
    return BpmnValidator()


class _Checker:
    def __init__(self, doc: Document, functions: frozenset[str]) -> None:
        self.doc = doc
        self.functions = functions
        self.problems: list[Problem] = []

    def add(self, node: etree._Element | None, message: str) -> None:
        element_id = node.get("id") if node is not None else None
        name = node.get("name") if node is not None else None
        self.problems.append(Problem(self.doc.file, element_id, name, message))

    def expression(self, node: etree._Element, text: str | None, what: str) -> None:
        if text is None or not text.strip():
            self.add(node, f"{what} is empty")
            return
        try:
            check(text, self.functions)
        except ExpressionError as exc:
            self.add(node, f"{what} '{text.strip()}': {exc.message}")

    def run(self) -> list[Problem]:
        try:
            _xsd().validate(self.doc.root, self.doc.file)
        except ValidationException as exc:
            line = f" (line {exc.line_number})" if exc.line_number else ""
            detail = str(exc).strip().rstrip(". ")
            self.add(None, f"does not conform to the BPMN 2.0 schema{line}: {detail}")
            return self.problems
        self.messages = {m.get("id"): m.get("name") for m in self.doc.xpath(".//bpmn:message")}
        for process in self.doc.executable_processes():
            self.process(process)
        return self.problems

    def process(self, process: etree._Element) -> None:
        key = process.get("id") or ""
        if not _KEY.match(key):
            self.add(process, "the process id must start with a letter or '_' and hold only "
                     "letters, digits, '_', '-' or '.'")
        lanes = {ref.text for ref in self.doc.xpath(".//bpmn:lane/bpmn:flowNodeRef", process)}
        self.user_tasks = {t.get("id") for t in self.doc.xpath(".//bpmn:userTask", process)}
        for node in process.iter():
            if not isinstance(node.tag, str):
                continue
            node_id = node.get("id")
            if node_id and (node_id in RESERVED_IDS or node_id.endswith(RESERVED_SUFFIXES)):
                self.add(node, f"the id '{node_id}' is reserved by the engine; rename the element")
            local = etree.QName(node).localname if etree.QName(node).namespace == BPMN_NS else None
            handler = getattr(self, f"check_{local}", None) if local else None
            if handler is not None:
                handler(node, lanes)
        for flow in self.doc.xpath(".//bpmn:sequenceFlow", process):
            self.sequence_flow(process, flow)

    # -- element checks ------------------------------------------------------------------

    def check_startEvent(self, node: etree._Element, _lanes: set[str]) -> None:
        self.form(node)

    def check_userTask(self, node: etree._Element, lanes: set[str]) -> None:
        self.form(node)
        has_candidates = any(split_list(node.get(_c(a)))
                             for a in ("candidateGroups", "candidateUsers", "assignee"))
        if not has_candidates and node.get("id") not in lanes:
            self.add(node, "the user task names no candidateGroups, candidateUsers or assignee "
                     "and lies in no lane: nobody could work on it")
        for attribute in ("candidateGroups", "candidateUsers"):
            if "${" in (node.get(_c(attribute)) or ""):
                self.add(node, f"camunda:{attribute} must list names; expressions are not "
                         "supported there")
        for attribute in ("dueDate", "followUpDate"):
            value = node.get(_c(attribute))
            if value:
                self.date_value(node, value, f"camunda:{attribute}")
        priority = node.get(_c("priority"))
        if priority and not priority.strip().lstrip("-").isdigit():
            self.expression(node, priority, "camunda:priority")
        self.four_eyes(node)

    def check_serviceTask(self, node: etree._Element, _lanes: set[str]) -> None:
        delegates = [a for a in _DELEGATES if node.get(_c(a))]
        if delegates or node.xpath("./bpmn:extensionElements/camunda:connector",
                                   namespaces={"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}):
            self.add(node, "Java delegates and connectors are not supported; use "
                     "camunda:type=\"external\" with a camunda:topic")
        elif node.get(_c("type")) != "external":
            self.add(node, "a service task needs camunda:type=\"external\" and a camunda:topic")
        elif not (node.get(_c("topic")) or "").strip():
            self.add(node, "the service task has no camunda:topic")

    def check_scriptTask(self, node: etree._Element, _lanes: set[str]) -> None:
        script_format = (node.get("scriptFormat") or "").lower()
        if script_format not in SCRIPT_FORMATS:
            self.add(node, f"script format '{script_format}' is not supported; scripts run in the "
                     "expression sandbox (format 'python': one 'name = expression' per line)")
            return
        script = node.find(_b("script"))
        try:
            parse_script(script.text if script is not None else None, self.functions)
        except ExpressionError as exc:
            self.add(node, f"script refused: {exc.message}")

    def check_timerEventDefinition(self, node: etree._Element, _lanes: set[str]) -> None:
        event = node.getparent()
        values = [child for child in node if isinstance(child.tag, str)
                  and etree.QName(child).localname in ("timeDate", "timeDuration", "timeCycle")]
        if len(values) != 1:
            self.add(event, "a timer needs exactly one of timeDate, timeDuration or timeCycle")
            return
        kind = etree.QName(values[0]).localname
        text = (values[0].text or "").strip()
        if kind == "timeCycle" and (is_cron(text) or is_iso8601(text)):
            try:
                check_cycle(text)
            except ValueError as exc:
                self.add(event, f"timer timeCycle: {exc}")
            return
        self.date_value(event, text, f"timer {kind}")

    def check_messageEventDefinition(self, node: etree._Element, _lanes: set[str]) -> None:
        event = node.getparent()
        ref = node.get("messageRef")
        if not ref or not self.messages.get(ref):
            self.add(event, "the message event must reference a bpmn:message that has a name")
        payload = node.get(_c("expression"))
        if payload:
            self.expression(event, payload, "the message payload expression")
        properties = {p.get("name"): p.get("value") for p in event.xpath(
            "./bpmn:extensionElements/camunda:properties/camunda:property",
            namespaces={"bpmn": BPMN_NS, "camunda": CAMUNDA_NS})}
        try:
            payload_form(properties)
        except ValueError as exc:
            self.add(event, f"the message's payload declaration: {exc}")

    def check_subProcess(self, node: etree._Element, _lanes: set[str]) -> None:
        if node.get("triggeredByEvent") == "true":
            self.add(node, "event sub-processes are not supported yet; use boundary events "
                     "on the activities that can be interrupted")

    def check_callActivity(self, node: etree._Element, _lanes: set[str]) -> None:
        if not (node.get("calledElement") or "").strip():
            self.add(node, "the call activity names no calledElement")

    def check_conditionExpression(self, node: etree._Element, _lanes: set[str]) -> None:
        self.expression(node.getparent(), node.text, "the condition")

    def check_completionCondition(self, node: etree._Element, _lanes: set[str]) -> None:
        self.expression(node.getparent().getparent(), node.text, "the completion condition")

    def check_loopCardinality(self, node: etree._Element, _lanes: set[str]) -> None:
        self.expression(node.getparent().getparent(), node.text, "the loop cardinality")

    def check_condition(self, node: etree._Element, _lanes: set[str]) -> None:
        parent = node.getparent()
        if etree.QName(parent).localname == "conditionalEventDefinition":
            self.expression(parent.getparent(), node.text, "the event condition")

    def four_eyes(self, node: etree._Element) -> None:
        """``fourEyesWith`` must name user tasks of this process (see authz.require_four_eyes)."""
        for prop in node.xpath("./bpmn:extensionElements/camunda:properties/camunda:property",
                               namespaces={"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}):
            if prop.get("name") != FOUR_EYES:
                continue
            named = split_list(prop.get("value"))
            if not named:
                self.add(node, f"the property {FOUR_EYES} names no user task")
            for element_id in named:
                if element_id not in self.user_tasks:
                    self.add(node, f"the property {FOUR_EYES} names '{element_id}', which is not "
                             "a user task of this process")

    # -- shared --------------------------------------------------------------------------

    def form(self, node: etree._Element) -> None:
        for _field_id, message in forms.problems(read_form(node)):
            self.add(node, message)

    def date_value(self, node: etree._Element, value: str, what: str) -> None:
        text = value.strip()
        if is_iso8601(text):
            return
        if _LOOKS_ISO.match(text):
            self.add(node, f"{what} '{text}' is not a valid ISO 8601 date, duration or "
                     "repeating interval")
            return
        self.expression(node, text, what)

    def sequence_flow(self, process: etree._Element, flow: etree._Element) -> None:
        source = process.xpath(f".//*[@id='{flow.get('sourceRef')}']")
        if not source:
            return
        gateway = source[0]
        if etree.QName(gateway).localname not in _GATEWAYS:
            return
        outgoing = gateway.getparent().xpath(
            f"./bpmn:sequenceFlow[@sourceRef='{gateway.get('id')}']", namespaces={"bpmn": BPMN_NS})
        if len(outgoing) < 2 or flow.get("id") == gateway.get("default"):
            return
        if flow.find(_b("conditionExpression")) is None:
            self.add(flow, f"the flow leaves gateway '{gateway.get('id')}' with no condition and "
                     "is not its default flow")


def check_document(doc: Document, functions: Iterable[str]) -> list[Problem]:
    """All problems of one BPMN or DMN document that can be found without SpiffWorkflow."""
    if doc.kind == "dmn":
        return _check_decisions(doc, frozenset(functions))
    return _Checker(doc, frozenset(functions)).run()


def _check_decisions(doc: Document, functions: frozenset[str]) -> list[Problem]:
    """Decision-table cells are expressions too; unary tests (``> 50000``) get a subject."""
    problems: list[Problem] = []
    ns = {"dmn": etree.QName(doc.root).namespace}
    for decision in doc.decisions():
        cells = [(cell, False) for cell in decision.xpath(
            ".//dmn:inputExpression/dmn:text | .//dmn:outputEntry/dmn:text", namespaces=ns)]
        cells += [(cell, True) for cell in decision.xpath(".//dmn:inputEntry/dmn:text",
                                                          namespaces=ns)]
        for cell, unary in cells:
            text = (cell.text or "").strip()
            if not text or text == "-":
                continue
            candidates = [text, f"value {text}", text.replace("?", "value")] if unary else [text]
            errors = []
            for candidate in candidates:
                try:
                    check(candidate, functions)
                    break
                except ExpressionError as exc:
                    errors.append(exc.message)
            else:
                owner = cell.getparent()
                problems.append(Problem(doc.file, owner.get("id"), decision.get("name"),
                                        f"the decision cell '{text}': {errors[0]}"))
    return problems


def called_keys(docs: Iterable[Document]) -> Iterator[tuple[str, str]]:
    """``("bpmn", key)`` per call activity and ``("dmn", id)`` per business rule task."""
    for doc in docs:
        for process in doc.executable_processes():
            for call in doc.xpath(".//bpmn:callActivity", process):
                if call.get("calledElement"):
                    yield "bpmn", call.get("calledElement")
            for rule in doc.xpath(".//bpmn:businessRuleTask", process):
                if rule.get(_c("decisionRef")):
                    yield "dmn", rule.get(_c("decisionRef"))
