"""The schema migrates and locks work on both SQLite and a real PostgreSQL."""

from __future__ import annotations

import pytest

from tripleo.storage import Database, LockedError, acquire, release
from tripleo.storage.locks import LockRow, _start_time


def test_migrate_and_lock_on_each_backend(db_url: str) -> None:
    db = Database(db_url)
    db.upgrade()
    acquire(db, ["stack:overcloud"], "stack create")
    with db.transaction() as session:
        row = session.get(LockRow, "stack:overcloud")
        assert row is not None and row.purpose == "stack create"
        row.pid = 1  # pretend pid 1 (alive, and not us) holds it
        row.started = _start_time(1) or "?"
    with pytest.raises(LockedError, match="stack:overcloud is locked by stack create"):
        acquire(db, ["stack:overcloud"], "stack update")
    with db.transaction() as session:
        session.delete(session.get(LockRow, "stack:overcloud"))
    release(db, ["stack:overcloud"])
    db.dispose()
