"""The executor with an in-memory store and small plugins: order, failure, timeouts, resume, delete."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tripleo.engine import load_top
from tripleo.engine.executor import Executor
from tripleo.engine.state import ActionContext, Event, Outcome, ResourceRecord

Write = Callable[[str, Any], Path]


class MemoryStore:
    def __init__(self) -> None:
        self.records: dict[str, ResourceRecord] = {}
        self.events: list[Event] = []

    def load(self) -> dict[str, ResourceRecord]:
        # as the real store (storage.stacks.ResourceTable): records come without their properties
        return {p: ResourceRecord(**{**r.__dict__, "properties": None}) for p, r in self.records.items()}

    def save(
        self, records: Iterable[ResourceRecord], events: Iterable[Event], removed: Iterable[str]
    ) -> None:
        for record in records:
            self.records[record.path] = ResourceRecord(**record.__dict__)
        for path in removed:
            self.records.pop(path, None)
        self.events.extend(events)

    def properties(self, path: str) -> Any:
        return self.records[path].properties


class Recorder:
    """A plugin that records calls; ``sleep`` and ``fail`` properties steer it."""

    type_name = "OS::Heat::TestResource"
    pure = False
    external = False

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0

    def can_update(self, changed: set[str]) -> bool:
        return "update_replace" not in changed

    def _act(self, what: str, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.calls.append((what, ctx.path))
        try:
            time.sleep(float(props.get("wait_secs", 0)))
            if props.get("fail"):
                raise RuntimeError(f"{ctx.name} failed on purpose")
            return Outcome({"output": props.get("value")})
        finally:
            with self.lock:
                self.running -= 1

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        return self._act("create", ctx, props)

    def update(self, ctx: ActionContext, props: dict[str, Any], old: dict[str, Any]) -> Outcome:
        return self._act("update", ctx, props)

    def delete(self, ctx: ActionContext) -> None:
        with self.lock:
            self.calls.append(("delete", ctx.path))


class Plugins:
    def __init__(self) -> None:
        self.recorder = Recorder()

    def plugin(self, type_name: str) -> Recorder:
        return self.recorder


def _template(write: Write, resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> str:
    body = {"heat_template_version": "wallaby", "resources": resources, "outputs": outputs or {}}
    return str(write("t.yaml", body))


def _res(value: Any = None, **props: Any) -> dict[str, Any]:
    return {"type": "OS::Heat::TestResource", "properties": {"value": value, **props}}


def test_dependency_order_outputs_and_no_change_update(write: Write) -> None:
    resources = {
        "A": _res("a"),
        "B": _res({"get_attr": ["A", "output"]}),
        "C": _res({"list_join": ["-", [{"get_attr": ["B", "output"]}, "c"]]}),
    }
    path = _template(write, resources, {"c": {"value": {"get_attr": ["C", "output"]}}})
    store, plugins = MemoryStore(), Plugins()
    result = Executor(plugins, store).converge(load_top(path))
    assert result.ok and result.outputs == {"c": "a-c"}
    assert [p for _, p in plugins.recorder.calls] == ["A", "B", "C"]
    again = Executor(plugins, store).converge(load_top(path))
    assert again.ok and again.counts["unchanged"] == 3 and len(plugins.recorder.calls) == 3


def test_failure_stops_new_work_and_marks_the_first_error(write: Write) -> None:
    resources = {
        "Bad": _res(1, fail=True),
        "Later": {**_res(2), "depends_on": ["Bad"]},
        "Slow": _res(3, wait_secs=0.2),
    }
    store, plugins = MemoryStore(), Plugins()
    result = Executor(plugins, store).converge(load_top(_template(write, resources)))
    assert not result.ok and result.reason.startswith("Bad: RuntimeError: Bad failed on purpose")
    started = {p for _, p in plugins.recorder.calls}
    assert "Later" not in started  # never scheduled after the failure
    assert store.records["Bad"].state == "CREATE_FAILED"
    assert store.records["Slow"].state == "CREATE_COMPLETE"  # running work was allowed to finish


def test_resource_timeout(write: Write) -> None:
    store, plugins = MemoryStore(), Plugins()
    ex = Executor(plugins, store, resource_timeout=0.1)
    result = ex.converge(load_top(_template(write, {"Slow": _res(1, wait_secs=1.0)})))
    assert not result.ok and "Slow: timed out after 0.1 s" in result.reason


def test_concurrency_is_bounded_by_workers(write: Write) -> None:
    resources = {f"R{i}": _res(i, wait_secs=0.05) for i in range(12)}
    store, plugins = MemoryStore(), Plugins()
    assert Executor(plugins, store, workers=3).converge(load_top(_template(write, resources))).ok
    assert plugins.recorder.peak == 3


def test_update_in_place_replace_and_delete_order(write: Write) -> None:
    store, plugins = MemoryStore(), Plugins()
    first = {"A": _res(1), "B": _res({"get_attr": ["A", "output"]}), "Gone": _res(0)}
    assert Executor(plugins, store).converge(load_top(_template(write, first))).ok
    old_a = store.records["A"].physical_id
    second = {"A": _res(1, update_replace=True), "B": _res({"get_attr": ["A", "output"]}, client_name="x")}
    plugins.recorder.calls.clear()
    result = Executor(plugins, store).converge(load_top(_template(write, second)))
    assert result.ok
    assert ("create", "A") in plugins.recorder.calls and ("update", "B") in plugins.recorder.calls
    assert store.records["A"].physical_id != old_a  # replaced: new resource, old one deleted after
    assert "Gone" not in store.records and "A#old" not in store.records
    deletes = [p for what, p in plugins.recorder.calls if what == "delete"]
    assert set(deletes) == {"A#old", "Gone"}
    plugins.recorder.calls.clear()
    assert Executor(plugins, store).delete().ok
    order = [p for _, p in plugins.recorder.calls]
    assert order.index("B") < order.index("A")  # users go before what they use
    assert store.records == {}


def test_stack_timeout(write: Write) -> None:
    store, plugins = MemoryStore(), Plugins()
    ex = Executor(plugins, store, stack_timeout=0.1)
    resources = {"A": _res(1, wait_secs=0.3), "B": {**_res(2), "depends_on": ["A"]}}
    result = ex.converge(load_top(_template(write, resources)))
    assert not result.ok and result.reason == "stack timed out after 0.1 s"
    assert ("create", "B") not in plugins.recorder.calls


def test_progress_names_each_external_action_and_counts_the_rest(write: Write) -> None:
    path = _template(write, {"A": _res("a"), "B": _res("b", wait_secs=0.05)})
    store, plugins = MemoryStore(), Plugins()
    plugins.recorder.external = True  # like a server or a port: a line as it starts and as it ends
    lines: list[str] = []
    ticks = iter(range(0, 1000, 3))  # a clock that moves 3 s per reading: the count is reported too
    result = Executor(plugins, store, progress=lines.append, clock=lambda: float(next(ticks))).converge(
        load_top(path)
    )
    assert result.ok
    assert sorted(line for line in lines if "CREATE" in line) == [
        "A CREATE_COMPLETE",
        "A CREATE_IN_PROGRESS",
        "B CREATE_COMPLETE",
        "B CREATE_IN_PROGRESS",
    ]
    assert any(line.endswith("in progress") and "resources done" in line for line in lines)
    plugins.recorder.external = False
    quiet: list[str] = []
    Executor(plugins, MemoryStore(), progress=quiet.append).converge(load_top(path))
    assert quiet == []  # quick actions are only counted (and this run is too short for a count)
    lines.clear()
    plugins.recorder.external = True
    assert Executor(plugins, store, progress=lines.append).delete().ok
    assert sorted(lines) == [
        "A DELETE_COMPLETE",
        "A DELETE_IN_PROGRESS",
        "B DELETE_COMPLETE",
        "B DELETE_IN_PROGRESS",
    ]


def _failed_replacement(write: Write) -> tuple[MemoryStore, Plugins, str, Callable[..., Any]]:
    """A created, then an update whose replacement of A fails: (store, plugins, A's original id, run)."""
    store, plugins = MemoryStore(), Plugins()

    def run(resources: dict[str, Any]) -> Any:
        plugins.recorder.calls.clear()
        return Executor(plugins, store).converge(load_top(_template(write, resources)))

    assert run({"A": _res(1), "B": _res({"get_attr": ["A", "output"]})}).ok
    original = store.records["A"].physical_id
    failing = run({"A": _res(1, update_replace=True, fail=True), "B": _res({"get_attr": ["A", "output"]})})
    assert not failing.ok and store.records["A"].status == "FAILED" and "A#old" in store.records
    return store, plugins, original, run


def test_update_back_to_the_original_after_a_failed_replacement_changes_nothing(write: Write) -> None:
    store, plugins, original, run = _failed_replacement(write)
    result = run({"A": _res(1), "B": _res({"get_attr": ["A", "output"]})})
    assert result.ok, result.reason
    assert ("create", "A") not in plugins.recorder.calls and ("update", "B") not in plugins.recorder.calls
    assert [p for what, p in plugins.recorder.calls if what == "delete"] == ["A#failed"]
    assert set(store.records) == {"A", "B"}
    assert store.records["A"].physical_id == original and store.records["A"].status == "COMPLETE"
    assert run({"A": _res(1), "B": _res({"get_attr": ["A", "output"]})}).counts == {"unchanged": 2}
    # the original came back with its properties: a later change is compared with them (in place here)
    later = run({"A": _res(1, client_name="x"), "B": _res({"get_attr": ["A", "output"]})})
    assert later.ok and later.counts["updated in place"] == 1 and store.records["A"].physical_id == original


def test_another_update_after_a_failed_replacement_converges_from_the_original(write: Write) -> None:
    store, plugins, original, run = _failed_replacement(write)
    result = run({"A": _res(2), "B": _res({"get_attr": ["A", "output"]})})  # in place, from the original
    assert result.ok, result.reason
    assert ("update", "A") in plugins.recorder.calls and ("create", "A") not in plugins.recorder.calls
    assert store.records["A"].physical_id == original and set(store.records) == {"A", "B"}


def test_retrying_a_failed_replacement_keeps_its_id(write: Write) -> None:
    store, plugins, original, run = _failed_replacement(write)
    tried = store.records["A"].physical_id
    result = run({"A": _res(1, update_replace=True), "B": _res({"get_attr": ["A", "output"]})})
    assert result.ok, result.reason
    assert store.records["A"].physical_id == tried != original
    assert [p for what, p in plugins.recorder.calls if what == "delete"] == ["A#old"]
    assert set(store.records) == {"A", "B"}
