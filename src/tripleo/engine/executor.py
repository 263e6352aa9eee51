"""Run a stack tree's actions concurrently, in dependency order, with timeouts and resumable state.

One control thread walks the tree: a resource starts once everything it requires is done; native
resources run their plugin action on a thread pool; a template resource or a group becomes a nested stack
whose resources join the same schedule (no worker ever blocks on a nested stack). State is written in
batches: the intent (``*_IN_PROGRESS`` with the physical id chosen up front) before an action runs, the
result after, so a run killed at any point resumes without creating anything twice.

Create and update are one operation, ``converge``: each resource is compared with its stored record and
is created, left alone (identical resolved properties: nothing runs), updated in place, or replaced
(created anew, the old one deleted after everything else succeeded). Stored resources the new tree no
longer has are deleted last, in reverse dependency order.
"""

from __future__ import annotations

import collections
import hashlib
import json
import queue
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tripleo.engine.live import GroupLive, NativeLive, NestedLive
from tripleo.engine.plan import REPLACED, UNCHANGED, Action, choose
from tripleo.engine.stack import Resource, Stack
from tripleo.engine.state import (
    COMPLETE,
    FAILED,
    IN_PROGRESS,
    ActionContext,
    Event,
    Outcome,
    Plugin,
    PluginSource,
    ResourceRecord,
    StateStore,
)
from tripleo.errors import TripleoError

__all__ = ["Executor", "RunResult"]

_OLD = "#old"
_FAILED = "#failed"  # a replacement that failed or was killed, deleted once the original is current again


@dataclass
class RunResult:
    ok: bool
    reason: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    plan: list[tuple[str, str]] = field(default_factory=list)


class _Run:
    """One stack being converged."""

    __slots__ = ("changed", "parent", "record", "remaining", "res", "stack", "waiting")

    def __init__(
        self, stack: Stack, parent: _Run | None, res: Resource | None, record: ResourceRecord | None
    ):
        self.stack = stack
        self.parent = parent
        self.res = res
        self.record = record
        self.waiting: dict[str, Resource] = dict(stack.resources)
        self.remaining = len(stack.resources)
        self.changed = False


