"""Stack operations: validate, then converge or delete under a stack lock, persisting everything.

The CLI calls these; they bind the engine (templates, executor), the storage layer (records, events,
locks) and the resource plugins. Each operation is two steps: a *claim* validates the input, takes the
stack's lock and marks the stack IN_PROGRESS in one transaction (so a name is claimed once, whoever
asks), and :meth:`StackService.run` does the work and releases the lock, in the same thread (the CLI) or
a worker thread later (the API's queue).

An operation whose process died leaves the stack IN_PROGRESS under a lock with a dead holder (or none):
the next claim of the stack, and :meth:`StackService.recover` (the API server at start), mark it FAILED
with "interrupted" and record the stack's own FAILED event, so a client waiting for it stops waiting.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, load_only

from tripleo.engine.state import Event, ResourceRecord
from tripleo.errors import InputError, OperationError
from tripleo.resources.records import StackEvent, StackRecord, StackResource, StackSummary
from tripleo.resources.registry import BACKENDS
from tripleo.resources.unchanged import NO_CHANGES, same_on_disk
from tripleo.storage import Database, tripleo_home
from tripleo.storage.locks import LockedError, acting_as, claiming, release
from tripleo.storage.stack_models import EventRow, ResourceRow, StackFilesRow, StackRow
from tripleo.storage.stacks import RESOURCE_FIELDS, ResourceTable

if TYPE_CHECKING:
    from tripleo.engine.executor import Executor, RunResult
    from tripleo.engine.stack import Stack

__all__ = ["Claim", "Options", "StackEvent", "StackRecord", "StackResource", "StackService", "StackSummary"]

LOG = logging.getLogger(__name__)


@dataclass
class Options:
    """How to run: backend, concurrency and timeouts."""

    backend: str = "real"
    workers: int = 8
    resource_timeout: float = 600.0
    stack_timeout: float = 3600.0
    progress: Callable[[str], None] | None = None  # slow actions as they start and end, a count now and then
    # record the stack's own events (IN_PROGRESS when claimed, COMPLETE/FAILED at the end), as Heat's API
    # shows them and its clients' --wait reads them
    stack_events: bool = False


class _Store:
    """The executor's StateStore over the stack_resources table."""

    def __init__(self, table: ResourceTable) -> None:
        self.table = table

    def load(self) -> dict[str, ResourceRecord]:
        return {row["path"]: ResourceRecord(**row) for row in self.table.load()}

    def save(
        self, records: Iterable[ResourceRecord], events: Iterable[Event], removed: Iterable[str]
    ) -> None:
        rows = [{f: getattr(r, f) for f in RESOURCE_FIELDS} for r in records]
        self.table.save(rows, [e.__dict__ for e in events], removed)

    def properties(self, path: str) -> Any:
        return self.table.properties(path)


@dataclass
class Outcome:
    name: str
    status: str
    reason: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    plan: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    outputs: dict[str, Any] = field(default_factory=dict)  # a dry run's: what the outputs will be


@dataclass
class Claim:
    """A validated operation that holds its stack's lock (as ``owner``) and has marked the stack
    IN_PROGRESS; :meth:`StackService.run` does it."""

    name: str
    stack_id: str
    action: str
    opts: Options
    owner: str
    top: Stack | None = None
    digest: str = ""


def _lock(name: str) -> str:
    return f"stack:{name}"


def _creatable(row: StackRow | None, name: str) -> None:
    """:raises InputError: the name is taken by a stack that is not a create to resume."""
    if row is not None and not (row.action == "CREATE" and row.status != "COMPLETE"):
        raise InputError(f'stack "{name}" already exists ({row.action}_{row.status}); use update')


def _event(session: Any, stack_id: str, action: str, status: str, reason: str) -> None:
    """The stack's own event (path ""; its physical id is the stack's id), as Heat records one."""
    session.add(
        EventRow(
            stack_id=stack_id,
            time=dt.datetime.now(dt.UTC),
            path="",
            action=action,
            status=status,
            reason=reason,
            physical_id=stack_id,
        )
    )


