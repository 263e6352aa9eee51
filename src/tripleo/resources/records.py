"""Frozen records of stacks, their resources and events: what :class:`~tripleo.resources.service.StackService`
hands out. Built from the storage rows inside the service's transaction, so no ORM row (and no lazy load
of one after its session closed) reaches the CLI, the API or the workflows, as baremetal's ``Node`` and
network's ``PortRecord`` do for theirs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any, Self

from tripleo.storage.stack_models import EventRow, ResourceRow, StackRow

__all__ = ["StackEvent", "StackRecord", "StackResource", "StackSummary"]


def _adapted(kind: str, value: Any) -> Any:
    """A row's column as a record field declared ``kind``: text never None, JSON columns copied."""
    if kind == "str":
        return value or ""
    if kind.startswith("dict["):
        return dict(value or {})
    if kind.startswith("list["):
        return list(value or [])
    return value


class _FromRow:
    """A frozen record made from the storage row whose columns carry the record's field names."""

    @classmethod
    def from_row(cls, row: StackRow | ResourceRow | EventRow) -> Self:
        values = {f.name: _adapted(str(f.type), getattr(row, f.name)) for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**values)


@dataclass(frozen=True)
class StackSummary(_FromRow):
    """What a listing of stacks shows: identity, state and times (no parameters, outputs or files)."""

    id: str
    name: str
    action: str
    status: str
    reason: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class StackRecord(StackSummary):
    """One stack: its state, the arguments of its last operation, its outputs and generated values.

    ``files_id`` names the stored files it was built from (:meth:`StackService.files`); ``generated``
    holds hidden values: mask output with :meth:`StackService.secrets`.
    """

    template: str
    environments: list[str]
    parameters: dict[str, Any]
    outputs: dict[str, Any]
    generated: dict[str, Any]
    inputs_hash: str
    backend: str
    files_id: int | None

    def inputs(self) -> dict[str, Any]:
        """The fields :func:`tripleo.resources.unchanged.same_inputs` compares."""
        return {
            "status": self.status,
            "template": self.template,
            "environments": self.environments,
            "parameters": self.parameters,
            "backend": self.backend,
            "files_id": self.files_id,
        }


@dataclass(frozen=True)
class StackResource(_FromRow):
    """One resource of a stack tree, named by its path (``Compute/0/Server``); ``stack_path`` is the path
    of the nested stack it belongs to ("" for the root)."""

    path: str
    stack_path: str
    name: str
    type: str
    implementation: str
    action: str
    status: str
    reason: str
    physical_id: str
    attributes: dict[str, Any]
    data: dict[str, Any]
    requires: list[str]
    updated_at: dt.datetime


@dataclass(frozen=True)
class StackEvent(_FromRow):
    """One state change of a resource (path) or of the stack itself (path "")."""

    id: int
    time: dt.datetime
    path: str
    action: str
    status: str
    reason: str
    physical_id: str
