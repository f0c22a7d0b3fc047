"""Gap-free numbering: the next number of a named sequence, inside the caller's transaction.

One upsert per number (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``): the row lock it
takes makes concurrent allocations of one sequence wait for each other, and a transaction
that rolls back gives its number back. So numbers are consecutive and never given twice.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.db.models import Sequence


def next_number(session: Session, name: str) -> int:
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    statement = (dialect.insert(Sequence).values(name=name, value=1)
                 .on_conflict_do_update(index_elements=[Sequence.name],
                                        set_={"value": Sequence.value + 1})
                 .returning(Sequence.value))
    return session.execute(statement).scalar_one()
