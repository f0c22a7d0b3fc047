"""Fixtures: a fresh, migrated database per test, on SQLite always and on PostgreSQL when
``BIFLOW_TEST_DATABASE_URL`` is set; an engine on a manual clock."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import TypeVar

import model_coverage
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine import Actor, Engine
from engine.clock import ManualClock
from engine.db import Database
from engine.db.models import Base
from handlers import Registry, default_registry

MODELS = Path(__file__).parent / "models"
BROKEN = Path(__file__).parent / "models_broken"
PG_URL = os.environ.get("BIFLOW_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]
START = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)  # a Monday


# -- model coverage of the scenario tests (see model_coverage.py) ------------------------

def pytest_configure(config) -> None:
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist)
        os.environ[model_coverage.ENV] = tempfile.mkdtemp(prefix="biflow-coverage-")


def _full_run(config) -> bool:
    """Only a run of the whole suite (or of tests/scenarios) must cover every model."""
    narrowed = (config.option.keyword or config.option.markexpr
                or getattr(config.option, "lf", False))
    args = [Path(a.split("::")[0]).resolve() for a in config.args]
    scenarios = (Path(__file__).parent / "scenarios").resolve()
    return not narrowed and all(a in (Path(__file__).parent.resolve(), scenarios,
                                      Path(__file__).parents[1].resolve()) for a in args)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus) -> None:
    config = session.config
    if hasattr(config, "workerinput"):
        return
    lines, short = model_coverage.summarise(Path(os.environ[model_coverage.ENV]))
    config._biflow_coverage = lines
    if short and _full_run(config) and exitstatus == 0:
        config._biflow_coverage.append(
            f"FAILED: flow nodes not all taken by the scenario tests in {', '.join(short)}")
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    lines = getattr(config, "_biflow_coverage", None)
    if lines:
        terminalreporter.section("model coverage (from the audit trail)")
        for line in lines:
            terminalreporter.write_line(line)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    database.dispose()
    return path


@pytest.fixture(scope="session")
def pg_worker_url() -> str | None:
    """A database of this xdist worker's own, migrated once."""
    if not PG_URL:
        return None
    base = make_url(PG_URL)
    name = f"{base.database}_{_worker()}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = base.set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    database.upgrade()
    database.dispose()
    return url


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path, sqlite_template, pg_worker_url) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "biflow.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    assert pg_worker_url is not None
    yield emptied(pg_worker_url)


def emptied(pg_url: str) -> str:
    """The PostgreSQL database at ``pg_url`` with every table emptied (schema kept)."""
    engine = create_engine(pg_url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return pg_url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def registry() -> Registry:
    return default_registry()


@pytest.fixture
def engine(database_url, clock, registry) -> Iterator[Engine]:
    instance = Engine(Database(database_url), clock=clock, handlers=registry,
                      job_backoff_seconds=10)
    yield instance
    instance.close()


@pytest.fixture
def deploy(engine):
    """Deploy model files of the zoo by name: ``deploy("review.bpmn", ...)``."""
    def _deploy(*names: str):
        return engine.deploy_paths([MODELS / name for name in names])
    return _deploy


ADMIN = Actor.of("ada", "admin")
CASE_WORKER = Actor.of("bob", "licensing-unit")
OTHER_WORKER = Actor.of("carol", "licensing-unit")
CABINET = Actor.of("dan", "minister-cabinet")
OUTSIDER = Actor.of("eve", "protocol")


class Client:
    """The Flask test client with a bearer token per user name."""

    def __init__(self, flask_client, tokens: dict[str, str]) -> None:
        self.flask = flask_client
        self.tokens = tokens

    def call(self, method: str, path: str, user: str | None = None, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if user is not None:
            headers["Authorization"] = f"Bearer {self.tokens.get(user, user)}"
        return self.flask.open(path, method=method, headers=headers, **kwargs)

    def get(self, path: str, user: str | None = None, **kwargs):
        return self.call("GET", path, user, **kwargs)

    def post(self, path: str, user: str | None = None, **kwargs):
        return self.call("POST", path, user, **kwargs)


API_USERS = {
    "ada": ["admin"],
    "olga": ["process-owners"],
    "bob": ["licensing-unit"],
    "carol": ["licensing-unit"],
    "dan": ["minister-cabinet"],
    "eve": ["protocol"],
}


@pytest.fixture
def app(engine):
    from api import create_app

    flask_app = create_app(engine)
    flask_app.testing = True
    return flask_app


@pytest.fixture
def client(app, engine) -> Client:
    tokens = {name: engine.add_user(name, groups) for name, groups in API_USERS.items()}
    return Client(app.test_client(), tokens)


T = TypeVar("T")


def wait_for(outcome: Callable[[], T | None], what: str, timeout: float = 30,
             interval: float = 0.1) -> T:
    """Poll ``outcome`` until it answers something truthy (for other processes' work;
    bounded, and the outcome is real, not a sleep standing in for it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = outcome()
        if found:
            return found
        time.sleep(interval)
    raise AssertionError(f"gave up after {timeout:g} s waiting for {what}")


# -- a local SMTP server ---------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append(envelope)
        self.received.set()
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


@pytest.fixture
def smtp() -> Iterator[tuple[str, Mailbox]]:
    """A local SMTP server: its URL and what it received."""
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield f"smtp://127.0.0.1:{port}", mailbox
    controller.stop()
