"""Migrations: they build the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from engine.db import Database
from engine.db.models import Base


def test_migrated_schema_matches_the_models(database_url):
    database = Database(database_url)
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    database.dispose()


def test_upgrade_is_idempotent_and_records_the_head(database_url):
    database = Database(database_url)
    database.upgrade()
    with database.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0007"
        tables = set(inspect(connection).get_table_names())
    assert {"definitions", "instances", "tasks", "task_candidates", "jobs", "waits",
            "incidents", "outbox", "audit_events"} <= tables
    database.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    database.dispose()


def test_urls_with_percent_encoding_migrate(tmp_path):
    folder = tmp_path / "with space"
    folder.mkdir()
    database = Database(f"sqlite:///{folder}/b%20c.db")
    database.upgrade()
    with database.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0007"
    database.dispose()
