"""The database handle: engines, sessions, SQLite pragmas, migrations."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


class Database:
    """SQLite (WAL, foreign keys, ``BEGIN IMMEDIATE`` for writes) or PostgreSQL (psycopg 3).

    On SQLite, commands open their transaction with ``BEGIN IMMEDIATE`` so that two
    writers queue on the busy timeout instead of failing halfway; reads use plain
    ``BEGIN`` on a second engine so they never wait for a writer.
    """

    def __init__(self, url: str | URL) -> None:
        self.url = make_url(url)
        if self.url.drivername == "postgresql":
            self.url = self.url.set(drivername="postgresql+psycopg")
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite and self.url.database and self.url.database != ":memory:":
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine = self._create_engine(immediate=True)
        self.read_engine = self._create_engine(immediate=False) if self.is_sqlite else self.engine
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)

    def _create_engine(self, immediate: bool) -> Engine:
        if not self.is_sqlite:
            return create_engine(self.url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        engine = create_engine(self.url, connect_args={"timeout": 30,
                                                       "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    def session(self) -> Session:
        return self._sessions()

    def read_session(self) -> Session:
        return self._read_sessions()

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (``biflow db upgrade``)."""
        from alembic import command

        with self.engine.connect() as connection:
            config = self.alembic_config(connection)
            command.upgrade(config, "head")

    def alembic_config(self, connection=None):
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        # configparser interpolates '%': escape it (URL-encoded passwords and socket paths)
        url = self.url.render_as_string(hide_password=False).replace("%", "%%")
        config.set_main_option("sqlalchemy.url", url)
        config.attributes["connection"] = connection
        return config

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
