"""Stack operations: validate, then converge or delete under a stack lock, persisting everything.

The CLI calls these; they bind the engine (templates, executor), the storage layer (records, events,
locks) and the resource plugins.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from tripleo.engine.state import Event, ResourceRecord
from tripleo.errors import InputError, OperationError
from tripleo.resources.registry import BACKENDS
from tripleo.resources.unchanged import NO_CHANGES, same_on_disk
from tripleo.storage import Database, held, tripleo_home
from tripleo.storage.stack_models import EventRow, ResourceRow, StackFilesRow, StackRow
from tripleo.storage.stacks import RESOURCE_FIELDS, ResourceTable

if TYPE_CHECKING:
    from tripleo.engine.executor import Executor, RunResult
    from tripleo.engine.stack import Stack

__all__ = ["Options", "StackService"]


@dataclass
class Options:
    """How to run: backend, concurrency and timeouts."""

    backend: str = "real"
    workers: int = 8
    resource_timeout: float = 600.0
    stack_timeout: float = 3600.0
    progress: Callable[[str], None] | None = None  # slow actions as they start and end, a count now and then


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

    def get(self, name: str) -> StackRow:
        with self.db.transaction() as session:
            row = session.scalar(select(StackRow).where(StackRow.name == name))
        if row is None:
            raise InputError(f'stack "{name}" not found')
        return row

    def secrets(self, name: str) -> set[str]:
        """The values of the stack's hidden parameters (:mod:`tripleo.resources.secrets`), to mask output."""
        from tripleo.resources.secrets import secrets_of

        row = self.get(name)
        with self.db.transaction() as session:
            blob = session.get(StackFilesRow, row.files_id) if row.files_id is not None else None
            files = dict(blob.files) if blob is not None else {}
        found = secrets_of({k: v for k, v in files.items() if isinstance(v, str)}, row.parameters or {})
        return found | {str(v) for v in (row.generated or {}).values()}

    def stacks(self) -> list[StackRow]:
        with self.db.transaction() as session:
            return list(session.scalars(select(StackRow).order_by(StackRow.created_at)))

    def resource_count(self, stack_id: str) -> int:
        with self.db.transaction() as session:
            return int(session.scalar(select(func.count()).where(ResourceRow.stack_id == stack_id)) or 0)

    def resources(self, name: str, nested_depth: int = 0) -> list[ResourceRow]:
        row = self.get(name)
        with self.db.transaction() as session:
            rows = session.scalars(
                select(ResourceRow).where(ResourceRow.stack_id == row.id).order_by(ResourceRow.id)
            )
            return [r for r in rows if r.path.count("/") <= nested_depth]

    def events(self, name: str) -> list[EventRow]:
        row = self.get(name)
        with self.db.transaction() as session:
            return list(
                session.scalars(select(EventRow).where(EventRow.stack_id == row.id).order_by(EventRow.id))
            )

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
        """Create a stack; run again after a failure or a crash, it resumes where it stopped."""
        self._check_backend(opts.backend)
        with self.db.transaction() as session:
            row = session.scalar(select(StackRow).where(StackRow.name == name))
            if row is not None and not (row.action == "CREATE" and row.status != "COMPLETE"):
                raise InputError(f'stack "{name}" already exists ({row.action}_{row.status}); use update')
            earlier = dict(row.generated or {}) if row is not None else {}
        top, generated, files = self._prepare(template, environments, parameters, earlier)
        with held(self.db, [f"stack:{name}"], "stack create"):
            with self.db.transaction() as session:
                row = session.scalar(select(StackRow).where(StackRow.name == name))
                if row is not None and not (row.action == "CREATE" and row.status != "COMPLETE"):
                    raise InputError(f'stack "{name}" already exists ({row.action}_{row.status}); use update')
                if row is None:
                    row = StackRow(id=str(uuid.uuid4()), name=name, outputs={})
                    session.add(row)
                row.generated = generated
                self._stamp(session, row, "CREATE", template, environments, parameters, files, opts.backend)
                stack_id = row.id
            return self._converge(
                stack_id, name, top, opts, "CREATE", _digest(files, parameters, opts.backend)
            )

    def update(
        self,
        name: str,
        template: str,
        environments: Sequence[str],
        parameters: dict[str, Any],
        opts: Options,
        dry_run: bool = False,
    ) -> Outcome:
        """Update to a new template/environment; an unchanged re-deploy does nothing and says so."""
        self._check_backend(opts.backend)
        current = self.get(name)
        same = NO_CHANGES
        if not dry_run and self._unchanged(current, template, environments, parameters, opts.backend):
            return Outcome(name, "UPDATE_COMPLETE", same)
        top, generated, files = self._prepare(template, environments, parameters, current.generated)
        digest = _digest(files, parameters, opts.backend)
        if not dry_run and current.inputs_hash == digest and current.status == "COMPLETE":
            return Outcome(name, "UPDATE_COMPLETE", same)
        if dry_run:
            executor = self._executor(current.id, name, opts, dry_run=True)
            result = executor.converge(top)
            return Outcome(name, "DRY_RUN", result.reason, dict(result.counts), result.plan,
                           outputs=dict(result.outputs))  # fmt: skip
        with held(self.db, [f"stack:{name}"], "stack update"):
            with self.db.transaction() as session:
                row = session.get(StackRow, current.id)
                assert row is not None
                row.generated = generated
                self._stamp(session, row, "UPDATE", template, environments, parameters, files, opts.backend)
            return self._converge(current.id, name, top, opts, "UPDATE", digest)

    def delete(self, name: str, opts: Options) -> Outcome:
        """Delete every resource in reverse dependency order, then the stack."""
        current = self.get(name)
        with held(self.db, [f"stack:{name}"], "stack delete"):
            with self.db.transaction() as session:
                row = session.get(StackRow, current.id)
                assert row is not None
                row.action, row.status, row.reason = "DELETE", "IN_PROGRESS", ""
            started = dt.datetime.now(dt.UTC)
            result = self._executor(
                current.id, name, Options(**{**opts.__dict__, "backend": current.backend})
            ).delete()
            with self.db.transaction() as session:
                row = session.get(StackRow, current.id)
                assert row is not None
                if result.ok:
                    session.delete(row)
                else:
                    row.status, row.reason = "FAILED", result.reason
        return self._outcome(name, "DELETE", result, started)

    # -- helpers -----------------------------------------------------------------------------------------

    def _unchanged(
        self,
        row: StackRow,
        template: str,
        environments: Sequence[str],
        parameters: dict[str, Any],
        backend: str,
    ) -> bool:
        """An identical re-deploy, recognised without parsing anything: same arguments, same file contents."""
        from tripleo.resources.unchanged import same_inputs

        if not same_inputs(row.__dict__, template, environments, parameters, backend):
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
        backend: str,
    ) -> None:
        row.action, row.status, row.reason = action, "IN_PROGRESS", ""
        row.template = os.path.abspath(template)
        row.environments, row.parameters = [os.path.abspath(e) for e in environments], parameters
        row.backend, row.updated_at = backend, dt.datetime.now(dt.UTC)
        row.inputs_hash = row.inputs_hash or ""
        blob = StackFilesRow(files=files)
        session.add(blob)
        session.flush()
        row.files_id = blob.id

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

    def _converge(
        self, stack_id: str, name: str, top: Stack, opts: Options, action: str, digest: str
    ) -> Outcome:
        started = dt.datetime.now(dt.UTC)
        executor = self._executor(stack_id, name, opts)
        _load_configs(executor)
        result = executor.converge(top)
        with self.db.transaction() as session:
            row = session.get(StackRow, stack_id)
            assert row is not None
            row.status = "COMPLETE" if result.ok else "FAILED"
            row.reason = result.reason
            row.outputs = json.loads(json.dumps(result.outputs, default=str)) if result.ok else row.outputs
            row.inputs_hash = digest if result.ok else ""
            row.updated_at = dt.datetime.now(dt.UTC)
        return self._outcome(name, action, result, started)

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
