"""Task completions per second and inbox latency over HTTP, on SQLite and PostgreSQL.

Run from the repository root::

    .venv/bin/python bench/api.py [--instances N] [--open N] [--completed N] [--sqlite-only]

For each backend (SQLite at ``/tmp/biflow-api-bench.db``, recreated; PostgreSQL in a database
``biflow_api_bench``, dropped and recreated) it:

1. migrates the database and deploys a process of ten sequential user tasks (candidate group
   ``bench-a``) in this process, and creates two users: ``clicker`` (group ``bench-a``) and
   ``reader`` (groups ``licensing-unit`` and ``europe-directorate``);
2. seeds the inbox with bulk inserts (data setup, not measured): ``--open`` ready and
   ``--completed`` completed tasks, 100 per instance row, spread round-robin over eight
   candidate groups, due dates within 60 days either side of now, one ready task in ten
   assigned to some other user; then runs ``ANALYZE`` (``VACUUM ANALYZE`` on PostgreSQL);
3. starts ``--instances`` (plus ``--warmup``) instances of the ten-step process through the
   engine, then serves the API with ``biflow serve --threads 8`` in a subprocess;
4. completions: two client threads (a ``requests`` session each) take instances from a shared
   queue and walk each through its ten tasks with ``POST /api/tasks/{id}/complete``, taking the
   next task from the ``ready_tasks`` of the answer. Completions per second are over the wall
   time of the timed instances; the warm-up instances go first and are not counted;
5. inbox: as ``reader``, ``GET /api/tasks`` (ready tasks the caller may work on, by due date,
   50 a page) and two variants, each 20 times to warm up and then ``--inbox-requests`` times,
   timed on the client (wall time per request, connection kept alive).

Targets on the 2-core machine of the issue: at least 200 completions/s on SQLite, inbox p95
under 25 ms. The clients run on the same machine as the server and share its cores.

PostgreSQL: ``BIFLOW_BENCH_PG_URL`` overrides the URL (default
``postgresql+psycopg://postgres@127.0.0.1:5432/biflow_api_bench``). The database it names is
dropped (``WITH (FORCE)``) and recreated through the ``postgres`` database; a URL naming
``postgres`` itself or no database means ``biflow_api_bench``. If the server cannot be reached,
the PostgreSQL row is skipped with a line saying so.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import queue
import random
import shlex
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This file shares its name with the ``api`` package (and bench/engine.py with ``engine``):
# keep its folder off the import path (``python bench/api.py`` puts it first).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.append(str(HERE))  # last: for bench_support, after the real packages
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import bench_support  # noqa: E402
import requests  # noqa: E402
from bench_support import cpu_model, fresh_postgres, usable_cores  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.engine import URL, Connection, make_url  # noqa: E402
from sqlalchemy.exc import SQLAlchemyError  # noqa: E402

from engine import Actor, Engine, queries  # noqa: E402
from engine.db.models import Definition, Instance, Task, TaskCandidate  # noqa: E402

PROCESS_KEY = "ten_steps"
FILE_NAME = "ten_steps.bpmn"
STEPS = 10
BENCH_GROUP = "bench-a"
CLICKER = "clicker"
READER = "reader"
READER_GROUPS = ("licensing-unit", "europe-directorate")
INBOX_GROUPS = ("external-relations", "europe-directorate", "protocol", "erdf-directorate",
                "licensing-unit", "director-general", "minister-cabinet", "finance")
OTHER_USERS = tuple(f"worker-{n:02d}" for n in range(40))
TASKS_PER_INSTANCE = 100
BATCH = 10_000
ASSIGNED_SHARE = 0.10
DUE_SPREAD_DAYS = 60
CREATED_SPREAD_DAYS = 180
SERVER_THREADS = 8
CLIENT_THREADS = 2
INBOX_WARMUP = 20
DEFAULT_INSTANCES = 150
DEFAULT_WARMUP = 5
DEFAULT_OPEN = 100_000
DEFAULT_COMPLETED = 500_000
DEFAULT_INBOX_REQUESTS = 300
TARGET_COMPLETIONS = 200.0
TARGET_INBOX_P95_MS = 25.0
SEED = 20_260_101
SQLITE_PATH = Path("/tmp/biflow-api-bench.db")
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/biflow_api_bench"
PG_DATABASE = "biflow_api_bench"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
BIFLOW = ROOT / ".venv" / "bin" / "biflow"
INBOX_QUERIES = (
    ("default (by due)", {}),
    ("sort=-priority", {"sort": "-priority"}),
    ("candidate_group=licensing-unit&overdue=true",
     {"candidate_group": "licensing-unit", "overdue": "true"}),
)


# -- the process -------------------------------------------------------------------------

def process_xml(steps: int = STEPS) -> bytes:
    return bench_support.process_xml(PROCESS_KEY, steps, BENCH_GROUP)


def step_of(element_id: str) -> int:
    return int(element_id.removeprefix("step"))


# -- preparing the database --------------------------------------------------------------

@dataclass
class Prepared:
    clicker_token: str
    reader_token: str
    #: (instance id, id of its first ready task), warm-up instances first
    walks: list[tuple[str, str]]
    seed_seconds: float
    seeded_ready: int
    seeded_completed: int


def seed_inbox(connection: Connection, definition_id: int, open_tasks: int,
               completed_tasks: int, now: datetime) -> None:
    """Instance rows, then tasks, then the candidates of the ready tasks, in batches."""
    rng = random.Random(SEED)
    total = open_tasks + completed_tasks
    states = ["ready"] * open_tasks + ["completed"] * completed_tasks
    rng.shuffle(states)
    instance_ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4))
                    for _ in range((total + TASKS_PER_INSTANCE - 1) // TASKS_PER_INSTANCE)]

    def instance_rows() -> Iterator[dict[str, Any]]:
        for n, instance_id in enumerate(instance_ids):
            created = now - timedelta(days=CREATED_SPREAD_DAYS * (1 - n / len(instance_ids)))
            yield {"id": instance_id, "definition_id": definition_id,
                   "process_key": PROCESS_KEY, "process_version": 1,
                   "business_key": f"SEED-{n:06d}", "state": "running", "pinned": [],
                   "workflow": "{}", "started_by": rng.choice(OTHER_USERS),
                   "created_at": created, "updated_at": created, "ended_at": None,
                   "end_reason": None, "audit_head": None, "version": 1}

    candidates: list[dict[str, Any]] = []
    per_state = {"ready": 0, "completed": 0}

    def task_rows() -> Iterator[dict[str, Any]]:
        for n, state in enumerate(states):
            group = INBOX_GROUPS[per_state[state] % len(INBOX_GROUPS)]
            per_state[state] += 1
            task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            created = now - timedelta(seconds=rng.uniform(0, CREATED_SPREAD_DAYS * 86_400))
            due = now + timedelta(seconds=rng.uniform(-DUE_SPREAD_DAYS, DUE_SPREAD_DAYS)
                                  * 86_400)
            ready = state == "ready"
            assignee = (rng.choice(OTHER_USERS) if ready and rng.random() < ASSIGNED_SHARE
                        else None)
            worker = None if ready else rng.choice(OTHER_USERS)
            if ready:  # the engine's invariant: candidate rows for ready tasks only
                candidates.append({"task_id": task_id, "candidate": f"group:{group}",
                                   "unassigned": assignee is None, "due_key": due,
                                   "multi": False})
            step = n % STEPS + 1
            yield {"id": task_id, "instance_id": instance_ids[n // TASKS_PER_INSTANCE],
                   "element_id": f"step{step}", "name": f"Step {step}",
                   "process_key": PROCESS_KEY, "process_version": 1,
                   "business_key": f"SEED-{n // TASKS_PER_INSTANCE:06d}",
                   "candidate_groups": [group], "candidate_users": [], "assignee": assignee,
                   "due_at": due, "follow_up_at": None, "priority": 50, "state": state,
                   "created_at": created,
                   "ended_at": None if ready else created + timedelta(hours=rng.uniform(1, 72)),
                   "completed_by": worker, "version": 1}

    for table, rows in ((Instance.__table__, instance_rows()), (Task.__table__, task_rows())):
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH:
                connection.execute(insert(table), batch)
                batch = []
        if batch:
            connection.execute(insert(table), batch)
    for start in range(0, len(candidates), BATCH):
        connection.execute(insert(TaskCandidate.__table__), candidates[start:start + BATCH])


def prepare(url: str, open_tasks: int, completed_tasks: int, walks: int) -> Prepared:
    engine = Engine.from_url(url)
    try:
        engine.deploy([(FILE_NAME, process_xml())])
        clicker_token = engine.add_user(CLICKER, [BENCH_GROUP])
        reader_token = engine.add_user(READER, list(READER_GROUPS))
        began = time.perf_counter()
        with engine.db.engine.begin() as connection:
            definition_id = connection.scalar(
                select(func.max(Definition.id)).where(Definition.kind == "bpmn",
                                                      Definition.key == PROCESS_KEY))
            seed_inbox(connection, int(definition_id), open_tasks, completed_tasks,
                       engine.clock.now())
        with engine.db.engine.connect() as connection:
            # VACUUM too on PostgreSQL: after a bulk load the visibility map is empty and
            # index-only scans would visit the heap (autovacuum does this in production)
            statement = ("VACUUM ANALYZE" if connection.dialect.name == "postgresql"
                         else "ANALYZE")
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                statement)
        with engine.db.engine.connect() as connection:
            seeded_ready, seeded_completed = (
                connection.scalar(select(func.count()).select_from(Task)
                                  .where(Task.state == state))
                for state in ("ready", "completed"))
        seed_seconds = time.perf_counter() - began
        clicker = Actor.of(CLICKER, BENCH_GROUP)
        firsts: list[tuple[str, str]] = []
        for n in range(walks):
            instance = engine.start(PROCESS_KEY, actor=clicker, business_key=f"WALK-{n:04d}",
                                    data={})
            ready = engine.read(queries.ready_tasks_of, instance.id)
            if len(ready) != 1 or ready[0].element_id != "step1":
                raise RuntimeError(f"instance {instance.id}: expected one ready step1")
            firsts.append((instance.id, ready[0].id))
    finally:
        engine.close()
    return Prepared(clicker_token, reader_token, firsts, seed_seconds, seeded_ready or 0,
                    seeded_completed or 0)


# -- the server --------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``biflow serve`` in a subprocess, its output in a log file."""

    def __init__(self, url: str, label: str, workers: int = 1) -> None:
        self.workers = workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/api"
        self.log_path = Path(f"/tmp/biflow-api-bench-{label}.log")
        self.process: subprocess.Popen[bytes] | None = None
        self.url = url

    def __enter__(self) -> Server:
        env = {**os.environ, "BIFLOW_DATABASE_URL": self.url}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(BIFLOW), "serve", "--port", str(self.port),
                 "--threads", str(SERVER_THREADS), "--workers", str(self.workers)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n"
                                   + self.log_path.read_text())
            try:
                if requests.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not answer within 60 s:\n{self.log_path.read_text()}")

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- measurements ------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of ``values`` (not necessarily sorted)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


