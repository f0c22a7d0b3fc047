"""biflow's engine: everything that is not HTTP. Start at :class:`engine.core.Engine`."""

from engine.core import Engine
from engine.identity import SYSTEM, Actor

__all__ = ["SYSTEM", "Actor", "Engine"]
