"""Issue 22: a stack name is claimed once by concurrent processes, on SQLite and on PostgreSQL (the lock and
the stack row are written in one transaction); an operation whose process died is FAILED ("interrupted")
with the stack's FAILED event by ``recover`` and by the next claim of the stack, and a live one is left
alone."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tripleo.errors import TripleoError
from tripleo.resources.service import Claim, Options, StackService
from tripleo.storage import Database
from tripleo.storage.locks import LockRow
from tripleo.storage.stack_models import EventRow, StackRow

TEMPLATE = """heat_template_version: "2018-08-31"
resources:
  thing:
    type: OS::Heat::TestResource
    properties: {value: v}
"""
FORK = multiprocessing.get_context("fork")


def _claim_and_die(url: str, template: str, name: str, gates: Any, results: Any) -> None:
    """A process that claims a create of ``name`` as the others do, and once they all tried, dies holding
    what it won (as a killed server)."""
    try:
        service = StackService(Database(url))
        gates[0].wait(timeout=60)
        claim = service.claim_create(name, template, [], {}, Options(backend="noop", stack_events=True))
        results.put(("won", claim.stack_id))
    except BaseException as exc:  # reported to the test, whatever it is
        results.put((type(exc).__name__, str(exc)))
    finally:
        gates[1].wait(timeout=60)  # a winner that died before another tried would rightly be resumed
        os._exit(0)


def _race(url: str, template: str, name: str, count: int) -> list[tuple[str, str]]:
    gates, results = (FORK.Barrier(count), FORK.Barrier(count)), FORK.SimpleQueue()  # put() writes at once
    procs = [
        FORK.Process(target=_claim_and_die, args=(url, template, name, gates, results)) for _ in range(count)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    return sorted(results.get() for _ in procs if not results.empty())


def _stack_events(db: Database, name: str) -> list[tuple[str, str, str]]:
    with db.transaction() as session:
        sid = session.scalar(select(StackRow.id).where(StackRow.name == name))
        rows = session.scalars(select(EventRow).where(EventRow.stack_id == sid, EventRow.path == ""))
        return [(e.action, e.status, e.reason) for e in rows]


@pytest.fixture()
def service(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StackService:
    monkeypatch.setenv("TRIPLEO_HOME", str(tmp_path / "home"))
    db = Database(db_url)
    db.upgrade()
    return StackService(db)


def test_one_claim_of_a_name_wins_across_processes(service: StackService, tmp_path: Path) -> None:
    template = tmp_path / "t.yaml"
    template.write_text(TEMPLATE)
    results = _race(service.db.url, str(template), "raced", 6)
    assert [kind for kind, _ in results] == ["InputError"] * 5 + ["won"], results
    assert all('stack "raced" already exists' in text for kind, text in results if kind != "won")
    assert _stack_events(service.db, "raced") == [("CREATE", "IN_PROGRESS", "Stack CREATE started")]

    # its process died holding it: the server's start marks it FAILED, "interrupted", with its event
    assert service.recover() == ["raced"]
    row = service.get("raced")
    assert (row.action, row.status) == ("CREATE", "FAILED") and "interrupted" in row.reason
    assert [e[:2] for e in _stack_events(service.db, "raced")] == [
        ("CREATE", "IN_PROGRESS"),
        ("CREATE", "FAILED"),
    ]
    assert service.recover() == []

    # a create of it resumes under the same id and completes
    outcome = service.create("raced", str(template), [], {}, Options(backend="noop"))
    assert outcome.status == "CREATE_COMPLETE" and service.get("raced").id == row.id
    with service.db.transaction() as session:
        assert list(session.scalars(select(LockRow.name))) == []


def test_the_next_claim_ends_a_dead_operation_and_a_live_one_is_left(
    service: StackService, tmp_path: Path
) -> None:
    template = tmp_path / "t.yaml"
    template.write_text(TEMPLATE)
    assert [kind for kind, _ in _race(service.db.url, str(template), "cut", 1)] == ["won"]
    # the CLI's create of it (no recover ran): the dead claim is FAILED with its event, then it resumes
    assert service.create("cut", str(template), [], {}, Options(backend="noop")).status == "CREATE_COMPLETE"
    events = _stack_events(service.db, "cut")
    assert [e[:2] for e in events] == [("CREATE", "IN_PROGRESS"), ("CREATE", "FAILED")]
    assert "interrupted" in events[1][2]

    # an operation claimed by a live process (this one) is not touched by recover, and runs to its end
    changed = tmp_path / "t2.yaml"
    changed.write_text(TEMPLATE.replace("value: v", "value: w"))
    claim = service.claim_update("cut", str(changed), [], {}, Options(backend="noop", stack_events=True))
    assert isinstance(claim, Claim) and service.recover() == []
    assert service.get("cut").status == "IN_PROGRESS"
    with pytest.raises(TripleoError, match="stack:cut is locked by stack update"):
        service.delete("cut", Options(backend="noop"))
    service.run(claim)
    row = service.get("cut")
    assert (row.action, row.status) == ("UPDATE", "COMPLETE")
    updates = [e[:2] for e in _stack_events(service.db, "cut")][-2:]
    assert updates == [("UPDATE", "IN_PROGRESS"), ("UPDATE", "COMPLETE")]
