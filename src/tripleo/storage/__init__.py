"""Storage: SQLAlchemy models, Alembic migrations and small repositories.

SQLite under ``$TRIPLEO_HOME`` by default, any SQLAlchemy URL through ``TRIPLEO_DB_URL`` (PostgreSQL is
tested). Every command works inside ``Database.transaction()``: a crash leaves the previous state.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tripleo.storage.base import Base
    from tripleo.storage.db import Database, open_database
    from tripleo.storage.locks import LockedError, LockRow, acquire, held, release
    from tripleo.storage.paths import StackPaths, stack_paths, tripleo_home, write_private_text

__all__ = [
    "Base",
    "Database",
    "LockRow",
    "LockedError",
    "StackPaths",
    "acquire",
    "held",
    "open_database",
    "release",
    "stack_paths",
    "tripleo_home",
    "write_private_text",
]

# Imported on use: reading a path (tripleo.storage.paths) must not import SQLAlchemy.
_HOME = {
    "Base": "base",
    "Database": "db",
    "open_database": "db",
    "LockRow": "locks",
    "LockedError": "locks",
    "acquire": "locks",
    "held": "locks",
    "release": "locks",
    "StackPaths": "paths",
    "stack_paths": "paths",
    "tripleo_home": "paths",
    "write_private_text": "paths",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'tripleo.storage' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tripleo.storage.{module}"), name)