@dataclass
class Completions:
    instances: int = 0
    completions: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.completions / self.seconds if self.seconds else 0.0


def walk(session: requests.Session, base: str, instance_id: str, first_task: str,
         latencies: list[float]) -> int:
    """Complete the ten tasks of one instance; return how many were completed."""
    task_id: str | None = first_task
    step = 1
    done = 0
    while task_id is not None:
        began = time.perf_counter()
        response = session.post(f"{base}/tasks/{task_id}/complete",
                                json={"data": {f"n_{step}": step}})
        latencies.append(time.perf_counter() - began)
        if response.status_code != 200:
            raise RuntimeError(f"complete {task_id}: {response.status_code} {response.text}")
        done += 1
        body = response.json()
        ready = body["ready_tasks"]
        if not ready:
            if body["state"] != "completed":
                raise RuntimeError(f"instance {instance_id} is {body['state']}, not completed")
            task_id = None
        else:
            if len(ready) != 1:
                raise RuntimeError(f"instance {instance_id}: {len(ready)} ready tasks")
            task_id = ready[0]["id"]
            step = step_of(ready[0]["element_id"])
    if done != STEPS:
        raise RuntimeError(f"instance {instance_id}: {done} completions, not {STEPS}")
    return done


def run_completions(base: str, token: str, walks: list[tuple[str, str]]) -> Completions:
    """Two client threads walking instances from a shared queue."""
    work: queue.Queue[tuple[str, str]] = queue.Queue()
    for item in walks:
        work.put(item)
    result = Completions(instances=len(walks))
    lock = threading.Lock()
    failures: list[BaseException] = []

    def client() -> None:
        latencies: list[float] = []
        done = 0
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {token}"
            try:
                while True:
                    try:
                        instance_id, first_task = work.get_nowait()
                    except queue.Empty:
                        break
                    done += walk(session, base, instance_id, first_task, latencies)
            except BaseException as exc:  # report it from the main thread
                failures.append(exc)
        with lock:
            result.completions += done
            result.latencies += latencies

    threads = [threading.Thread(target=client, name=f"client-{n}")
               for n in range(CLIENT_THREADS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - began
    if failures:
        raise failures[0]
    return result


@dataclass
class InboxTiming:
    label: str
    latencies: list[float]
    total: int
    items: int


def run_inbox(base: str, token: str, requests_count: int) -> list[InboxTiming]:
    timings: list[InboxTiming] = []
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        for label, params in INBOX_QUERIES:
            latencies: list[float] = []
            total = items = -1
            for n in range(INBOX_WARMUP + requests_count):
                began = time.perf_counter()
                response = session.get(f"{base}/tasks", params=params)
                elapsed = time.perf_counter() - began
                if response.status_code != 200:
                    raise RuntimeError(f"inbox {label}: {response.status_code} {response.text}")
                if n >= INBOX_WARMUP:
                    latencies.append(elapsed)
                body = response.json()
                total, items = body["total"], len(body["items"])
            timings.append(InboxTiming(label, latencies, total, items))
    return timings


@dataclass
class Row:
    backend: str
    completions: Completions
    inbox: list[InboxTiming]
    prepared: Prepared


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def measure(backend: str, url: str, args: argparse.Namespace) -> Row:
    print(f"{backend}: load average {load_average()}; preparing (migrate, deploy, seed "
          f"{args.open:,} ready + "
          f"{args.completed:,} completed tasks, start {args.warmup + args.instances} "
          "instances) ...", flush=True)
    prepared = prepare(url, args.open, args.completed, args.warmup + args.instances)
    print(f"{backend}: seeded in {prepared.seed_seconds:.1f} s "
          f"({prepared.seeded_ready:,} ready, {prepared.seeded_completed:,} completed "
          "tasks besides the bench instances); serving ...", flush=True)
    with Server(url, backend, args.workers) as server:
        warm, timed = prepared.walks[:args.warmup], prepared.walks[args.warmup:]
        if warm:
            run_completions(server.base, prepared.clicker_token, warm)
        print(f"{backend}: load average {load_average()}; completing ...", flush=True)
        completions = run_completions(server.base, prepared.clicker_token, timed)
        print(f"{backend}: load average {load_average()}; reading the inbox ...", flush=True)
        inbox = run_inbox(server.base, prepared.reader_token, args.inbox_requests)
    return Row(backend, completions, inbox, prepared)


# -- databases ---------------------------------------------------------------------------

def fresh_sqlite() -> str:
    return bench_support.fresh_sqlite(SQLITE_PATH)


def pg_target() -> URL:
    return bench_support.pg_target(DEFAULT_PG_URL, PG_DATABASE)


# -- output ------------------------------------------------------------------------------

def command_line(args: argparse.Namespace) -> str:
    python = os.path.relpath(sys.executable) if sys.executable else "python"
    parts = [python, os.path.relpath(Path(__file__).resolve()),
             "--instances", str(args.instances), "--warmup", str(args.warmup),
             "--open", str(args.open), "--completed", str(args.completed),
             "--inbox-requests", str(args.inbox_requests), "--workers", str(args.workers)]
    if args.sqlite_only:
        parts.append("--sqlite-only")
    line = " ".join(shlex.quote(p) for p in parts)
    if "BIFLOW_BENCH_PG_URL" in os.environ and not args.sqlite_only:
        shown = make_url(os.environ["BIFLOW_BENCH_PG_URL"]).render_as_string(hide_password=True)
        line = f"BIFLOW_BENCH_PG_URL={shlex.quote(shown)} {line}"
    return line


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


def print_table(headers: tuple[str, ...], lines: list[tuple[str, ...]]) -> None:
    table = [headers, *lines]
    widths = [max(len(line[i]) for line in table) for i in range(len(headers))]
    for index, line in enumerate(table):
        cells = [line[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True)]
        print("  ".join(cells))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def print_details(rows: list[Row]) -> None:
    for row in rows:
        c = row.completions
        print()
        print(f"{row.backend}: completions over HTTP ({CLIENT_THREADS} client threads, "
              f"{c.instances} instances x {STEPS} tasks)")
        print(f"  {c.completions} completions in {c.seconds:.2f} s = {c.per_second:,.1f}/s; "
              f"complete call p50 {ms(percentile(c.latencies, 50))} ms, "
              f"p95 {ms(percentile(c.latencies, 95))} ms, "
              f"p99 {ms(percentile(c.latencies, 99))} ms, "
              f"max {ms(max(c.latencies))} ms")
        print(f"{row.backend}: inbox of '{READER}' ({', '.join(READER_GROUPS)}), "
              f"{len(row.inbox[0].latencies)} requests each after {INBOX_WARMUP} warm-up")
        for timing in row.inbox:
            print(f"  {timing.label:46} p50 {ms(percentile(timing.latencies, 50)):>7} ms  "
                  f"p95 {ms(percentile(timing.latencies, 95)):>7} ms  "
                  f"p99 {ms(percentile(timing.latencies, 99)):>7} ms  "
                  f"total {timing.total:,} ({timing.items} items a page)")


def print_summary(rows: list[Row]) -> None:
    print()
    headers = ("backend", "completions/s", "complete p50 ms", "complete p95 ms",
               "inbox p50 ms", "inbox p95 ms", f">= {TARGET_COMPLETIONS:g}/s",
               f"inbox p95 < {TARGET_INBOX_P95_MS:g} ms")
    lines = []
    for row in rows:
        c = row.completions
        inbox = row.inbox[0].latencies
        inbox_p95 = percentile(inbox, 95) * 1e3
        if row.backend == "sqlite":
            rate = "met" if c.per_second >= TARGET_COMPLETIONS else "MISSED"
        else:
            rate = "(no target)"
        lines.append((row.backend, f"{c.per_second:,.1f}", ms(percentile(c.latencies, 50)),
                      ms(percentile(c.latencies, 95)), ms(percentile(inbox, 50)),
                      f"{inbox_p95:.1f}",
                      rate, "met" if inbox_p95 < TARGET_INBOX_P95_MS else "MISSED"))
    print_table(headers, lines)


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--instances", type=int, default=DEFAULT_INSTANCES,
                           help=f"timed instances per backend, {STEPS} completions each "
                                f"(default {DEFAULT_INSTANCES})")
    arguments.add_argument("--warmup", type=int, default=DEFAULT_WARMUP,
                           help=f"instances walked first and not counted "
                                f"(default {DEFAULT_WARMUP})")
    arguments.add_argument("--open", type=int, default=DEFAULT_OPEN,
                           help=f"ready tasks seeded (default {DEFAULT_OPEN:,})")
    arguments.add_argument("--completed", type=int, default=DEFAULT_COMPLETED,
                           help=f"completed tasks seeded (default {DEFAULT_COMPLETED:,})")
    arguments.add_argument("--inbox-requests", type=int, default=DEFAULT_INBOX_REQUESTS,
                           help=f"timed inbox requests per query "
                                f"(default {DEFAULT_INBOX_REQUESTS})")
    arguments.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    arguments.add_argument("--workers", type=int, default=1,
                           help="server processes (biflow serve --workers)")
    args = arguments.parse_args(argv)
    if (args.instances < 1 or args.warmup < 0 or args.open < 0 or args.completed < 0
            or args.inbox_requests < 1):
        arguments.error("--instances and --inbox-requests must be at least 1, "
                        "--warmup, --open and --completed at least 0")

    print(f"$ {command_line(args)}")
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
          f"Flask {metadata.version('Flask')}, waitress {metadata.version('waitress')}, "
          f"SQLAlchemy {metadata.version('SQLAlchemy')}, psycopg {metadata.version('psycopg')}, "
          f"sqlite {sqlite3.sqlite_version}, postgresql {pg_version}")
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores ({usable_cores()} usable), "
          f"{platform.system()} {platform.release()}")
    print(f"server: biflow serve --workers {args.workers} --threads {SERVER_THREADS} "
          "(job executor on); clients: "
          f"{CLIENT_THREADS} threads on the same machine")
    print()

    rows = [measure("sqlite", fresh_sqlite(), args)]
    if pg_url is not None:
        rows.append(measure("postgresql", pg_url, args))
    print_details(rows)
    print_summary(rows)
    if pg_skip:
        print(pg_skip)
    return 0


if __name__ == "__main__":
    sys.exit(main())
