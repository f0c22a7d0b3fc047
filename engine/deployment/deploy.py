"""Deploying BPMN and DMN files: check everything, then store one version per changed key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from sqlalchemy.orm import Session

from engine import audit
from engine.db.models import Definition
from engine.deployment.bundle import new_parser
from engine.deployment.checks import called_keys, check_document
from engine.deployment.documents import Document, parse_document
from engine.deployment.repository import document_of, latest, provided_keys, resolve_calls
from engine.errors import DeploymentFailed, Problem


@dataclass(frozen=True)
class Deployed:
    kind: str
    key: str
    version: int
    name: str | None
    unchanged: bool
    definition_id: int


def deploy(session: Session, sources: Iterable[tuple[str, bytes]], *, actor: str | None,
           now: datetime, functions: Iterable[str]) -> list[Deployed]:
    """Check and store ``(file name, content)`` pairs; raise :class:`DeploymentFailed`."""
    docs, problems = _parse_all(sources)
    functions = frozenset(functions)
    for doc in docs:
        problems += check_document(doc, functions)
    problems += _check_keys(docs)
    if not problems:
        problems += _check_with_spiff(session, docs)
    if problems:
        raise DeploymentFailed(problems)
    return [_store(session, doc, element, actor, now) for doc in docs
            for element in (*doc.executable_processes(), *doc.decisions())]


def _parse_all(sources: Iterable[tuple[str, bytes]]) -> tuple[list[Document], list[Problem]]:
    docs: list[Document] = []
    problems: list[Problem] = []
    for file, content in sources:
        doc, found = parse_document(file, content)
        problems += found
        if doc is not None:
            docs.append(doc)
    if not docs and not problems:
        problems.append(Problem("-", None, None, "no files were given"))
    return docs, problems


def _check_keys(docs: list[Document]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[tuple[str, str], str] = {}
    for doc in docs:
        elements = (*doc.executable_processes(), *doc.decisions())
        if doc.kind == "bpmn" and not elements:
            problems.append(Problem(doc.file, None, None,
                                    "no executable process (isExecutable=\"true\") in the file"))
        for element in elements:
            key = (doc.kind, element.get("id"))
            if key in seen:
                problems.append(Problem(doc.file, element.get("id"), element.get("name"),
                                        f"also defined in {seen[key]}"))
            seen[key] = doc.file
    return problems


def _check_with_spiff(session: Session, docs: list[Document]) -> list[Problem]:
    """Let SpiffWorkflow parse every process with what it calls; report its refusals."""
    called, missing = resolve_calls(session, docs)
    if missing:
        return [_missing_callee(docs, ref) for ref in missing]
    problems: list[Problem] = []
    all_docs = docs + [document_of(d) for d in called]
    try:
        parser = new_parser(all_docs)
    except ValidationException as exc:
        return [_from_spiff(exc, docs[0].file)]
    for doc in docs:
        for process in doc.executable_processes():
            try:
                parser.get_spec(process.get("id"))
                parser.get_subprocess_specs(process.get("id"))
            except ValidationException as exc:
                problems.append(_from_spiff(exc, doc.file))
    return problems


def _missing_callee(docs: list[Document], ref: str) -> Problem:
    kind, key = ref.split(":", 1)
    what = "process" if kind == "bpmn" else "decision"
    for doc in docs:
        path = (f".//bpmn:callActivity[@calledElement='{key}']" if kind == "bpmn"
                else f".//bpmn:businessRuleTask[@camunda:decisionRef='{key}']")
        for element in doc.xpath(path):
            return Problem(doc.file, element.get("id"), element.get("name"),
                           f"calls the {what} '{key}', which is neither in this deployment "
                           "nor deployed")
    return Problem(docs[0].file, None, None, f"the {what} '{key}' is not deployed")


def _from_spiff(exc: ValidationException, default_file: str) -> Problem:
    message = str(exc).split("\n")[0]
    return Problem(exc.file_name or default_file, exc.id or None, exc.name or None, message)


def _store(session: Session, doc: Document, element, actor: str | None,
           now: datetime) -> Deployed:
    key, name = element.get("id"), element.get("name")
    current = latest(session, key, doc.kind)
    if current is not None and current.content_hash == doc.content_hash:
        return Deployed(doc.kind, key, current.version, current.name, True, current.id)
    calls = sorted(f"{kind}:{called}" for kind, called
                   in set(called_keys([doc])) - provided_keys([doc]))
    definition = Definition(
        kind=doc.kind, key=key, version=(current.version + 1) if current else 1, name=name,
        file_name=doc.file, xml=doc.text, content_hash=doc.content_hash, calls=calls,
        deployed_at=now, deployed_by=actor,
    )
    session.add(definition)
    session.flush()
    audit.record(session, now=now, actor=actor, action="definition.deployed",
                 data={"kind": doc.kind, "key": key, "version": definition.version,
                       "file": doc.file, "content_hash": doc.content_hash})
    return Deployed(doc.kind, key, definition.version, name, False, definition.id)
