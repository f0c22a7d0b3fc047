"""What the benchmarks share: the ten-step model, fresh databases, machine facts.

Named so as not to shadow the ``engine`` or ``api`` packages (the benchmark scripts do).
"""

from __future__ import annotations

import os
import platform
import re
from itertools import pairwise
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"


def process_xml(key: str, steps: int, group: str) -> bytes:
    """startEvent -> ``step1`` .. ``step<steps>`` (user tasks of ``group``, one optional long
    field each) -> endEvent."""
    nodes = ["begin", *(f"step{i}" for i in range(1, steps + 1)), "finish"]
    body = ['    <bpmn:startEvent id="begin" name="Begin" />']
    for i in range(1, steps + 1):
        body.append(
            f'    <bpmn:userTask id="step{i}" name="Step {i}" camunda:candidateGroups="{group}">\n'
            "      <bpmn:extensionElements>\n"
            "        <camunda:formData>\n"
            f'          <camunda:formField id="n_{i}" label="N {i}" type="long" />\n'
            "        </camunda:formData>\n"
            "      </bpmn:extensionElements>\n"
            "    </bpmn:userTask>")
    body.append('    <bpmn:endEvent id="finish" name="Finish" />')
    for i, (source, target) in enumerate(pairwise(nodes), start=1):
        body.append(f'    <bpmn:sequenceFlow id="flow{i}" sourceRef="{source}" '
                    f'targetRef="{target}" />')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}" xmlns:camunda="{CAMUNDA_NS}"\n'
        f'                  id="{key}_defs" targetNamespace="http://biflow.brussels/bench">\n'
        f'  <bpmn:process id="{key}" name="Ten steps" isExecutable="true">\n'
        + "\n".join(body) + "\n"
        "  </bpmn:process>\n"
        "</bpmn:definitions>\n"
    ).encode("utf-8")


def fresh_sqlite(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def pg_target(default_url: str, default_database: str) -> URL:
    """``BIFLOW_BENCH_PG_URL`` or the default; never a database named ``postgres``."""
    url = make_url(os.environ.get("BIFLOW_BENCH_PG_URL", default_url))
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if not url.database or url.database == "postgres":
        url = url.set(database=default_database)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", url.database or ""):
        raise SystemExit(f"refusing to drop a database named {url.database!r}")
    return url


def fresh_postgres(url: URL) -> tuple[str, str]:
    """Drop and create the database; return its URL and the server version."""
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            version = str(connection.execute(text("SHOW server_version")).scalar())
            connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    finally:
        admin.dispose()
    return url.render_as_string(hide_password=False), version


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int | None:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()
