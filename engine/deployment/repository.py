"""Reading deployed definitions and resolving what a version calls."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db.models import Definition
from engine.deployment.bundle import SpecBundle, SpecCache, build_bundle
from engine.deployment.checks import called_keys
from engine.deployment.documents import Document, parse_document
from engine.errors import NotFound


def latest(session: Session, key: str, kind: str = "bpmn") -> Definition | None:
    return session.scalars(
        select(Definition).where(Definition.kind == kind, Definition.key == key)
        .order_by(Definition.version.desc()).limit(1)
    ).first()


def latest_or_404(session: Session, key: str) -> Definition:
    definition = latest(session, key)
    if definition is None:
        raise NotFound(f"no process with key '{key}' is deployed")
    return definition


def document_of(definition: Definition) -> Document:
    doc, problems = parse_document(definition.file_name, definition.xml.encode("utf-8"))
    if doc is None:  # stored XML was checked at deploy; this is corruption
        raise RuntimeError(f"stored definition {definition.id} is unreadable: {problems}")
    return doc


def provided_keys(docs: list[Document]) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    for doc in docs:
        keys.update(("bpmn", p.get("id")) for p in doc.executable_processes())
        keys.update(("dmn", d.get("id")) for d in doc.decisions())
    return keys


def resolve_calls(session: Session, docs: list[Document]) -> tuple[list[Definition], list[str]]:
    """Latest deployed versions of everything ``docs`` call that they do not define.

    Returns the definitions found and the ``kind:key`` references found nowhere.
    """
    found: list[Definition] = []
    missing: list[str] = []
    pending = list(docs)
    provided = provided_keys(docs)
    while pending:
        wanted = sorted(set(called_keys(pending)) - provided)
        pending = []
        for kind, key in wanted:
            provided.add((kind, key))
            definition = latest(session, key, kind)
            if definition is None:
                missing.append(f"{kind}:{key}")
                continue
            found.append(definition)
            doc = document_of(definition)
            provided |= provided_keys([doc])
            pending.append(doc)
    return found, missing


def load_bundle(session: Session, cache: SpecCache, definition_id: int,
                pinned: list[int]) -> SpecBundle:
    """The parsed spec of a version with its pinned callees, from the cache or parsed now."""
    ids = (definition_id, *pinned)
    bundle = cache.get(ids)
    if bundle is not None:
        return bundle
    rows = {d.id: d for d in session.scalars(select(Definition).where(Definition.id.in_(ids)))}
    root = rows[definition_id]
    docs = [document_of(rows[i]) for i in ids if i in rows]
    return cache.put(ids, build_bundle(root.key, docs))
