"""Throughput of the engine API against bare SpiffWorkflow, for a ten-step user-task process.

Run from the repository root::

    .venv/bin/python bench/engine.py [--instances N] [--sqlite-only]

For each backend (SQLite at ``/tmp/biflow-bench.db``, recreated; PostgreSQL in a database
``biflow_bench``, dropped and recreated) it starts N instances of a process with ten
sequential user tasks through :class:`engine.Engine` and completes every task, then prints
instances started per second and tasks completed per second. Next to them, measured in the
same run, stand the same steps on bare SpiffWorkflow in memory, with the engine's own parser,
state serializer and script engine but no database:

- start: create the workflow, run its engine steps, serialize it;
- complete: deserialize, set the task data, run the ready user task, run the engine steps,
  serialize.

The ratio columns are the engine's time per operation over the bare time per operation; the
target is at most 3x. Only the start and complete calls are timed: the inbox read that finds
each ready task is timed apart and reported on its own line.

PostgreSQL: ``BIFLOW_BENCH_PG_URL`` overrides the URL (default
``postgresql+psycopg://postgres@127.0.0.1:5432/biflow_bench``). The database it names is
dropped (``WITH (FORCE)``) and recreated through the ``postgres`` database; a URL naming
``postgres`` itself or no database means ``biflow_bench``. If the server cannot be reached,
the PostgreSQL row is skipped with a line saying so.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This file shares its name with the ``engine`` package: keep its folder off the import path
# (``python bench/engine.py`` and ``python -m cProfile bench/engine.py`` both put it first).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.append(str(HERE))  # last: for bench_support, after the real packages
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import bench_support  # noqa: E402
from bench_support import cpu_model, fresh_postgres, usable_cores  # noqa: E402
from lxml import etree  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy.engine import URL, make_url  # noqa: E402
from sqlalchemy.exc import SQLAlchemyError  # noqa: E402

from engine import Actor, Engine, queries  # noqa: E402
from engine.calendar.days import LegalCalendar  # noqa: E402
from engine.clock import Clock  # noqa: E402
from engine.deployment.bundle import SpecBundle  # noqa: E402
from engine.dialect import BiflowParser  # noqa: E402
from engine.expressions import Sandbox  # noqa: E402
from engine.expressions.functions import builtin_functions  # noqa: E402
from engine.expressions.spiff import SandboxedScriptEngine  # noqa: E402
from engine.runtime.state import WorkflowState  # noqa: E402

PROCESS_KEY = "ten_steps"
FILE_NAME = "ten_steps.bpmn"
STEPS = 10
TARGET_RATIO = 3.0
DEFAULT_INSTANCES = 200
DEFAULT_WARMUP = 5
SQLITE_PATH = Path("/tmp/biflow-bench.db")
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/biflow_bench"
PG_DATABASE = "biflow_bench"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ACTOR = Actor.of("bench", "bench")


# -- the process -------------------------------------------------------------------------

def process_xml(steps: int = STEPS) -> bytes:
    return bench_support.process_xml(PROCESS_KEY, steps, "bench")


def step_data(step: int) -> dict[str, int]:
    return {f"n_{step}": step}


# -- measurements ----------------------------------------------------------------------

@dataclass
class Timing:
    starts: int = 0
    start_seconds: float = 0.0
    completions: int = 0
    complete_seconds: float = 0.0
    reads: int = 0
    read_seconds: float = 0.0

    @property
    def starts_per_second(self) -> float:
        return self.starts / self.start_seconds

    @property
    def completions_per_second(self) -> float:
        return self.completions / self.complete_seconds

    @property
    def seconds_per_start(self) -> float:
        return self.start_seconds / self.starts

    @property
    def seconds_per_completion(self) -> float:
        return self.complete_seconds / self.completions


@contextmanager
def timed(add: Callable[[float], None]) -> Iterator[None]:
    began = time.perf_counter()
    try:
        yield
    finally:
        add(time.perf_counter() - began)


class Bare:
    """The same steps on SpiffWorkflow alone, in memory, with the engine's own parts."""

    def __init__(self, xml: bytes) -> None:
        parser = BiflowParser()
        parser.add_bpmn_xml(etree.fromstring(xml), filename=FILE_NAME)
        self.bundle = SpecBundle(PROCESS_KEY, parser.get_spec(PROCESS_KEY),
                                 parser.get_subprocess_specs(PROCESS_KEY))
        self.state = WorkflowState()
        functions = builtin_functions(Clock(), LegalCalendar())
        self.script_engine = SandboxedScriptEngine(Sandbox(functions))

    def run(self, instances: int) -> Timing:
        timing = Timing()
        for _ in range(instances):
            began = time.perf_counter()
            workflow = BpmnWorkflow(self.bundle.spec, self.bundle.subprocess_specs,
                                    script_engine=self.script_engine)
            workflow.do_engine_steps()
            stored = self.state.dumps(workflow)
            timing.start_seconds += time.perf_counter() - began
            timing.starts += 1
            for step in range(1, STEPS + 1):
                began = time.perf_counter()
                workflow = self.state.loads(stored, self.bundle, self.script_engine)
                task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
                task.set_data(**step_data(step))
                workflow.run_task_from_id(task.id)
                workflow.do_engine_steps()
                stored = self.state.dumps(workflow)
                timing.complete_seconds += time.perf_counter() - began
                timing.completions += 1
            if not self.state.loads(stored, self.bundle, self.script_engine).is_completed():
                raise RuntimeError("bare SpiffWorkflow did not complete the instance")
        return timing


