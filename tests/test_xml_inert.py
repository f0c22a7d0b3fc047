"""Uploaded XML is inert: entities, DTDs, remote schemas and XInclude are refused, quickly,
by name, with nothing read, fetched or echoed (the engine and the HTTP API alike)."""

from __future__ import annotations

import http.server
import io
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import BROKEN, MODELS
from lxml import etree
from sqlalchemy import select, update

from engine.db.models import Definition
from engine.deployment.bundle import new_parser
from engine.deployment.documents import MAX_FILE_BYTES, parse_document, safe_parser
from engine.deployment.repository import document_of
from engine.errors import DeploymentFailed

SECRET = "BIFLOW-SECRET-7f3a"  # what the attacker's file would want to read
EXPANDED = "EXPANDED-ENTITY-TEXT"  # what an entity would expand to
BPMN = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x"'
PROCESS = '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s" /></bpmn:process>'


class Listener:
    """A local HTTP server that records every request: nothing may reach it."""

    def __init__(self) -> None:
        requests: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(f'<!ENTITY leak "{SECRET}">'.encode())

            def log_message(self, *_args) -> None:
                pass

        self.requests = requests
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def secret(tmp_path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


@dataclass(frozen=True)
class Payload:
    file: str
    reason: str
    build: Callable[[Path, str], bytes]  # (secret file, listener URL) -> content


def _bpmn(prolog: str, process: str = PROCESS, declaration: str = '<?xml version="1.0"?>'
          ) -> bytes:
    return f"{declaration}{prolog}<bpmn:definitions {BPMN}>{process}</bpmn:definitions>".encode()


def _named(name: str) -> str:
    return f'<bpmn:process id="p" name="{name}" isExecutable="true">' \
           '<bpmn:startEvent id="s" /></bpmn:process>'


def _documented(text: str) -> str:
    return f'<bpmn:process id="p" isExecutable="true"><bpmn:documentation>{text}' \
           '</bpmn:documentation><bpmn:startEvent id="s" /></bpmn:process>'


def _quadratic(_secret: Path, _url: str) -> bytes:
    """One 100 kB entity referenced 40,000 times: 4 GB once expanded, 260 kB on the wire."""
    entity = EXPANDED + "A" * 100_000
    return _bpmn(f'<!DOCTYPE d [<!ENTITY a "{entity}">]>', _documented("&a;" * 40_000))


def _laughs(_secret: Path, _url: str) -> bytes:
    levels = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    return _bpmn(f'<!DOCTYPE d [<!ENTITY l0 "{EXPANDED}">{levels}]>', _named("&l9;"))


def _entity(target: str) -> str:
    return f'<!DOCTYPE d [<!ENTITY xxe SYSTEM "{target}">]>'


def _xxe(secret: Path, _url: str) -> bytes:
    return _bpmn(_entity(secret.as_uri()), _documented("&xxe;"))


DOCTYPE = "DOCTYPE declarations are not allowed"
SCHEMA = "external schema references are not allowed"
PAYLOADS = [
    Payload("xxe_file.bpmn", DOCTYPE, _xxe),
    Payload("xxe_url.bpmn", DOCTYPE, lambda _s, url: _bpmn(_entity(f"{url}/leak"),
                                                           _documented("&xxe;"))),
    Payload("xxe_parameter.bpmn", DOCTYPE, lambda _s, url: _bpmn(
        f'<!DOCTYPE d [<!ENTITY % remote SYSTEM "{url}/leak.dtd"> %remote;]>', _named("&leak;"))),
    Payload("xxe_behind_comments.bpmn", DOCTYPE, lambda s, _u: _bpmn(
        "<!--" + "x" * 10_000 + "-->" + _entity(s.as_uri()), _documented("&xxe;"))),
    Payload("dtd_system.bpmn", DOCTYPE, lambda _s, url: _bpmn(
        f'<!DOCTYPE bpmn:definitions SYSTEM "{url}/bpmn.dtd">')),
    Payload("billion_laughs.bpmn", DOCTYPE, _laughs),
    Payload("quadratic.bpmn", DOCTYPE, _quadratic),
    Payload("xxe_utf16.bpmn", "not UTF-8 encoded", lambda s, _u: _bpmn(
        _entity(s.as_uri()), _documented("&xxe;"), '<?xml version="1.0" encoding="UTF-16"?>')
        .decode().encode("utf-16")),
    Payload("schema_location.bpmn", SCHEMA, lambda _s, url: _bpmn("", PROCESS).replace(
        b"<bpmn:definitions ", b'<bpmn:definitions xmlns:xsi="http://www.w3.org/2001/'
        b'XMLSchema-instance" xsi:schemaLocation="http://www.omg.org/spec/BPMN/20100524/MODEL '
        + f'{url}/BPMN20.xsd" '.encode())),
    Payload("no_namespace_schema.bpmn", SCHEMA, lambda s, _u: _bpmn("", _documented(
        '<x xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:noNamespaceSchemaLocation="{s.as_uri()}" />'))),
    Payload("xinclude.bpmn", "XInclude elements are not allowed", lambda s, _u: _bpmn("", (
        '<bpmn:process id="p" isExecutable="true"><bpmn:extensionElements>'
        f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{s.as_uri()}" '
        'parse="text" /></bpmn:extensionElements><bpmn:startEvent id="s" /></bpmn:process>'))),
    Payload("xxe.dmn", DOCTYPE, lambda s, _u: (
        f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "{s.as_uri()}">]>'
        '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" '
        'name="&xxe;" namespace="x"><decision id="route" name="Route" /></definitions>'
    ).encode()),
    Payload("oversized.bpmn", "larger than 5 MiB", lambda _s, _u: _bpmn(
        "", _documented("x" * MAX_FILE_BYTES))),
]
IDS = [p.file for p in PAYLOADS]


