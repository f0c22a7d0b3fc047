"""Alembic environment: run by ``biflow db upgrade`` (and by every other command)."""

from alembic import context
from sqlalchemy import create_engine

from engine.db.models import Base
from engine.db.types import UtcDateTime

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.connect() as connection:
            _run(connection)
        return
    _run(connection)


def _render_item(kind, obj, autogen_context):
    """Render our column types by their imported names in generated migrations."""
    if kind == "type" and isinstance(obj, UtcDateTime):
        autogen_context.imports.add("from engine.db.types import UtcDateTime")
        return "UtcDateTime()"
    return False


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      compare_type=True, render_item=_render_item)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `biflow db upgrade`")
run_migrations_online()