def _normal(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def props_digest(value: Any, memo: dict[int, tuple[Any, str]] | None = None) -> str:
    """A stable digest of resolved properties: equal digests mean nothing to do.

    ``memo`` (object id -> (object, digest)) spares re-encoding a large value shared by many resources,
    such as the input every member of a deployment group receives.
    """
    if not isinstance(value, dict) or memo is None:
        return hashlib.sha256(_normal(value).encode()).hexdigest()
    parts = []
    for key in sorted(value, key=str):
        item = value[key]
        if isinstance(item, (dict, list)):
            known = memo.get(id(item))
            if known is None or known[0] is not item:
                known = (item, hashlib.sha256(_normal(item).encode()).hexdigest())
                memo[id(item)] = known
            parts.append(f"{key!r}:{known[1]}")
        else:
            parts.append(f"{key!r}={_normal(item)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _changed_keys(old: Any, new: Any) -> set[str]:
    old = old if isinstance(old, dict) else {}
    return {k for k in set(old) | set(new) if _normal(old.get(k)) != _normal(new.get(k))}


def _shown(path: str) -> str:
    """A record's resource path (an original kept during its replacement, or a failed replacement, is
    shown as the resource it stands for)."""
    return path.removesuffix(_OLD).removesuffix(_FAILED)


def _join(stack_path: str, name: str) -> str:
    return f"{stack_path}/{name}" if stack_path else name


class Executor:
    """Converges or deletes one stack tree.

    :param plugins: native resource types.
    :param store: where records and events go.
    :param workers: concurrent plugin actions (default 8).
    :param dry_run: compute the plan only: no plugin runs, nothing is saved.
    """

    def __init__(
        self,
        plugins: PluginSource,
        store: StateStore,
        *,
        workers: int = 8,
        resource_timeout: float = 600.0,
        stack_timeout: float = 3600.0,
        dry_run: bool = False,
        clock: Callable[[], float] = time.monotonic,
        stack_name: str = "overcloud",
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.plugins = plugins
        self.store = store
        self.workers = max(1, workers)
        self.resource_timeout = resource_timeout
        self.stack_timeout = stack_timeout
        self.dry_run = dry_run
        self.clock = clock
        self.stack_name = stack_name
        # told of every action saved before it runs (servers, ports: the slow ones) and, every few seconds,
        # of how far the run is
        self.progress = progress
        self._reset()

    def _reset(self) -> None:
        self.stored: dict[str, ResourceRecord] = {}
        self.visited: set[str] = set()
        self.failure: str | None = None
        self.result = RunResult(ok=True)
        self._out_records: dict[str, ResourceRecord] = {}
        self._out_events: list[Event] = []
        self._out_removed: list[str] = []
        self._dirty: list[_Run] = []
        self._futures: dict[Future[Any], tuple[Any, ...]] = {}
        self._backlog: collections.deque[
            tuple[Callable[..., Any], tuple[Any, ...], tuple[Any, ...], bool]
        ] = collections.deque()
        self._external_waiting = 0
        self._memo: dict[int, tuple[Any, str]] = {}
        self._completed: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()
        self._root: _Run | None = None
        self._deadline = 0.0
        self._announced: set[str] = set()
        self._last_report = self.clock()

    # -- persistence ----------------------------------------------------------------------------------

    def _save(self, record: ResourceRecord, event: bool = True) -> None:
        if self.dry_run:
            return
        self._out_records[record.path] = record
        if event:
            self._out_events.append(
                Event(record.path, record.action, record.status, record.reason, record.physical_id)
            )
            if self.progress is not None:
                self._announce(record)

    def _announce(self, record: ResourceRecord) -> None:
        assert self.progress is not None
        if record.path not in self._announced:
            return  # not an external action: only counted
        reason = f": {record.reason}" if record.reason else ""
        self.progress(f"{record.path} {record.action}_{record.status}{reason}")
        if record.status != IN_PROGRESS:
            self._announced.discard(record.path)

    def _report(self) -> None:
        if self.progress is None or self.clock() - self._last_report < 5.0:
            return
        self._last_report = self.clock()
        done = sum(self.result.counts.values())
        self.progress(f"{done} resources done, {len(self._futures) + len(self._backlog)} in progress")

    def _remove(self, record: ResourceRecord, event: bool = True) -> None:
        if self.dry_run:
            return
        self._out_records.pop(record.path, None)
        self._out_removed.append(record.path)
        if not event:
            return
        self._out_events.append(Event(_shown(record.path), "DELETE", COMPLETE, "", record.physical_id))
        if self.progress is not None and record.path in self._announced:
            self._announced.discard(record.path)
            self.progress(f"{_shown(record.path)} DELETE_COMPLETE")

    def _flush(self) -> None:
        if self._out_records or self._out_events or self._out_removed:
            self.store.save(list(self._out_records.values()), self._out_events, self._out_removed)
            self._out_records, self._out_events, self._out_removed = {}, [], []

    def _fail(self, path: str, reason: str) -> None:
        if self.failure is None:
            self.failure = f"{path}: {reason}" if path else reason

    # -- converge --------------------------------------------------------------------------------------

    def converge(self, top: Stack) -> RunResult:
        """Create or update ``top`` (already validated) to match its template."""
        self._reset()
        self.stored = self.store.load()
        self._deadline = self.clock() + self.stack_timeout
        if not top.resources and top.template.resources:
            top.expand(recursive=False)
        self._root = self._start_run(top, None, None, None)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="tripleo-action") as pool:
            self._loop(pool, self._schedule)
            if self.failure is None and self._root.remaining == 0:
                obsolete = [r for p, r in self.stored.items() if p not in self.visited or p.endswith(_OLD)]
                if self.dry_run:  # the plan already says "replaced"
                    obsolete = [r for r in obsolete if not r.path.endswith(_OLD)]
                self._delete_all(pool, obsolete)
            self._flush()
        self.result.ok = self.failure is None
        self.result.reason = self.failure or ""
        if self.result.ok and self._root.remaining:
            self.result.ok, self.result.reason = (
                False,
                "resources were left waiting (dependency never finished)",
            )
        return self.result

    def _submit(
        self, fn: Callable[..., Any], args: tuple[Any, ...], info: tuple[Any, ...], external: bool
    ) -> None:
        """Queue ``fn(*args)``. An action with effects outside the database (a server, a port) starts only
        once its ``IN_PROGRESS`` record is saved; the others start at once and are saved with their result
        (a crash before that just runs them again under the same physical id)."""
        if self.failure is not None:
            return
        self._backlog.append((fn, args, info, external))
        self._external_waiting += external
        record = next((item for item in info if isinstance(item, ResourceRecord)), None)
        if external and self.progress is not None and record is not None:
            self._announced.add(record.path)  # servers, ports: slow enough to be worth a line each
            self._announce(record)

    def _start_backlog(self, pool: ThreadPoolExecutor) -> None:
        if self._external_waiting:
            self._flush()
        while self._backlog and len(self._futures) < 2 * self.workers and self.failure is None:
            fn, args, info, external = self._backlog.popleft()
            self._external_waiting -= external
            future = pool.submit(fn, *args)
            self._futures[future] = (*info, self.clock())
            future.add_done_callback(self._completed.put)

    def _loop(self, pool: ThreadPoolExecutor, schedule: Callable[[ThreadPoolExecutor], None]) -> None:
        last_flush = self.clock()
        while True:
            if self.failure is None:
                schedule(pool)
            self._start_backlog(pool)
            if not self._futures or self.clock() - last_flush > 0.25 or len(self._out_records) > 500:
                self._flush()
                last_flush = self.clock()
            if not self._futures:
                return
            timeout = max(0.01, min(1.0, self.resource_timeout / 4, self._deadline - self.clock()))
            try:
                done = [self._completed.get(timeout=timeout)]
            except queue.Empty:
                done = []
            while True:
                try:
                    done.append(self._completed.get_nowait())
                except queue.Empty:
                    break
            self._check_timeouts()
            for future in done:
                self._finish(future)
            self._report()

    def _check_timeouts(self) -> None:
        now = self.clock()
        if now > self._deadline:
            self._fail("", f"stack timed out after {self.stack_timeout:g} s")
        for future, info in list(self._futures.items()):
            if now - info[-1] > self.resource_timeout:
                record: ResourceRecord = info[2] if isinstance(info[2], ResourceRecord) else info[1]
                reason = f"timed out after {self.resource_timeout:g} s"
                self._fail(record.path, reason)
                record.status, record.reason = FAILED, reason
                self._save(record)
                del self._futures[future]

    def _start_run(self, stack: Stack, parent: _Run | None, res: Resource | None, record: Any) -> _Run:
        run = _Run(stack, parent, res, record)
        if run.remaining == 0:
            self._finish_run(run)
        else:
            self._dirty.append(run)
        return run

    def _schedule(self, pool: ThreadPoolExecutor) -> None:
        while self._dirty and self.failure is None:
            run = self._dirty.pop()
            for name, res in list(run.waiting.items()):
                if self.failure is not None:
                    return
                if all(dep not in run.waiting and dep in run.stack.live for dep in res.requires):
                    del run.waiting[name]
                    self._begin(pool, run, res)

    def _done(self, run: _Run, res: Resource) -> None:
        run.remaining -= 1
        if run.remaining == 0:
            self._finish_run(run)
        elif run.waiting:
            self._dirty.append(run)

    def _begin(self, pool: ThreadPoolExecutor, run: _Run, res: Resource) -> None:
        self.visited.add(res.path)
        try:
            props = run.stack.resolve_properties(res)
            if res.kind != "native":
                child = run.stack.make_child(res, props)
                child.expand(recursive=False)
        except TripleoError as exc:
            self._fail(res.path, str(exc))
            return
        stored = self.stored.get(res.path)
        if res.kind != "native":
            self._begin_nested(run, res, props, child, stored)
        else:
            self._begin_native(pool, run, res, props, stored)

    def _record(self, run: _Run, res: Resource, action: str, physical_id: str, props: Any) -> ResourceRecord:
        return ResourceRecord(
            path=res.path,
            stack_path=run.stack.path,
            name=res.name,
            type=res.type,
            implementation=res.impl.display,
            kind=res.kind,
            action=action,
            status=IN_PROGRESS,
            physical_id=physical_id,
            properties=props,
            props_hash=props_digest(props, self._memo),
            requires=sorted(res.requires),
        )

    def _begin_nested(
        self, run: _Run, res: Resource, props: Any, child: Stack, stored: ResourceRecord | None
    ) -> None:
        res.nested = child
        fresh = stored is None or stored.kind != res.kind or stored.status != COMPLETE
        action = "CREATE" if stored is None or (stored.action == "CREATE" and fresh) else "UPDATE"
        record = self._record(run, res, action, stored.physical_id if stored else child.stack_id, props)
        if fresh:
            self._save(record)
            run.changed = True
            if stored is None:
                self.result.plan.append((res.path, "added"))
        self._start_run(child, run, res, record)

    def _begin_native(
        self,
        pool: ThreadPoolExecutor,
        run: _Run,
        res: Resource,
        props: dict[str, Any],
        stored: ResourceRecord | None,
    ) -> None:
        plugin = self.plugins.plugin(res.impl.native or "")
        stored, failed = self._recover(res, stored)
        chosen = self._choose(res, props, stored, failed, plugin)
        if chosen.label == UNCHANGED:
            assert stored is not None
            run.stack.live[res.name] = NativeLive(stored.physical_id, stored.attributes)
            self.result.counts[UNCHANGED] += 1
            self._done(run, res)
            return
        action, physical_id, label, old_props = (
            chosen.verb,
            chosen.physical_id,
            chosen.label,
            chosen.old_properties,
        )
        self.result.plan.append((res.path, label))
        run.changed = True
        if self.dry_run:
            self._predict(run, res, props, stored, plugin, physical_id, label)
            return
        record = self._record(run, res, action, physical_id, props)
        if stored is not None and action == "UPDATE":
            record.data, record.attributes = dict(stored.data), dict(stored.attributes)
        self._save(record)
        ctx = ActionContext(
            res.path, res.name, self.stack_name, physical_id, self.resource_timeout, record.data
        )
        if action == "UPDATE" and stored is not None:
            self._submit(
                self._update,
                (plugin, ctx, props, stored, old_props),
                (run, res, record, label),
                plugin.external,
            )
        else:
            self._submit(plugin.create, (ctx, props), (run, res, record, label), plugin.external)

    def _choose(
        self,
        res: Resource,
        props: dict[str, Any],
        stored: ResourceRecord | None,
        failed: ResourceRecord | None,
        plugin: Plugin,
    ) -> Action:
        """The resource's action (:func:`tripleo.engine.plan.choose`), and what deciding it leaves behind: a
        failed replacement is dropped when the original stays; a replaced original is kept aside."""
        desired = ResourceRecord(res.path, "", res.name, res.type, res.impl.display, res.kind,
                                 props_hash=props_digest(props, self._memo))  # fmt: skip

        def updatable() -> bool:
            # fetched on demand and not kept: a tree's stored properties can be large, and thousands of
            # queued updates holding them was most of a large update's memory (the action reads them again)
            assert stored is not None
            return plugin.can_update(_changed_keys(self._old_properties(stored), props))

        action = choose(desired, stored, failed, updatable)
        if action.label != REPLACED:
            self._drop_failed(failed)
        elif stored is not None:
            old_copy = self._moved(stored, stored.path + _OLD)
            self._save(old_copy, event=False)
            self.stored[old_copy.path] = old_copy
        return action

    def _predict(
        self,
        run: _Run,
        res: Resource,
        props: dict[str, Any],
        stored: ResourceRecord | None,
        plugin: Plugin,
        physical_id: str,
        label: str,
    ) -> None:
        """A dry run: what the change will produce, as the resources after it see it; nothing runs."""
        known = stored if stored is not None and label != "added" else None
        attrs = known.attributes if known is not None else {}
        if plugin.pure:
            ctx = ActionContext(res.path, res.name, self.stack_name, physical_id, 0, {})
            attrs = plugin.create(ctx, props).attributes
        refid = physical_id if known is None or label == "replaced" else known.physical_id
        run.stack.live[res.name] = NativeLive(refid, attrs)
        self._done(run, res)

    def _old_properties(self, stored: ResourceRecord) -> dict[str, Any]:
        loaded = stored.properties if stored.properties is not None else self.store.properties(stored.path)
        return loaded if isinstance(loaded, dict) else {}

    def _update(
        self,
        plugin: Plugin,
        ctx: ActionContext,
        props: dict[str, Any],
        stored: ResourceRecord,
        old: dict[str, Any] | None = None,
    ) -> Any:
        """An update in place, run by a worker: the old properties are read only now."""
        return plugin.update(ctx, props, self._old_properties(stored) if old is None else old)

    def _recover(
        self, res: Resource, stored: ResourceRecord | None
    ) -> tuple[ResourceRecord | None, ResourceRecord | None]:
        """After a replacement failed or was killed, the original is current again: (current, failed
        replacement or None). The caller retries the replacement under the failed one's id, or drops it."""
        old = self.stored.get(res.path + _OLD)
        if stored is None or stored.status == COMPLETE or old is None or old.status != COMPLETE:
            return stored, None
        original = self._moved(old, res.path)
        self.stored.pop(old.path, None)
        self._remove(old, event=False)
        self._save(original, event=False)
        self.stored[res.path] = original
        return original, stored

    def _drop_failed(self, failed: ResourceRecord | None) -> None:
        """The original stays: the failed replacement is deleted with the other obsolete resources."""
        if failed is not None:
            kept = self._moved(failed, failed.path + _FAILED)
            self._save(kept, event=False)
            self.stored[kept.path] = kept

    def _moved(self, record: ResourceRecord, path: str) -> ResourceRecord:
        """A copy of a stored record under another path, with its properties (records are loaded without
        them, and the copy is saved whole: the next update compares against them)."""
        properties = record.properties
        if properties is None:
            properties = self.store.properties(record.path)
        return ResourceRecord(**{**record.__dict__, "path": path, "properties": properties})

    def _finish(self, future: Future[Any]) -> None:
        info = self._futures.pop(future, None)
        if info is None:
            return  # already failed by a timeout
        if info[0] is None:
            self._finish_delete(future, info)
            return
        run, res, record, label, _ = info
        try:
            outcome: Outcome = future.result()
        except Exception as exc:  # a plugin failure fails the resource, not the engine
            record.status, record.reason = FAILED, f"{type(exc).__name__}: {exc}"
            self._save(record)
            self._fail(record.path, record.reason)
            return
        record.status, record.attributes, record.data = COMPLETE, outcome.attributes, outcome.data
        self._save(record)
        self.result.counts[label] += 1
        run.stack.live[res.name] = NativeLive(record.physical_id, record.attributes)
        self._done(run, res)

    def _finish_run(self, run: _Run) -> None:
        try:
            outputs = run.stack.compute_outputs()
        except TripleoError as exc:
            self._fail(run.stack.path, str(exc))
            return
        if run.parent is None or run.res is None or run.record is None:
            self.result.outputs = outputs
            return
        res, record = run.res, run.record
        members = {name: run.stack.live[name] for name in run.stack.resources if name in run.stack.live}
        if res.kind == "template":
            live: Any = NestedLive(record.physical_id, outputs, members)
            record.attributes = _jsonable(outputs)
        else:
            live = GroupLive(record.physical_id, members, by_name=res.kind == "deployments")
            record.attributes = {}
        record.status = COMPLETE
        if run.changed or record.action == "CREATE":
            self._save(record)
            run.parent.changed = True
        run.parent.stack.live[res.name] = live
        self._done(run.parent, res)

    # -- delete ----------------------------------------------------------------------------------------

    def delete(self) -> RunResult:
        """Delete every stored resource of the tree, in reverse dependency order."""
        self._reset()
        self.stored = self.store.load()
        self._deadline = self.clock() + self.stack_timeout
        with ThreadPoolExecutor(self.workers, thread_name_prefix="tripleo-action") as pool:
            self._delete_all(pool, list(self.stored.values()))
            self._flush()
        self.result.ok = self.failure is None
        self.result.reason = self.failure or ""
        return self.result

    def _delete_all(self, pool: ThreadPoolExecutor, records: Iterable[ResourceRecord]) -> None:
        by_path = {r.path: r for r in records}
        if not by_path:
            return
        # blockers[x]: what must go before x (its users, its nested resources); blocks[y]: what y holds up
        blockers: dict[str, set[str]] = {p: set() for p in by_path}
        blocks: dict[str, list[str]] = {p: [] for p in by_path}
        for record in by_path.values():
            targets = [record.stack_path]
            for req in record.requires:
                targets += [_join(record.stack_path, req), _join(record.stack_path, req) + _OLD]
            for target in targets:
                if target in blockers and target != record.path:
                    blockers[target].add(record.path)
                    blocks[record.path].append(target)
        self._blockers, self._blocks = blockers, blocks
        self._ready = [p for p, blocked in blockers.items() if not blocked]
        self._deleting = by_path
        self._loop(pool, self._schedule_deletes)
        if self.failure is None and self._blockers:
            self._fail(sorted(self._blockers)[0], "could not be deleted (what it waits for was not deleted)")

    def _schedule_deletes(self, pool: ThreadPoolExecutor) -> None:
        while self._ready and self.failure is None:
            self._delete_one(pool, self._ready.pop())

    def _delete_one(self, pool: ThreadPoolExecutor, path: str) -> None:
        del self._blockers[path]
        record = self._deleting[path]
        self.result.plan.append((_shown(path), "deleted"))
        if self.dry_run or record.kind != "native":
            self._deleted(record)
            return
        record.action, record.status = "DELETE", IN_PROGRESS
        self._save(record)
        ctx = ActionContext(record.path, record.name, self.stack_name, record.physical_id, 0, record.data)
        plugin = self.plugins.plugin(record.implementation)
        self._submit(plugin.delete, (ctx,), (None, record), plugin.external)

    def _finish_delete(self, future: Future[Any], info: tuple[Any, ...]) -> None:
        record: ResourceRecord = info[1]
        try:
            future.result()
        except Exception as exc:
            record.status, record.reason = FAILED, f"{type(exc).__name__}: {exc}"
            self._save(record)
            self._fail(record.path, record.reason)
            return
        self._deleted(record)

    def _deleted(self, record: ResourceRecord) -> None:
        self._remove(record)
        self.result.counts["deleted"] += 1
        for target in self._blocks.get(record.path, ()):
            waiting = self._blockers.get(target)
            if waiting is not None and record.path in waiting:
                waiting.discard(record.path)
                if not waiting:
                    self._ready.append(target)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
