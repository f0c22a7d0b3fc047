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
        self._after_commit: list = []

    def __enter__(self) -> UnitOfWork:
        self.session = self.db.read_session() if self.read_only else self.db.session()
        self.session.begin()
        return self

    def after_commit(self, callback) -> None:
        """Run ``callback()`` once the transaction has committed (e.g. wake the executor)."""
        self._after_commit.append(callback)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc_type is None and not self.read_only:
                self.session.commit()
            elif not self.read_only:
                self.session.rollback()
            # a read-only session is closed without rollback, which would expire its rows
        except StaleDataError:
            self.session.rollback()
            raise Conflict("the instance was changed by another command; try again") from None
        except IntegrityError as err:
            self.session.rollback()
            raise Conflict("a concurrent command wrote the same record; try again") from err
        finally:
            self.session.close()
        if exc_type is None:
            for callback in self._after_commit:
                callback()
        elif exc_type is not None and issubclass(exc_type, StaleDataError):
            raise Conflict("the instance was changed by another command; try again") from exc
        elif exc_type is not None and issubclass(exc_type, IntegrityError):
            raise Conflict("a concurrent command wrote the same record; try again") from exc
        elif exc_type is not None and issubclass(exc_type, DBAPIError) and _is_serialization(exc):
            raise Conflict("a concurrent command won; try again") from exc


def _is_serialization(exc: BaseException | None) -> bool:
    text = str(exc).lower()
    return "could not serialize" in text or "deadlock" in text or "database is locked" in text
