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


def test_a_lock_belongs_to_the_thread_that_took_it(db_url: str) -> None:
    import threading

    from tripleo.storage.locks import holders

    db = Database(db_url)
    db.upgrade()
    acquire(db, ["node:a"], "deploy a")
    acquire(db, ["node:a"], "deploy a")  # the same thread may take it again
    errors: list[str] = []

    def other() -> None:
        try:
            acquire(db, ["node:a"], "reserve a")
        except LockedError as exc:
            errors.append(exc.message)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert errors == ["node:a is locked by deploy a (another thread of this process)"]
    release(db, ["node:a"])
    assert [row.name for row in holders(db)] == ["node:a"]  # taken twice, released once: still held
    release(db, ["node:a"])
    assert holders(db) == []
    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert len(errors) == 1 and [row.purpose for row in holders(db)] == ["reserve a"]
