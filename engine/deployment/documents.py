"""Uploaded model files, parsed inertly (no DTDs, no entities, no network) before anything else.

SpiffWorkflow only ever sees the roots parsed here (and stored XML is re-read through here
too), so this module is the one gate against XXE, entity bombs and remote references.
"""

from __future__ import annotations

import hashlib
import re
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
XINCLUDE_NAMESPACES = ("http://www.w3.org/2001/XInclude", "http://www.w3.org/2003/XInclude")
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

#: a prolog holding a DOCTYPE, found in the text so that the reason is named even behind long
#: comments (a declaration this pattern misses is still refused once parsed)
_DOCTYPE = re.compile(r"\A\ufeff?(?:\s|<\?.*?\?>|<!--.*?-->)*+<!DOCTYPE", re.DOTALL)
#: a schema location that is a bare file name (``BPMN20.xsd``), which nothing ever loads
_LOCAL_SCHEMA = re.compile(r"[\w.-]+")


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
    """Parse one file; return the document or the problems that make it unusable.

    Problems name the reason only: nothing of the file's content is echoed back.
    """
    name = Path(file).name
    reason = _refused_before_parsing(content)
    if reason is None:
        try:
            tree = etree.fromstring(content, safe_parser()).getroottree()
        except etree.XMLSyntaxError as exc:
            reason = f"not well-formed XML (line {exc.lineno}): {exc.msg.split(',')[0]}"
        else:
            reason = _refused_after_parsing(tree)
    if reason is not None:
        return None, [Problem(name, None, None, reason)]
    return Document(name, content, tree.getroot()), []


def _refused_before_parsing(content: bytes) -> str | None:
    if len(content) > MAX_FILE_BYTES:
        return f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return "the file is not UTF-8 encoded"
    if _DOCTYPE.match(text):
        return "DOCTYPE declarations are not allowed"
    return None


def _refused_after_parsing(tree: etree._ElementTree) -> str | None:
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        return "DOCTYPE declarations are not allowed"
    root = tree.getroot()
    qname = etree.QName(root)
    if qname.localname != "definitions" or qname.namespace not in (BPMN_NS, *DMN_NAMESPACES):
        return "not a BPMN 2.0 or DMN file (root must be 'definitions')"
    for node in root.iter("{*}*"):
        if etree.QName(node).namespace in XINCLUDE_NAMESPACES:
            return "XInclude elements are not allowed"
        if not all(_LOCAL_SCHEMA.fullmatch(location) for location in _schema_locations(node)):
            return ("external schema references are not allowed (xsi:schemaLocation may only "
                    "name a local file such as BPMN20.xsd)")
    return None


def _schema_locations(node: etree._Element) -> list[str]:
    """The locations of ``xsi:schemaLocation`` (namespace/location pairs) and its sibling."""
    pairs = (node.get(f"{{{XSI_NS}}}schemaLocation") or "").split()
    return pairs[1::2] + (node.get(f"{{{XSI_NS}}}noNamespaceSchemaLocation") or "").split()
