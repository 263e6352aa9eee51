"""Frozen records of stacks, their resources and events: what :class:`~tripleo.resources.service.StackService`
hands out. Built from the storage rows inside the service's transaction, so no ORM row (and no lazy load
of one after its session closed) reaches the CLI, the API or the workflows, as baremetal's ``Node`` and
network's ``PortRecord`` do for theirs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tripleo.storage.stack_models import EventRow, ResourceRow, StackRow

__all__ = ["StackEvent", "StackRecord", "StackResource", "StackSummary"]


@dataclass(frozen=True)
class StackSummary:
    """What a listing of stacks shows: identity, state and times (no parameters, outputs or files)."""

    id: str
    name: str
    action: str
    status: str
    reason: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: StackRow) -> StackSummary:
        return cls(
            id=row.id,
            name=row.name,
            action=row.action,
            status=row.status,
            reason=row.reason or "",
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


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

    @classmethod
    def from_row(cls, row: StackRow) -> StackRecord:
        return cls(
            id=row.id,
            name=row.name,
            action=row.action,
            status=row.status,
            reason=row.reason or "",
            created_at=row.created_at,
            updated_at=row.updated_at,
            template=row.template,
            environments=list(row.environments or []),
            parameters=dict(row.parameters or {}),
            outputs=dict(row.outputs or {}),
            generated=dict(row.generated or {}),
            inputs_hash=row.inputs_hash or "",
            backend=row.backend,
            files_id=row.files_id,
        )

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
class StackResource:
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

    @classmethod
    def from_row(cls, row: ResourceRow) -> StackResource:
        return cls(
            path=row.path,
            stack_path=row.stack_path,
            name=row.name,
            type=row.type,
            implementation=row.implementation,
            action=row.action,
            status=row.status,
            reason=row.reason or "",
            physical_id=row.physical_id or "",
            attributes=dict(row.attributes or {}),
            data=dict(row.data or {}),
            requires=list(row.requires or []),
            updated_at=row.updated_at,
        )


@dataclass(frozen=True)
class StackEvent:
    """One state change of a resource (path) or of the stack itself (path "")."""

    id: int
    time: dt.datetime
    path: str
    action: str
    status: str
    reason: str
    physical_id: str

    @classmethod
    def from_row(cls, row: EventRow) -> StackEvent:
        return cls(
            id=row.id,
            time=row.time,
            path=row.path,
            action=row.action,
            status=row.status,
            reason=row.reason or "",
            physical_id=row.physical_id or "",
        )
