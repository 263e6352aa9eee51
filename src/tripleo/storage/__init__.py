"""Storage: SQLAlchemy models, Alembic migrations and small repositories.

SQLite under ``$TRIPLEO_HOME`` by default, any SQLAlchemy URL through ``TRIPLEO_DB_URL`` (PostgreSQL is
tested). Every command works inside ``Database.transaction()``: a crash leaves the previous state.
"""

from tripleo.storage.base import Base
from tripleo.storage.db import Database, open_database
from tripleo.storage.locks import LockedError, LockRow, acquire, held, release
from tripleo.storage.paths import tripleo_home, write_private_text

__all__ = [
    "Base",
    "Database",
    "LockRow",
    "LockedError",
    "acquire",
    "held",
    "open_database",
    "release",
    "tripleo_home",
    "write_private_text",
]