def _content(payload: Payload, secret: Path, listener: Listener) -> bytes:
    content = payload.build(secret, listener.url)
    assert payload.file == "oversized.bpmn" or len(content) < MAX_FILE_BYTES
    return content


def _assert_inert(text: str, listener: Listener, elapsed: float) -> None:
    assert SECRET not in text and EXPANDED not in text and "root:" not in text
    assert listener.requests == []
    assert elapsed < 1.0, f"took {elapsed:.2f} s"


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_the_engine_refuses_by_name(engine, payload, secret, listener):
    content = _content(payload, secret, listener)
    began = time.perf_counter()
    with pytest.raises(DeploymentFailed) as failure:
        engine.deploy([(payload.file, content)])
    elapsed = time.perf_counter() - began
    [problem] = failure.value.problems
    assert problem.file == payload.file and payload.reason in problem.message
    _assert_inert(str(failure.value.details) + str(failure.value), listener, elapsed)


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_the_api_refuses_by_name(client, payload, secret, listener):
    content = _content(payload, secret, listener)
    files = {"files": [(io.BytesIO(content), payload.file)]}
    began = time.perf_counter()
    response = client.post("/api/process-definitions", "olga", data=files,
                           content_type="multipart/form-data")
    elapsed = time.perf_counter() - began
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "deployment_failed"
    assert payload.reason in error["details"][0]["message"]
    _assert_inert(response.get_data(as_text=True), listener, elapsed)


def test_a_raw_xml_body_is_refused_alike(client, secret, listener):
    response = client.post("/api/process-definitions?filename=x.bpmn", "olga",
                           data=_xxe(secret, listener.url),
                           content_type="application/xml")
    assert response.status_code == 422
    assert DOCTYPE in response.get_json()["error"]["details"][0]["message"]
    _assert_inert(response.get_data(as_text=True), listener, 0)


@pytest.mark.parametrize(("file", "reason"), [
    ("xxe.bpmn", DOCTYPE), ("xxe.dmn", DOCTYPE), ("xxe_url.bpmn", DOCTYPE),
    ("billion_laughs.bpmn", DOCTYPE), ("xinclude.bpmn", "XInclude"),
    ("schema_location.bpmn", SCHEMA)])
def test_the_sample_attacks_are_refused(engine, file, reason):
    with pytest.raises(DeploymentFailed) as failure:
        engine.deploy_paths([BROKEN / file])
    assert reason in failure.value.problems[0].message
    assert "root:" not in str(failure.value.details)


def test_deeply_nested_xml_needs_no_dtd_and_is_refused(engine):
    """Without a DTD there is nothing to expand; depth is the parser's remaining limit."""
    began = time.perf_counter()
    _doc, problems = parse_document("deep.bpmn", _bpmn("", _documented("<a>" * 100_000)))
    assert "not well-formed XML" in problems[0].message
    assert time.perf_counter() - began < 1.0


def test_a_local_schema_location_is_harmless_and_accepted(engine):
    xml = (MODELS / "review.bpmn").read_bytes().replace(
        b"<bpmn:definitions ", b'<bpmn:definitions xmlns:xsi="http://www.w3.org/2001/'
        b'XMLSchema-instance" xsi:schemaLocation="http://www.omg.org/spec/BPMN/20100524/MODEL '
        b'BPMN20.xsd" ', 1)
    assert [d.key for d in engine.deploy([("review.bpmn", xml)])] == ["review"]


def test_spiffworkflow_is_handed_parsed_roots_and_never_parses_bytes(monkeypatch):
    docs = [parse_document(p.name, p.read_bytes())[0]
            for p in (MODELS / "review.bpmn", MODELS / "licence_route.dmn")]

    def refuse(*_args, **_kwargs):
        raise AssertionError("SpiffWorkflow parsed XML itself")

    for name in ("fromstring", "parse", "XML", "iterparse"):
        monkeypatch.setattr(etree, name, refuse)
    parser = new_parser(docs)
    assert parser.get_spec("review").name == "review"


def test_stored_xml_is_reread_through_the_same_gate(engine, secret, listener, deploy):
    """A definition row tampered with in the database does not leak either."""
    deploy("review.bpmn")
    tampered = _xxe(secret, listener.url).decode()
    with engine.db.engine.begin() as connection:
        connection.execute(update(Definition).values(xml=tampered))
    row = engine.read(lambda session: session.scalars(select(Definition)).one())
    with pytest.raises(RuntimeError) as failure:
        document_of(row)
    _assert_inert(str(failure.value), listener, 0)


def test_the_safe_parser_resolves_and_fetches_nothing(secret, listener):
    """``start_timers`` reads stored XML with it directly."""
    root = etree.fromstring(_xxe(secret, listener.url), safe_parser())
    assert SECRET not in etree.tostring(root).decode()
    etree.fromstring(_bpmn(f'<!DOCTYPE d SYSTEM "{listener.url}/x.dtd">'), safe_parser())
    assert listener.requests == []
