"""Stack create / update / delete answered at once, run by a pool of worker threads.

A request's thread validates the input and *claims* the stack with the stack service (the stack's lock
and the stack row marked IN_PROGRESS, written in one transaction: of concurrent claims of one name exactly
one wins), then queues the work; a worker runs it when one is free. So an answer never waits for other
operations, however many run or wait. A refusal (bad input 400, no such stack 404, name taken or stack
busy 409) is the request's own answer, and nothing changed.

Heat's clients wait for a stack by its *stack events* (an event named after the stack, whose physical id
is the stack's id); the stack service records them for the API (``Options.stack_events``): IN_PROGRESS
with the claim, COMPLETE/FAILED when the work ends. A server killed with work running or queued leaves
those stacks IN_PROGRESS under a dead lock holder: :meth:`StackJobs.recover` (at start) marks them FAILED
with "interrupted" and their FAILED event, so ``--wait`` ends; a retried create resumes.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tripleo.api.http import ApiError
from tripleo.errors import InputError, TripleoError
from tripleo.resources.service import Claim, Outcome, StackService
from tripleo.storage import LockedError

__all__ = ["StackJobs", "refusal"]

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
    """Claims stack operations in the request's thread and runs them in ``workers`` worker threads."""

    def __init__(self, service: StackService, workers: int = 4) -> None:
        self.service = service
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stack-job")

    def shutdown(self) -> None:
        """Wait for the running and queued operations (a graceful stop leaves none IN_PROGRESS)."""
        self._pool.shutdown(wait=True)

    def recover(self) -> list[str]:
        """Mark FAILED ("interrupted") the operations whose process died (see the module docstring)."""
        marked = self.service.recover()
        if marked:
            LOG.warning("stack operations interrupted by a stop, now FAILED: %s", ", ".join(marked))
        return marked

    def start(
        self,
        claim: Callable[[], Claim | Outcome],
        shown: Callable[[str], str] = str,
        cleanup: Path | None = None,
        removed: Iterable[Path] = (),
    ) -> Claim | None:
        """Validate and claim (``claim``, a ``StackService.claim_*`` call, in this thread) and queue the
        work; returns the claim, or None when there is nothing to run (an unchanged update, done).
        ``cleanup`` (the request's files) is removed when the request is refused, ``removed`` once a
        delete completed.

        :raises ApiError: the service refused (bad input 400, no such stack 404, taken or busy 409), or
            the server is stopping (503).
        """
        try:
            claimed = claim()
        except TripleoError as exc:
            self._remove([cleanup], prune=True)
            raise refusal(exc, shown) from None
        except BaseException:
            self._remove([cleanup], prune=True)
            raise
        if isinstance(claimed, Outcome):
            return None
        try:
            self._pool.submit(self._run, claimed, list(removed))
        except RuntimeError:  # the pool is shut down: the server is stopping
            self.service.abandon(claimed, f"Stack {claimed.action} not run: the server was stopping")
            raise ApiError(503, "the server is stopping; try again", "ServiceUnavailable") from None
        return claimed

    def _run(self, claim: Claim, removed: list[Path]) -> None:
        """A worker: run the claimed operation; the service records how it ended (row and stack event)."""
        try:
            self.service.run(claim)
        except TripleoError as exc:
            LOG.warning("stack %s %s: %s", claim.name, claim.action, exc)
            return
        except Exception:  # a bug: the stack is FAILED with its type and message; the traceback goes here
            LOG.exception("stack %s %s failed", claim.name, claim.action)
            return
        if claim.action == "DELETE":
            self._remove(removed)
            for parent in {p.parent for p in removed}:
                with contextlib.suppress(OSError):  # unless a new request of the name wrote there
                    parent.rmdir()

    @staticmethod
    def _remove(paths: Iterable[Path | None], prune: bool = False) -> None:
        """Remove ``paths``; with ``prune``, their directory too when nothing else is left in it (a refused
        create leaves no empty directory of its name)."""
        for path in paths:
            if path is not None:
                shutil.rmtree(path, ignore_errors=True)
                if prune:
                    with contextlib.suppress(OSError):  # unless another request of the name wrote there
                        path.parent.rmdir()
