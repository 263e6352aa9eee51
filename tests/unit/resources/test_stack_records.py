"""Issue 23: the stack service hands out frozen records, not ORM rows, and the CLI, the API and the
workflows reach the stack tables only through it (no SQLAlchemy, no stack model imported there)."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from tripleo.errors import InputError
from tripleo.resources.service import (
    Options,
    StackEvent,
    StackRecord,
    StackResource,
    StackService,
    StackSummary,
)
from tripleo.storage import Database

SRC = Path(__file__).resolve().parents[3] / "src" / "tripleo"
EDGES = ("api", "cli", "workflows")
FORBIDDEN = ("sqlalchemy", "tripleo.storage.stack_models", "tripleo.storage.stacks")
TEMPLATE = """heat_template_version: "2018-08-31"
description: two things
parameters:
  secret: {type: string, hidden: true}
resources:
  first:
    type: OS::Heat::TestResource
    properties: {value: v}
  second:
    type: OS::Heat::TestResource
    properties: {value: {get_attr: [first, output]}}
outputs:
  out: {value: {get_attr: [second, output]}}
"""


def _imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out += [(node.lineno, node.module)] + [
                (node.lineno, f"{node.module}.{a.name}") for a in node.names
            ]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
    return out


def test_the_edges_import_neither_sqlalchemy_nor_the_stack_models() -> None:
    found = [
        f"{path.relative_to(SRC)}:{line}: {module}"
        for edge in EDGES
        for path in sorted((SRC / edge).rglob("*.py"))
        for line, module in _imports(path)
        if any(module == f or module.startswith(f"{f}.") for f in FORBIDDEN)
    ]
    assert found == []


@pytest.fixture()
def service(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StackService:
    monkeypatch.setenv("TRIPLEO_HOME", str(tmp_path / "home"))
    db = Database(db_url)
    db.upgrade()
    svc = StackService(db)
    template = tmp_path / "t.yaml"
    template.write_text(TEMPLATE)
    opts = Options(backend="noop", stack_events=True)
    svc.create("recorded", str(template), [], {"secret": "s3cret-value"}, opts)
    return svc


def test_queries_return_frozen_records(service: StackService, tmp_path: Path) -> None:
    stack = service.get("recorded")
    assert isinstance(stack, StackRecord) and (stack.action, stack.status) == ("CREATE", "COMPLETE")
    assert stack.parameters == {"secret": "s3cret-value"} and "out" in stack.outputs
    with pytest.raises(dataclasses.FrozenInstanceError):
        stack.status = "FAILED"  # type: ignore[misc]
    assert [s.name for s in service.stacks()] == ["recorded"]
    (summary,) = service.summaries()
    assert type(summary) is StackSummary and (summary.id, summary.name) == (stack.id, "recorded")
    assert service.find("recorded") == stack == service.find(stack.id)
    assert service.find("nothing") is None
    resources = service.resources("recorded")
    assert [r.path for r in resources] == ["first", "second"]
    assert all(isinstance(r, StackResource) for r in resources)
    assert resources[1].requires == ["first"] and resources[0].status == "COMPLETE"
    events = service.events("recorded")
    assert all(isinstance(e, StackEvent) for e in events)
    assert (events[0].path, events[0].status) == ("", "IN_PROGRESS")
    assert (events[-1].path, events[-1].status) == ("", "COMPLETE")
    files = service.files(stack)
    assert files == {str(tmp_path / "t.yaml"): TEMPLATE}
    assert "s3cret-value" in service.secrets("recorded")


def test_a_missing_stack_is_refused(service: StackService) -> None:
    for query in (service.get, service.resources, service.events, service.secrets):
        with pytest.raises(InputError, match='stack "gone" not found'):
            query("gone")
