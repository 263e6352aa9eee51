"""Database: engine and transactions; the schema is brought up to date with Alembic on open."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from tripleo.errors import OperationError
from tripleo.storage.paths import database_file

__all__ = ["Database", "open_database"]

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_UPGRADE_LOCK = threading.Lock()


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see the "begin" listener).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(
        "PRAGMA synchronous=NORMAL"
    )  # WAL: atomic and crash-safe; only a power cut may lose the last commits
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    """A tripleo database: ``transaction()`` gives a Session that commits on success, rolls back on error."""

    def __init__(self, url: str) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_connect)
            # BEGIN IMMEDIATE: a writer takes SQLite's lock up front, so two processes that read then
            # write never deadlock (each would wait for the other to finish reading).
            event.listen(self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def current(self) -> bool:
        """True when the database is at every migration head already (checked without loading Alembic)."""
        heads = _heads()
        try:
            with self.engine.connect() as conn:
                stamped = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
        except DBAPIError:  # no alembic_version table yet
            return False
        return stamped == heads

    def upgrade(self) -> None:
        """Apply every Alembic migration (all branch heads)."""
        if self.current():
            return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with _UPGRADE_LOCK, self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: everything inside commits together or not at all."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


_REVISION = re.compile(r'^revision\s*=\s*["\']([^"\']+)["\']', re.M)
_DOWN = re.compile(r"^down_revision\s*=\s*(.+)$", re.M)


def _heads() -> set[str]:
    """Head revisions, read from the migration files (a revision nobody revises is a head)."""
    revisions, parents = set(), set()
    for path in (_MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if not found:
            continue
        revisions.add(found.group(1))
        down = _DOWN.search(source)
        if down:
            parents.update(re.findall(r"[\"']([^\"']+)[\"']", down.group(1)))
    return revisions - parents


def default_url() -> str:
    """TRIPLEO_DB_URL, or the SQLite file under TRIPLEO_HOME."""
    path = database_file()
    return f"sqlite:///{path}" if path is not None else os.environ["TRIPLEO_DB_URL"]


_OPEN: dict[str, Database] = {}


def open_database(url: str | None = None) -> Database:
    """Open (once per process and URL) and migrate the database."""
    url = url or default_url()
    db = _OPEN.get(url)
    if db is None:
        db = Database(url)
        try:
            db.upgrade()
        except Exception as exc:  # a database we cannot reach or migrate is a failed run
            raise OperationError(f"cannot open database {db.engine.url!r}: {exc}") from exc
        _OPEN[url] = db
    return db