def run_engine(engine: Engine, instances: int, label: str) -> Timing:
    """Start ``instances`` and complete their tasks one instance after the other."""
    timing = Timing()

    def add_start(seconds: float) -> None:
        timing.start_seconds += seconds

    def add_complete(seconds: float) -> None:
        timing.complete_seconds += seconds

    def add_read(seconds: float) -> None:
        timing.read_seconds += seconds

    for n in range(instances):
        with timed(add_start):
            instance = engine.start(PROCESS_KEY, actor=ACTOR, business_key=f"{label}-{n}",
                                    data={})
        timing.starts += 1
        for _ in range(STEPS):
            with timed(add_read):
                ready = engine.read(queries.ready_tasks_of, instance.id)
            timing.reads += 1
            if len(ready) != 1:
                raise RuntimeError(f"instance {instance.id}: {len(ready)} ready tasks, not 1")
            step = int(ready[0].element_id.removeprefix("step"))
            with timed(add_complete):
                engine.complete_task(ready[0].id, step_data(step), actor=ACTOR)
            timing.completions += 1
        state = engine.instance(instance.id).state
        if state != "completed":
            raise RuntimeError(f"instance {instance.id} is {state}, not completed")
    return timing


@dataclass
class Row:
    backend: str
    engine: Timing
    bare: Timing


def measure(backend: str, url: str, xml: bytes, bare: Bare, instances: int,
            warmup: int) -> Row:
    engine = Engine.from_url(url)
    try:
        engine.deploy([(FILE_NAME, xml)])
        if warmup:
            run_engine(engine, warmup, "warmup")
            bare.run(warmup)
        bare_timing = bare.run(instances)
        engine_timing = run_engine(engine, instances, "bench")
    finally:
        engine.close()
    return Row(backend, engine_timing, bare_timing)


# -- databases ---------------------------------------------------------------------------

def fresh_sqlite() -> str:
    return bench_support.fresh_sqlite(SQLITE_PATH)


def pg_target() -> URL:
    return bench_support.pg_target(DEFAULT_PG_URL, PG_DATABASE)


# -- output ------------------------------------------------------------------------------

def command_line(args: argparse.Namespace) -> str:
    python = os.path.relpath(sys.executable) if sys.executable else "python"
    parts = [python, os.path.relpath(Path(__file__).resolve()),
             "--instances", str(args.instances), "--warmup", str(args.warmup)]
    if args.sqlite_only:
        parts.append("--sqlite-only")
    line = " ".join(shlex.quote(p) for p in parts)
    if "BIFLOW_BENCH_PG_URL" in os.environ and not args.sqlite_only:
        shown = make_url(os.environ["BIFLOW_BENCH_PG_URL"]).render_as_string(hide_password=True)
        line = f"BIFLOW_BENCH_PG_URL={shlex.quote(shown)} {line}"
    return line


