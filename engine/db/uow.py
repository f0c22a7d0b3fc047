"""Unit of work: one command, one transaction, all or nothing."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.db.database import Database
from engine.errors import Conflict


class UnitOfWork:
    """``with UnitOfWork(db) as uow: ...`` commits on success and rolls back on any error.

    Optimistic-lock losses (a concurrent command changed the instance first) and
    unique-key races surface as :class:`Conflict`.
    """

    def __init__(self, db: Database, read_only: bool = False) -> None:
        self.db = db
        self.read_only = read_only
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self.db.read_session() if self.read_only else self.db.session()
        self.session.begin()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if not self.read_only:  # a read-only session is closed without rollback,
                if exc is None:     # which would expire its rows
                    self.session.commit()
                else:
                    self.session.rollback()
        except (StaleDataError, DBAPIError) as failure:
            self.session.rollback()
            conflict = _conflict(failure)
            if conflict is None:
                raise
            raise conflict from failure
        finally:
            self.session.close()
        if exc is not None and (conflict := _conflict(exc)) is not None:
            raise conflict from exc


def _conflict(exc: BaseException) -> Conflict | None:
    """The conflict a database failure stands for, if it is one."""
    if isinstance(exc, StaleDataError):
        return Conflict("the instance or task was changed by another command; try again")
    if isinstance(exc, IntegrityError):
        return Conflict("a concurrent command wrote the same record; try again")
    text = str(exc).lower() if isinstance(exc, DBAPIError) else ""
    if "could not serialize" in text or "deadlock" in text or "database is locked" in text:
        return Conflict("a concurrent command won; try again")
    return None
