"""What a stack's deploys did, truthfully: ``$TRIPLEO_HOME/config-download/<stack>.json``.

A deploy holds the lock ``deploy:<stack>`` from start to end (a second deploy, or a delete, is refused and
told who holds it) and writes its phase into the record before it starts each one: ``stack``, ``network``,
``step N``, ``catalog``. The record says ``DEPLOY_IN_PROGRESS`` until the deploy ends with
``DEPLOY_COMPLETE`` or ``DEPLOY_FAILED``; a deploy killed on the way (SIGKILL leaves no chance to write) is
read back as ``DEPLOY_FAILED`` "interrupted at <phase>" once its lock holder is gone. The hosts, VIPs and
endpoints of the last deploy that got that far stay in the record, so status keeps showing them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tripleo.errors import OperationError
from tripleo.storage import Database, LockedError, tripleo_home
from tripleo.storage.locks import acquire, live_holder, release

__all__ = [
    "COMPLETE",
    "FAILED",
    "IN_PROGRESS",
    "DeployRecord",
    "deploy_lock",
    "lock_name",
    "read",
    "summary_path",
]

IN_PROGRESS, COMPLETE, FAILED = "DEPLOY_IN_PROGRESS", "DEPLOY_COMPLETE", "DEPLOY_FAILED"
WRITTEN = "CONFIG_DOWNLOAD_WRITTEN"


def summary_path(stack: str) -> Path:
    return tripleo_home() / "config-download" / f"{stack}.json"


def lock_name(stack: str) -> str:
    return f"deploy:{stack}"


def _load(stack: str) -> dict[str, Any]:
    path = summary_path(stack)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(stack: str, data: Mapping[str, Any]) -> None:
    path = summary_path(stack)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    scratch.write_text(json.dumps(data, indent=2) + "\n")
    scratch.replace(path)


@contextmanager
def deploy_lock(db: Database, stack: str, purpose: str) -> Iterator[None]:
    """Hold ``deploy:<stack>`` for a block.

    :raises OperationError: another deploy (or delete) of the stack runs; the message names it.
    """
    name = lock_name(stack)
    try:
        acquire(db, [name], purpose)
    except LockedError:
        row = live_holder(db, name)
        who = f"{row.purpose} (pid {row.pid} on {row.host}, since {row.acquired_at:%Y-%m-%d %H:%M:%S})" \
            if row is not None else "another process"  # fmt: skip
        raise OperationError(f"stack {stack}: {who} is running; wait for it to end") from None
    try:
        yield
    finally:
        release(db, [name])


class DeployRecord:
    """The record of the deploy this process runs."""

    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.data = _load(stack)
        self.phase = ""

    def begin(self) -> None:
        self.data.update(status=IN_PROGRESS, reason="", phase="", pid=os.getpid(), failures=[],
                         started_at=_now())  # fmt: skip
        _write(self.stack, self.data)

    def enter(self, phase: str) -> None:
        if phase == self.phase:
            return
        self.phase = phase
        self.data["phase"] = phase
        _write(self.stack, self.data)

    def finish(self, status: str, fields: Mapping[str, Any], reason: str = "",
               failures: Sequence[Mapping[str, Any]] = ()) -> None:  # fmt: skip
        self.data.update(fields)
        self.data.update(status=status, reason=reason, failures=list(failures), finished_at=_now())
        if status == COMPLETE:
            self.data["phase"] = ""
        _write(self.stack, self.data)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def read(db: Database, stack: str) -> dict[str, Any]:
    """The record, with a deploy whose process is gone read as interrupted (see the module docstring)."""
    data = _load(stack)
    if data.get("status") == IN_PROGRESS and live_holder(db, lock_name(stack)) is None:
        where = data.get("phase") or "the start"
        data.update(status=FAILED, reason=f"interrupted at {where}", interrupted=True)
    return data


def forget(stack: str) -> None:
    summary_path(stack).unlink(missing_ok=True)
