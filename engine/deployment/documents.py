"""Uploaded model files, parsed inertly (no DTDs, no entities, no network) before anything else."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from engine.errors import Problem

MAX_FILE_BYTES = 5 * 1024 * 1024

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
)
NSMAP = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}


@dataclass
class Document:
    """One BPMN or DMN file of a deployment."""

    file: str
    content: bytes
    root: etree._Element = field(repr=False)

    @property
    def kind(self) -> str:
        return "dmn" if etree.QName(self.root).namespace in DMN_NAMESPACES else "bpmn"

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")

    def xpath(self, path: str, node: etree._Element | None = None) -> list:
        return (self.root if node is None else node).xpath(path, namespaces=NSMAP)

    def executable_processes(self) -> list[etree._Element]:
        if self.kind != "bpmn":
            return []
        return self.xpath("./bpmn:process[@isExecutable='true']")

    def decisions(self) -> list[etree._Element]:
        if self.kind != "dmn":
            return []
        ns = etree.QName(self.root).namespace
        return self.root.findall(f"{{{ns}}}decision")


def safe_parser() -> etree.XMLParser:
    """No entities, no DTD, no network: stored XML is parsed as strictly as uploads."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=False)


def parse_document(file: str, content: bytes) -> tuple[Document | None, list[Problem]]:
    """Parse one file; return the document or the problems that make it unusable."""
    name = Path(file).name
    if len(content) > MAX_FILE_BYTES:
        return None, [Problem(name, None, None,
                              f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")]
    if b"<!DOCTYPE" in content[:4096].upper():
        return None, [Problem(name, None, None, "DOCTYPE declarations are not allowed")]
    try:
        tree = etree.fromstring(content, safe_parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        return None, [Problem(name, None, None, f"not well-formed XML (line {exc.lineno}): "
                              f"{exc.msg.split(',')[0]}")]
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        return None, [Problem(name, None, None, "DOCTYPE declarations are not allowed")]
    root = tree.getroot()
    qname = etree.QName(root)
    if qname.localname != "definitions" or qname.namespace not in (BPMN_NS, *DMN_NAMESPACES):
        return None, [Problem(name, None, None,
                              "not a BPMN 2.0 or DMN file (root must be 'definitions')")]
    return Document(name, content, root), []