def print_table(rows: list[Row]) -> None:
    headers = ("backend", "starts/s", "completions/s", "bare starts/s", "bare completions/s",
               "start ratio", "complete ratio")
    lines = [headers]
    for row in rows:
        start_ratio = row.engine.seconds_per_start / row.bare.seconds_per_start
        complete_ratio = row.engine.seconds_per_completion / row.bare.seconds_per_completion
        lines.append((
            row.backend,
            f"{row.engine.starts_per_second:,.1f}",
            f"{row.engine.completions_per_second:,.1f}",
            f"{row.bare.starts_per_second:,.1f}",
            f"{row.bare.completions_per_second:,.1f}",
            f"{start_ratio:.2f}x",
            f"{complete_ratio:.2f}x",
        ))
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    for index, line in enumerate(lines):
        cells = [line[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True)]
        print("  ".join(cells))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def print_details(rows: list[Row]) -> None:
    print()
    print("time per operation (ms):")
    for row in rows:
        e, b = row.engine, row.bare
        print(f"  {row.backend}: start {e.seconds_per_start * 1e3:.3f} engine / "
              f"{b.seconds_per_start * 1e3:.3f} bare; complete "
              f"{e.seconds_per_completion * 1e3:.3f} engine / "
              f"{b.seconds_per_completion * 1e3:.3f} bare; inbox read (not counted above) "
              f"{e.read_seconds / e.reads * 1e3:.3f}")
    print()
    for row in rows:
        start_ratio = row.engine.seconds_per_start / row.bare.seconds_per_start
        complete_ratio = row.engine.seconds_per_completion / row.bare.seconds_per_completion
        verdict = ("meets" if max(start_ratio, complete_ratio) <= TARGET_RATIO
                   else "misses")
        print(f"{row.backend}: {verdict} the target (engine cost <= {TARGET_RATIO:g}x bare "
              f"cost): start {start_ratio:.2f}x, complete {complete_ratio:.2f}x")


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--instances", type=int, default=DEFAULT_INSTANCES,
                           help=f"instances per backend (default {DEFAULT_INSTANCES})")
    arguments.add_argument("--warmup", type=int, default=DEFAULT_WARMUP,
                           help=f"instances run first and not counted (default {DEFAULT_WARMUP})")
    arguments.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    args = arguments.parse_args(argv)
    if args.instances < 1 or args.warmup < 0:
        arguments.error("--instances must be at least 1 and --warmup at least 0")

    print(f"$ {command_line(args)}")
    print(f"process: {PROCESS_KEY} (start event, {STEPS} user tasks, end event); "
          f"{args.instances} instances per backend, {args.warmup} warm-up instances not counted")
    xml = process_xml()
    bare = Bare(xml)

    pg_version = "not measured (--sqlite-only)"
    pg_url: str | None = None
    pg_skip: str | None = None
    if not args.sqlite_only:
        target = pg_target()
        try:
            pg_url, pg_version = fresh_postgres(target)
        except (SQLAlchemyError, OSError) as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            pg_version = "unreachable"
            pg_skip = (f"postgresql: SKIPPED, cannot reach "
                       f"{target.render_as_string(hide_password=True)}: {reason}")

    print(f"python {platform.python_version()} ({platform.python_implementation()}), "
          f"SpiffWorkflow {metadata.version('SpiffWorkflow')}, "
          f"SQLAlchemy {metadata.version('SQLAlchemy')}, sqlite {sqlite3.sqlite_version}, "
          f"postgresql {pg_version}")
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores ({usable_cores()} usable), "
          f"{platform.system()} {platform.release()}")
    print()

    rows = [measure("sqlite", fresh_sqlite(), xml, bare, args.instances, args.warmup)]
    if pg_url is not None:
        rows.append(measure("postgresql", pg_url, xml, bare, args.instances, args.warmup))
    print_table(rows)
    if pg_skip:
        print(pg_skip)
    print_details(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
