"""Parsed specs of deployed versions, parsed once and cached in memory.

A bundle is what one instance runs: the process spec of its definition version plus the
specs of the processes it calls and the decisions it evaluates, pinned when it started.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

from engine.deployment.documents import Document
from engine.dialect import BiflowParser, ExternalServiceTask
from engine.dialect.specs import ProcessMeta
from engine.dialect.timers import StartTimer
from engine.forms import Form


@dataclass
class SpecBundle:
    key: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    #: sequence flow ids by (process or sub-process id, source element, target element)
    flows: dict[tuple[str, str, str], str] = field(default_factory=dict)
    _forms: dict[str, Form] = field(default_factory=dict, repr=False)

    @property
    def meta(self) -> ProcessMeta:
        return getattr(self.spec, "meta", None) or ProcessMeta()

    @cached_property
    def _task_specs(self) -> list:
        specs = [self.spec, *self.subprocess_specs.values()]
        return [task_spec for spec in specs for task_spec in spec.task_specs.values()]

    @cached_property
    def has_service_tasks(self) -> bool:
        """Whether jobs can exist: without, commands skip looking for them."""
        return any(isinstance(t, ExternalServiceTask) for t in self._task_specs)

    @cached_property
    def has_waits(self) -> bool:
        """Whether the process can wait for a message or a timer (past its start)."""
        return any(isinstance(t, CatchingEvent) and not isinstance(t, StartEvent)
                   for t in self._task_specs)

    @cached_property
    def start_timers(self) -> dict[str, StartTimer]:
        """The timer start events of the process, by element id."""
        return {t.bpmn_id: t.event_definition for t in self.spec.task_specs.values()
                if isinstance(t, StartEvent) and isinstance(t.event_definition, StartTimer)}

    @cached_property
    def starts_by_hand(self) -> bool:
        """Whether the process has a plain start event (so a person or the API may start it)."""
        return any(isinstance(t, StartEvent) and isinstance(t.event_definition, NoneEventDefinition)
                   for t in self.spec.task_specs.values())

    @cached_property
    def start_form(self) -> Form:
        for task_spec in self.spec.task_specs.values():
            form = getattr(task_spec, "form", None)
            if isinstance(task_spec, StartEvent) and form is not None and form.fields:
                return self.form_of(task_spec)
        return Form()

    def form_of(self, task_spec) -> Form:
        """The validating form of a task spec (cached; specs are shared and immutable)."""
        cache_key = f"{task_spec._wf_spec.name}/{task_spec.name}"
        form = self._forms.get(cache_key)
        if form is None:
            form = Form.from_spiff(getattr(task_spec, "form", None))
            self._forms[cache_key] = form
        return form


def new_parser(docs: Iterable[Document]) -> BiflowParser:
    """A parser loaded with the documents (each content once), BPMN and DMN alike."""
    parser = BiflowParser()
    seen: set[str] = set()
    for doc in docs:
        if doc.content_hash in seen:
            continue
        seen.add(doc.content_hash)
        if doc.kind == "dmn":
            parser.add_dmn_xml(doc.root, filename=doc.file)
        else:
            parser.add_bpmn_xml(doc.root, filename=doc.file)
    return parser


def build_bundle(key: str, docs: Iterable[Document]) -> SpecBundle:
    docs = list(docs)
    parser = new_parser(docs)
    spec = parser.get_spec(key)
    return SpecBundle(key, spec, parser.get_subprocess_specs(key), sequence_flows(docs))


def sequence_flows(docs: Iterable[Document]) -> dict[tuple[str, str, str], str]:
    flows: dict[tuple[str, str, str], str] = {}
    for doc in docs:
        if doc.kind != "bpmn":
            continue
        for flow in doc.xpath("//bpmn:sequenceFlow"):
            container = flow.getparent().get("id")
            flows[(container, flow.get("sourceRef"), flow.get("targetRef"))] = flow.get("id")
    return flows


class SpecCache:
    """Least-recently-used cache of bundles, keyed by the definition ids they are built from."""

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._bundles: OrderedDict[tuple[int, ...], SpecBundle] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, ids: tuple[int, ...]) -> SpecBundle | None:
        with self._lock:
            bundle = self._bundles.get(ids)
            if bundle is not None:
                self._bundles.move_to_end(ids)
            return bundle

    def put(self, ids: tuple[int, ...], bundle: SpecBundle) -> SpecBundle:
        with self._lock:
            existing = self._bundles.get(ids)
            if existing is not None:
                return existing
            self._bundles[ids] = bundle
            while len(self._bundles) > self.maxsize:
                self._bundles.popitem(last=False)
            return bundle

    def clear(self) -> None:
        with self._lock:
            self._bundles.clear()