def _tree_files(tree: Stack, environments: Sequence[str]) -> dict[str, str]:
    """Contents of every file the tree was built from (templates, environments, get_file targets)."""
    paths = {s.template.path for s in tree.stacks() if s.template.path} | {
        os.path.abspath(e) for e in environments
    }
    files = {}
    for path in sorted(paths):
        with open(path, encoding="utf-8", errors="replace") as handle:
            files[path] = handle.read()
    for path, content in sorted(tree.options.file_cache.items()):
        if content is not None:
            files[os.path.abspath(path)] = content
    return files


def _digest(files: dict[str, str], parameters: dict[str, Any], backend: str) -> str:
    text = json.dumps({"files": files, "parameters": parameters, "backend": backend}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class StackService:
    """Create, update, delete and inspect stacks in one database."""

    def __init__(self, db: Database, provisioner: Callable[[], Any] | None = None) -> None:
        self.db = db
        # makes the lab's provisioning primitives (for lab-driven nodes), only when servers are built
        self.provisioner = provisioner

    # -- queries ----------------------------------------------------------------------------------------

    def get(self, name: str) -> StackRecord:
        """The stack named ``name``.

        :raises InputError: no such stack.
        """
        with self.db.transaction() as session:
            row = session.scalar(select(StackRow).where(StackRow.name == name))
            record = StackRecord.from_row(row) if row is not None else None
        if record is None:
            raise InputError(f'stack "{name}" not found')
        return record

    def find(self, ident: str) -> StackRecord | None:
        """The stack named ``ident``, else the one whose id is ``ident``; None when neither exists."""
        with self.db.transaction() as session:
            row = session.scalar(select(StackRow).where(StackRow.name == ident))
            if row is None:
                row = session.get(StackRow, ident)
            return StackRecord.from_row(row) if row is not None else None

    def files(self, stack: StackRecord) -> dict[str, str]:
        """Every file the stack was built from, as stored with it (path -> text)."""
        if stack.files_id is None:
            return {}
        with self.db.transaction() as session:
            blob = session.get(StackFilesRow, stack.files_id)
            files = dict(blob.files or {}) if blob is not None else {}
        return {k: v for k, v in files.items() if isinstance(v, str)}

    def secrets(self, name: str) -> set[str]:
        """The values of the stack's hidden parameters (:mod:`tripleo.resources.secrets`), to mask output.

        :raises InputError: no such stack.
        """
        from tripleo.resources.secrets import secrets_of

        row = self.get(name)
        found = secrets_of(self.files(row), row.parameters)
        return found | {str(v) for v in row.generated.values()}

    def stacks(self) -> list[StackRecord]:
        """Every stack, oldest first."""
        with self.db.transaction() as session:
            rows = session.scalars(select(StackRow).order_by(StackRow.created_at))
            return [StackRecord.from_row(r) for r in rows]

    def summaries(self) -> list[StackSummary]:
        """Every stack as :meth:`stacks` orders them, with only the columns a listing shows (decoding
        every stack's outputs and parameters would triple the time of a list of 100)."""
        columns = (StackRow.id, StackRow.name, StackRow.action, StackRow.status, StackRow.reason,
                   StackRow.created_at, StackRow.updated_at)  # fmt: skip
        with self.db.transaction() as session:
            query = select(StackRow).options(load_only(*columns)).order_by(StackRow.created_at)
            return [StackSummary.from_row(r) for r in session.scalars(query)]

    def resource_count(self, stack_id: str) -> int:
        with self.db.transaction() as session:
            return int(session.scalar(select(func.count()).where(ResourceRow.stack_id == stack_id)) or 0)

    def resources(self, name: str, nested_depth: int = 0) -> list[StackResource]:
        """The stack's resources down to ``nested_depth`` levels of nested stacks, in creation order.

        :raises InputError: no such stack.
        """
        row = self.get(name)
        with self.db.transaction() as session:
            rows = session.scalars(
                select(ResourceRow).where(ResourceRow.stack_id == row.id).order_by(ResourceRow.id)
            )
            return [StackResource.from_row(r) for r in rows if r.path.count("/") <= nested_depth]

    def events(self, name: str) -> list[StackEvent]:
        """Every event of the stack and its resources, oldest first.

        :raises InputError: no such stack.
        """
        row = self.get(name)
        with self.db.transaction() as session:
            rows = session.scalars(select(EventRow).where(EventRow.stack_id == row.id).order_by(EventRow.id))
            return [StackEvent.from_row(r) for r in rows]

    # -- operations -------------------------------------------------------------------------------------

    def _prepare(
        self,
        template: str,
        environments: Sequence[str],
        parameters: dict[str, Any],
        generated: dict[str, Any] | None = None,
    ) -> tuple[Stack, dict[str, Any], dict[str, str]]:
        """Validate the whole tree (bad input fails here, before any state changes) and generate a value
        for each hidden parameter without one (as tripleoclient does for a plan), keeping ``generated``."""
        from tripleo import engine
        from tripleo.resources.secrets import generate

        engine.use_parse_cache(str(tripleo_home() / "cache" / "templates"))

        known = dict(generated or {})
        tree = engine.load_tree(template, environments, parameters, generated=known)
        wanted = engine.unset_secrets(tree)
        if set(wanted) - set(known):
            known = generate(wanted, known)
            tree = engine.load_tree(template, environments, parameters, generated=known)
        if any(name for stack in tree.stacks() for name in stack.unset):
            # a parameter that nothing gives a value: the strict build names it, with its file and path
            engine.load_tree(template, environments, parameters, generated=known, require_values=True)
        files = _tree_files(tree, environments)
        top = engine.load_top(template, environments, parameters, generated=known)
        return top, known, files

    def create(
        self, name: str, template: str, environments: Sequence[str], parameters: dict[str, Any], opts: Options
    ) -> Outcome:
        """Create a stack; run again after a failure or a crash, it resumes where it stopped.

        :raises InputError: bad input, or the name is taken.
        :raises OperationError: the stack is locked, or the create failed.
        """
        return self.run(self.claim_create(name, template, environments, parameters, opts))

    def claim_create(
        self, name: str, template: str, environments: Sequence[str], parameters: dict[str, Any], opts: Options
    ) -> Claim:
        """Validate a create and claim the name: the stack row (new, or the create to resume) and its lock
        are written in one transaction, so of any number of claims of one name exactly one wins.

        :raises InputError: bad input; the name is taken (also by a create running now).
        :raises LockedError: the stack's lock is held with no stack row (a delete ending).
        """
        self._check_backend(opts.backend)
        with self.db.transaction() as session:
            row = session.scalar(select(StackRow).where(StackRow.name == name))
            _creatable(row, name)
            earlier = dict(row.generated or {}) if row is not None else {}
        top, generated, files = self._prepare(template, environments, parameters, earlier)
        owner = uuid.uuid4().hex
        try:
            with acting_as(owner), claiming(self.db, [_lock(name)], "stack create") as session:
                row = session.scalar(select(StackRow).where(StackRow.name == name))
                _creatable(row, name)
                if row is None:
                    row = StackRow(id=str(uuid.uuid4()), name=name, outputs={})
                    session.add(row)  # inserted by _stamp's flush, with the stack's fields
                self._interrupted(session, row)
                row.generated = generated
                self._stamp(session, row, "CREATE", template, environments, parameters, files, opts)
                stack_id = row.id
        except (LockedError, IntegrityError) as exc:
            if self._exists(name):
                raise InputError(f'stack "{name}" already exists (its create is running: {exc})') from None
            raise LockedError(str(exc)) from None
        return Claim(name, stack_id, "CREATE", opts, owner, top, _digest(files, parameters, opts.backend))

    def update(
        self,
        name: str,
        template: str,
        environments: Sequence[str],
        parameters: dict[str, Any],
        opts: Options,
        dry_run: bool = False,
    ) -> Outcome:
        """Update to a new template/environment; an unchanged re-deploy does nothing and says so.

        :raises InputError: bad input, or no such stack.
        :raises OperationError: the stack is locked, or the update failed.
        """
        if dry_run:
            self._check_backend(opts.backend)
            current = self.get(name)
            top, _, _ = self._prepare(template, environments, parameters, current.generated)
            result = self._executor(current.id, name, opts, dry_run=True).converge(top)
            return Outcome(name, "DRY_RUN", result.reason, dict(result.counts), result.plan,
                           outputs=dict(result.outputs))  # fmt: skip
        claimed = self.claim_update(name, template, environments, parameters, opts)
        return claimed if isinstance(claimed, Outcome) else self.run(claimed)

    def claim_update(
        self, name: str, template: str, environments: Sequence[str], parameters: dict[str, Any], opts: Options
    ) -> Claim | Outcome:
        """Validate an update and claim the stack; an unchanged one is done at once (its Outcome).

        :raises InputError: bad input, or no such stack.
        :raises LockedError: another operation holds the stack.
        """
        self._check_backend(opts.backend)
        current = self.get(name)
        if self._unchanged(current, template, environments, parameters, opts.backend):
            return self._no_changes(current, opts)
        top, generated, files = self._prepare(template, environments, parameters, current.generated)
        digest = _digest(files, parameters, opts.backend)
        if current.inputs_hash == digest and current.status == "COMPLETE":
            return self._no_changes(current, opts)
        with self._claiming(current, "stack update") as (session, row, owner):
            row.generated = generated
            self._stamp(session, row, "UPDATE", template, environments, parameters, files, opts)
        return Claim(name, current.id, "UPDATE", opts, owner, top, digest)

    def delete(self, name: str, opts: Options) -> Outcome:
        """Delete every resource in reverse dependency order, then the stack.

        :raises InputError: no such stack.
        :raises OperationError: the stack is locked, or the delete failed.
        """
        return self.run(self.claim_delete(name, opts))

    def claim_delete(self, name: str, opts: Options) -> Claim:
        """Claim a stack for its delete (run with the stack's own backend).

        :raises InputError: no such stack.
        :raises LockedError: another operation holds the stack.
        """
        current = self.get(name)
        opts = Options(**{**opts.__dict__, "backend": current.backend})
        with self._claiming(current, "stack delete") as (session, row, owner):
            row.action, row.status, row.reason = "DELETE", "IN_PROGRESS", ""
            if opts.stack_events:
                _event(session, row.id, "DELETE", "IN_PROGRESS", "Stack DELETE started")
        return Claim(name, current.id, "DELETE", opts, owner)

    @contextmanager
    def _claiming(self, current: StackRecord, what: str) -> Iterator[tuple[Session, StackRow, str]]:
        """The stack's lock taken by a new owner and its row, in one transaction (an operation a killed
        process left IN_PROGRESS is marked interrupted first); yields the session, the row and the owner.

        :raises InputError: the stack is gone.
        :raises LockedError: another operation holds the stack.
        """
        owner = uuid.uuid4().hex
        with acting_as(owner), claiming(self.db, [_lock(current.name)], what) as session:
            row = session.get(StackRow, current.id)
            if row is None:
                raise InputError(f'stack "{current.name}" not found')
            self._interrupted(session, row)
            yield session, row, owner

    def run(self, claim: Claim) -> Outcome:
        """Do a claimed operation, then release the stack's lock; an unexpected error marks the stack FAILED.

        :raises OperationError: the operation failed (the stack is FAILED with the reason).
        """
        try:
            with acting_as(claim.owner):
                if claim.action == "DELETE":
                    return self._delete(claim)
                assert claim.top is not None
                return self._converge(claim)
        except Exception as exc:
            self._fail(claim, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            with acting_as(claim.owner):
                release(self.db, [_lock(claim.name)])

    def abandon(self, claim: Claim, reason: str) -> None:
        """Give up a claimed operation that will not run: the stack is FAILED with ``reason``, unlocked."""
        try:
            self._fail(claim, reason)
        finally:
            with acting_as(claim.owner):
                release(self.db, [_lock(claim.name)])

    def recover(self) -> list[str]:
        """Mark FAILED ("interrupted") every stack operation whose process died: the stack is IN_PROGRESS
        and no live process holds its lock (as Heat's engine does with its stacks when it starts). A stack
        a live process works on is left alone. Returns the names of the stacks marked.
        """
        with self.db.transaction() as session:
            names = list(session.scalars(select(StackRow.name).where(StackRow.status == "IN_PROGRESS")))
        marked = []
        for name in names:
            owner = uuid.uuid4().hex
            try:
                with acting_as(owner), claiming(self.db, [_lock(name)], "stack recovery") as session:
                    row = session.scalar(select(StackRow).where(StackRow.name == name))
                    if row is not None and self._interrupted(session, row):
                        marked.append(name)
            except LockedError:
                continue  # a live process runs it
            with acting_as(owner):
                release(self.db, [_lock(name)])
        return marked

    # -- helpers -----------------------------------------------------------------------------------------

    def _unchanged(
        self,
        row: StackRecord,
        template: str,
        environments: Sequence[str],
        parameters: dict[str, Any],
        backend: str,
    ) -> bool:
        """An identical re-deploy, recognised without parsing anything: same arguments, same file contents."""
        from tripleo.resources.unchanged import same_inputs

        if not same_inputs(row.inputs(), template, environments, parameters, backend):
            return False
        with self.db.transaction() as session:
            blob = session.get(StackFilesRow, row.files_id)
            files = dict(blob.files) if blob is not None else None
        return files is not None and same_on_disk(files)

    @staticmethod
    def _check_backend(backend: str) -> None:
        if backend not in BACKENDS:
            raise InputError(f"--backend {backend}: expected one of {', '.join(BACKENDS)}")

    def _stamp(
        self,
        session: Any,
        row: StackRow,
        action: str,
        template: str,
        environments: Sequence[str],
        parameters: dict[str, Any],
        files: dict[str, str],
        opts: Options,
    ) -> None:
        row.action, row.status, row.reason = action, "IN_PROGRESS", ""
        row.template = os.path.abspath(template)
        row.environments, row.parameters = [os.path.abspath(e) for e in environments], parameters
        row.backend, row.updated_at = opts.backend, dt.datetime.now(dt.UTC)
        row.inputs_hash = row.inputs_hash or ""
        blob = StackFilesRow(files=files)
        session.add(blob)
        session.flush()
        row.files_id = blob.id
        if opts.stack_events:
            _event(session, row.id, action, "IN_PROGRESS", f"Stack {action} started")

    def _exists(self, name: str) -> bool:
        with self.db.transaction() as session:
            return session.scalar(select(StackRow.id).where(StackRow.name == name)) is not None

    def _no_changes(self, row: StackRecord, opts: Options) -> Outcome:
        """An update with nothing to do: done at once (with the stack events of one, as Heat's API)."""
        if opts.stack_events:
            with self.db.transaction() as session:
                _event(session, row.id, "UPDATE", "IN_PROGRESS", "Stack UPDATE started")
                _event(session, row.id, "UPDATE", "COMPLETE", NO_CHANGES)
        return Outcome(row.name, "UPDATE_COMPLETE", NO_CHANGES)

    @staticmethod
    def _interrupted(session: Any, row: StackRow) -> bool:
        """Mark an operation the caller found IN_PROGRESS while holding the stack's lock (so nobody runs it:
        its process died) FAILED, with the stack's FAILED event. Returns whether it was one."""
        if row.status != "IN_PROGRESS":
            return False
        reason = f"Stack {row.action} interrupted: the process running it stopped before it ended"
        LOG.warning("stack %s: %s", row.name, reason)
        row.status, row.reason, row.updated_at = "FAILED", reason, dt.datetime.now(dt.UTC)
        _event(session, row.id, row.action, "FAILED", reason)
        return True

    def _fail(self, claim: Claim, reason: str) -> None:
        """The claimed operation ended without recording its end: the stack is FAILED with ``reason``."""
        with self.db.transaction() as session:
            row = session.get(StackRow, claim.stack_id)
            if row is None or row.status != "IN_PROGRESS":
                return
            row.status, row.reason, row.updated_at = "FAILED", reason, dt.datetime.now(dt.UTC)
            if claim.opts.stack_events:
                _event(session, row.id, claim.action, "FAILED", reason)

    def _executor(self, stack_id: str, name: str, opts: Options, dry_run: bool = False) -> Executor:
        from tripleo.engine.executor import Executor
        from tripleo.resources.registry import Plugins

        return Executor(
            Plugins(
                opts.backend,
                self.db,
                self.provisioner() if self.provisioner and opts.backend == "real" else None,
            ),
            _Store(ResourceTable(self.db, stack_id)),
            workers=opts.workers,
            resource_timeout=opts.resource_timeout,
            stack_timeout=opts.stack_timeout,
            dry_run=dry_run,
            stack_name=name,
            progress=None if dry_run else opts.progress,
        )

    def _converge(self, claim: Claim) -> Outcome:
        assert claim.top is not None
        started = dt.datetime.now(dt.UTC)
        executor = self._executor(claim.stack_id, claim.name, claim.opts)
        _load_configs(executor)
        result = executor.converge(claim.top)
        with self.db.transaction() as session:
            row = session.get(StackRow, claim.stack_id)
            assert row is not None
            row.status = "COMPLETE" if result.ok else "FAILED"
            row.reason = result.reason
            row.outputs = json.loads(json.dumps(result.outputs, default=str)) if result.ok else row.outputs
            row.inputs_hash = claim.digest if result.ok else ""
            row.updated_at = dt.datetime.now(dt.UTC)
            if claim.opts.stack_events:
                done = result.reason or f"Stack {claim.action} completed successfully"
                _event(session, row.id, claim.action, row.status, done)
        return self._outcome(claim.name, claim.action, result, started)

    def _delete(self, claim: Claim) -> Outcome:
        started = dt.datetime.now(dt.UTC)
        result = self._executor(claim.stack_id, claim.name, claim.opts).delete()
        with self.db.transaction() as session:
            row = session.get(StackRow, claim.stack_id)
            assert row is not None
            if result.ok:
                session.delete(row)  # its events go with it: a client waiting for the delete sees a 404
            else:
                row.status, row.reason = "FAILED", result.reason
                if claim.opts.stack_events:
                    _event(session, row.id, "DELETE", "FAILED", result.reason)
        return self._outcome(claim.name, "DELETE", result, started)

    @staticmethod
    def _outcome(name: str, action: str, result: RunResult, started: dt.datetime) -> Outcome:
        seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
        status = f"{action}_{'COMPLETE' if result.ok else 'FAILED'}"
        outcome = Outcome(name, status, result.reason, dict(result.counts), result.plan, seconds)
        if not result.ok:
            raise OperationError(f"stack {name} {status}: {result.reason}")
        return outcome


def _load_configs(executor: Executor) -> None:
    """Software configs created by earlier runs, so deployments can find them by id."""
    from tripleo.resources.registry import Plugins

    plugins = executor.plugins
    if not isinstance(plugins, Plugins):
        return
    for record in executor.store.load().values():
        config = record.data.get("config") if isinstance(record.data, dict) else None
        if isinstance(config, dict):
            plugins.book.configs[record.physical_id] = config
