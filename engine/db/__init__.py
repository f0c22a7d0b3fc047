"""Storage: typed models, the database handle, the unit of work, migrations."""

from engine.db.database import Database
from engine.db.uow import UnitOfWork

__all__ = ["Database", "UnitOfWork"]
