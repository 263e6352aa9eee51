"""Storage: migrations apply, transactions roll back, locks refuse live owners and break dead ones."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from tripleo.storage import Database, LockedError, LockRow, acquire, held, release


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 't.sqlite'}")
    database.upgrade()
    return database


def test_upgrade_is_idempotent_and_transaction_rolls_back(db: Database) -> None:
    db.upgrade()
    with pytest.raises(RuntimeError), db.transaction() as session:
        now = dt.datetime.now(dt.UTC)
        session.add(LockRow(name="x", host="h", pid=1, started="1", purpose="p", acquired_at=now))
        session.flush()
        raise RuntimeError("crash mid-command")
    with db.transaction() as session:
        assert list(session.scalars(select(LockRow))) == []


def test_lock_held_by_live_process_is_refused(db: Database, tmp_path: Path) -> None:
    script = (
        "import sys, time; from tripleo.storage import Database, acquire; "
        f"d = Database('sqlite:///{tmp_path / 't.sqlite'}'); acquire(d, ['node:a'], 'introspect'); "
        "print('held', flush=True); time.sleep(30)"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        with pytest.raises(LockedError, match=rf"node:a is locked by introspect \(pid {proc.pid} on "):
            acquire(db, ["node:a"], "provide")
    finally:
        proc.kill()
        proc.wait()
    # the owner died (SIGKILL): its lock is stale and is broken safely
    with held(db, ["node:a"], "provide"), db.transaction() as session:
        row = session.get(LockRow, "node:a")
        assert row is not None and row.pid == os.getpid() and row.purpose == "provide"
    release(db, ["node:a"])
