"""Stack create / update / delete as background jobs: the request returns once the stack service has
validated its input and marked the stack IN_PROGRESS (or refused), the work goes on in a worker thread.

Heat's clients wait for a stack by its *stack events* (an event named after the stack, whose physical id
is the stack's id); the stack service records resource events only, so a job records the stack's own
IN_PROGRESS and final events in the same table.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tripleo.api.http import ApiError
from tripleo.errors import InputError, TripleoError
from tripleo.resources.service import StackService
from tripleo.storage import LockedError
from tripleo.storage.stack_models import StackRow
from tripleo.storage.stacks import ResourceTable

__all__ = ["StackJobs"]

LOG = logging.getLogger(__name__)


def refusal(exc: TripleoError, shown: Callable[[str], str] = str) -> ApiError:
    """The API error for a stack operation the service refused before changing anything."""
    if isinstance(exc, LockedError):
        return ApiError(409, shown(str(exc)), "ActionInProgress")
    if isinstance(exc, InputError):
        text = shown(str(exc))
        if text.startswith("stack ") and "already exists" in text:
            return ApiError(409, text, "StackExists")
        kind = (
            "StackNotFound" if "not found" in text and text.startswith("stack ") else "StackValidationFailed"
        )
        return ApiError(404 if kind == "StackNotFound" else 400, text, kind)
    return ApiError(409, shown(str(exc)), type(exc).__name__)


class StackJobs:
    """Runs stack operations in worker threads over one :class:`StackService`."""

    def __init__(self, service: StackService, workers: int = 4, poll: float = 0.02) -> None:
        self.service = service
        self.poll = poll
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stack-job")

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)

    def _row(self, name: str) -> StackRow | None:
        try:
            return self.service.get(name)
        except InputError:
            return None

    def start(
        self,
        name: str,
        action: str,
        work: Callable[[], Any],
        shown: Callable[[str], str] = str,
        cleanup: Path | None = None,
    ) -> StackRow | None:
        """Run ``work`` (a stack service call for stack ``name``) in a worker; return the stack row once
        the service marked it ``action`` IN_PROGRESS, or None when the work finished without starting
        (an unchanged update, a deleted stack). ``cleanup`` is removed when the work fails or deletes.

        :raises ApiError: the service refused (bad input 400, no such stack 404, locked 409).
        """
        started = False
        before = self._row(name)
        files_before = before.files_id if before is not None else None
        future = self._pool.submit(work)
        while True:
            if future.done():
                break
            row = self._row(name)
            if (
                row is not None
                and (row.action, row.status) == (action, "IN_PROGRESS")
                and (action == "DELETE" or row.files_id != files_before)
            ):
                self._stack_event(row.id, action, "IN_PROGRESS", f"Stack {action} started")
                started = True
                break
            time.sleep(self.poll)
        if future.done() and future.exception() is not None:
            self._remove(cleanup)
            exc = future.exception()
            if isinstance(exc, TripleoError):
                raise refusal(exc, shown)
            LOG.error("stack %s %s failed", name, action, exc_info=exc)
            raise ApiError(409, f"stack {name} {action.lower()} failed: {type(exc).__name__}: {exc}")
        row = self._row(name)
        future.add_done_callback(lambda f: self._finish(f, name, action, started, cleanup))
        return row

    def _finish(
        self, future: Future[Any], name: str, action: str, started: bool, cleanup: Path | None
    ) -> None:
        exc = future.exception()
        if exc is not None:
            LOG.warning("stack %s %s: %s", name, action, exc)
            status, reason = "FAILED", str(exc)
        else:
            outcome = future.result()
            status = "COMPLETE" if str(outcome.status).endswith("COMPLETE") else "FAILED"
            reason = outcome.reason or f"Stack {action} completed successfully"
        if action == "DELETE" and status == "COMPLETE":
            self._remove(cleanup)
            return
        current = self._row(name)
        if current is not None:
            if not started:  # done before it was seen running (a quick or an unchanged update)
                self._stack_event(current.id, action, "IN_PROGRESS", f"Stack {action} started")
            self._stack_event(current.id, action, status, reason)

    def _stack_event(self, stack_id: str, action: str, status: str, reason: str) -> None:
        event = {
            "time": dt.datetime.now(dt.UTC),
            "path": "",
            "action": action,
            "status": status,
            "reason": reason,
            "physical_id": stack_id,
        }
        try:
            ResourceTable(self.service.db, stack_id).save([], [event], [])
        except Exception:  # the stack was deleted meanwhile: nothing to record against
            LOG.debug("no stack event for %s", stack_id, exc_info=True)

    @staticmethod
    def _remove(path: Path | None) -> None:
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)
