"""Named locks in the database (``node:<uuid>``, ``stack:<name>``), safe against dead owners.

A lock row names its owner (host, pid and the process start time, so a recycled pid is not mistaken for
the owner). A lock whose owner process is gone on this host is stale and is broken when someone asks.
Within a process, a lock belongs to the thread that took it: another thread of the same process is refused
as another process would be, and the owning thread may take it again (released when the count drops to 0).
A thread can act for another owner (:func:`acting_as`): a lock taken in one thread for a piece of work
(a queued stack operation) is released by the worker thread that runs it, and refused meanwhile to every
other thread, including the one that took it.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import DateTime, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from tripleo.errors import OperationError
from tripleo.storage.base import Base

__all__ = [
    "LockRow",
    "LockedError",
    "acquire",
    "acting_as",
    "claiming",
    "held",
    "live_holder",
    "release",
    "this_process",
]


class LockedError(OperationError):
    """Someone else holds the lock."""


class LockRow(Base):
    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    started: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


def _start_time(pid: int) -> str | None:
    """The kernel's start time of a process (field 22 of /proc/PID/stat), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            data = handle.read()
    except OSError:
        return None
    return data.rsplit(")", 1)[1].split()[19]


def this_process() -> tuple[str, int, str]:
    pid = os.getpid()
    return socket.gethostname(), pid, _start_time(pid) or "?"


def _alive(row: LockRow) -> bool:
    if row.host != socket.gethostname():
        return True  # cannot tell for another host: assume alive
    return _start_time(row.pid) == row.started


# (database url, lock name) -> (owner, depth, purpose): which thread (or work) of this process holds what
_THREADS: dict[tuple[str, str], tuple[Hashable, int, str]] = {}
_GUARD = threading.Lock()
_ACTING = threading.local()
# one claim transaction at a time in this process: a claim refused because another thread's claim holds
# the lock sees what that claim wrote (it has committed), as a claim from another process does
_CLAIMING = threading.RLock()


def _me() -> Hashable:
    """Who takes and releases locks in this thread: the owner it acts for, or the thread itself."""
    owner: Hashable | None = getattr(_ACTING, "owner", None)
    return owner if owner is not None else threading.get_ident()


@contextmanager
def acting_as(owner: Hashable) -> Iterator[None]:
    """Take and release locks in this thread as ``owner`` (a token naming a piece of work) for a block."""
    before = getattr(_ACTING, "owner", None)
    _ACTING.owner = owner
    try:
        yield
    finally:
        _ACTING.owner = before


def _claim(url: str, names: Sequence[str], purpose: str) -> None:
    """Claim ``names`` for this thread (once more for those it holds).

    :raises LockedError: another thread of this process holds one of them.
    """
    me = _me()
    with _GUARD:
        for name in names:
            owner = _THREADS.get((url, name))
            if owner is not None and owner[0] != me:
                raise LockedError(f"{name} is locked by {owner[2]} (another thread of this process)")
        for name in names:
            thread, depth, was = _THREADS.get((url, name), (me, 0, purpose))
            _THREADS[(url, name)] = (thread, depth + 1, was)


def _unclaim(url: str, names: Sequence[str]) -> list[str]:
    """Drop one level of this thread's claim; returns the names no longer held (the database frees them)."""
    me = _me()
    done = []
    with _GUARD:
        for name in names:
            owner = _THREADS.get((url, name))
            if owner is None or owner[0] != me:
                done.append(name)  # not claimed here (e.g. taken before a fork): as before, release it
            elif owner[1] <= 1:
                del _THREADS[(url, name)]
                done.append(name)
            else:
                _THREADS[(url, name)] = (owner[0], owner[1] - 1, owner[2])
    return done


def acquire(db: object, names: Sequence[str], purpose: str) -> None:
    """Take every lock in ``names`` or none; LockedError naming the holder otherwise."""
    from tripleo.storage.db import Database

    assert isinstance(db, Database)
    url = str(db.url)
    _claim(url, names, purpose)
    try:
        _acquire(db, names, purpose)  # also for names this thread holds: the database is the authority
    except BaseException:
        _unclaim(url, names)
        raise


def _acquire(db: object, names: Sequence[str], purpose: str) -> None:
    from tripleo.storage.db import Database

    assert isinstance(db, Database)
    if not names:
        return
    with db.transaction() as session:
        _take(session, names, purpose)


def _take(session: Session, names: Sequence[str], purpose: str) -> None:
    """Write this process's lock rows in ``session``, breaking stale ones.

    The lock name is the table's primary key: of two processes (or database clients) inserting one name, the
    second fails (IntegrityError; PostgreSQL makes it wait for the first to commit, SQLite's BEGIN IMMEDIATE
    serialises the transactions), so a lock is never granted twice.

    :raises LockedError: a live holder, or another process took it just now.
    """
    host, pid, started = this_process()
    for name in names:
        row = session.get(LockRow, name)
        if row is not None:
            if row.host == host and row.pid == pid and row.started == started:
                continue
            if _alive(row):
                raise LockedError(f"{name} is locked by {row.purpose} (pid {row.pid} on {row.host})")
            # stale: its owner died; deleted by what it says, so two breakers cannot both win
            session.execute(
                delete(LockRow).where(
                    LockRow.name == name,
                    LockRow.host == row.host,
                    LockRow.pid == row.pid,
                    LockRow.started == row.started,
                )
            )
            session.expunge(row)
        session.add(
            LockRow(
                name=name,
                host=host,
                pid=pid,
                started=started,
                purpose=purpose,
                acquired_at=dt.datetime.now(dt.UTC),
            )
        )
    try:
        session.flush()
    except IntegrityError:
        raise LockedError(f"{', '.join(names)}: locked by another process just now") from None


@contextmanager
def claiming(db: object, names: Sequence[str], purpose: str) -> Iterator[Session]:
    """A transaction that first takes the locks ``names``: the locks and whatever the block writes commit
    together, or neither does (and the locks are not held). Released later with :func:`release`.

    :raises LockedError: a live holder.
    """
    from tripleo.storage.db import Database

    assert isinstance(db, Database)
    url = str(db.url)
    claimed = False
    with _CLAIMING:
        try:
            with db.transaction() as session:
                _take(session, names, purpose)  # another process's holder first: its message names it
                _claim(url, names, purpose)
                claimed = True
                yield session
        except BaseException:
            if claimed:
                _unclaim(url, names)
            raise


def release(db: object, names: Sequence[str]) -> None:
    """Release locks this process holds."""
    from tripleo.storage.db import Database

    assert isinstance(db, Database)
    done = _unclaim(str(db.url), names)
    if not done:
        return
    host, pid, _ = this_process()
    with db.transaction() as session:
        session.execute(
            delete(LockRow).where(LockRow.name.in_(done), LockRow.host == host, LockRow.pid == pid)
        )


@contextmanager
def held(db: object, names: Sequence[str], purpose: str) -> Iterator[None]:
    """Hold locks for the duration of a block."""
    acquire(db, names, purpose)
    try:
        yield
    finally:
        release(db, names)


def holders(db: object) -> list[LockRow]:
    from tripleo.storage.db import Database

    assert isinstance(db, Database)
    with db.transaction() as session:
        return list(session.scalars(select(LockRow)))


def live_holder(db: object, name: str) -> LockRow | None:
    """Who holds lock ``name``, if its holder is alive (a dead holder's row is stale: None)."""
    from tripleo.storage.db import Database

    assert isinstance(db, Database)
    with db.transaction() as session:
        row = session.get(LockRow, name)
        if row is None or not _alive(row):
            return None
        session.expunge(row)
        return row
