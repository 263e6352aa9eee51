"""What the executor persists and what it asks of resource plugins (both injected: the engine does no I/O).

``ResourceRecord`` is one resource's stored state, keyed by its path in the tree ("Compute/0/Server");
``StateStore`` loads and saves records and events in batches (a storage repository implements it);
``Plugin`` is the contract of a native resource type (``tripleo.resources`` implements them), after
Pulumi's dynamic providers: create / update / delete with typed results, and which properties may change
in place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["ActionContext", "Event", "Outcome", "Plugin", "PluginSource", "ResourceRecord", "StateStore"]

IN_PROGRESS, COMPLETE, FAILED = "IN_PROGRESS", "COMPLETE", "FAILED"


@dataclass
class ResourceRecord:
    path: str
    stack_path: str
    name: str
    type: str
    implementation: str
    kind: str
    action: str = "INIT"
    status: str = COMPLETE
    reason: str = ""
    physical_id: str = ""
    properties: Any = None
    props_hash: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    requires: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        return f"{self.action}_{self.status}"


@dataclass
class Event:
    path: str
    action: str
    status: str
    reason: str = ""
    physical_id: str = ""
    time: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


class StateStore(Protocol):
    """Persistence of one stack tree's resources and events."""

    def load(self) -> dict[str, ResourceRecord]:
        """Every stored resource record of the tree, by path."""

    def save(
        self, records: Iterable[ResourceRecord], events: Iterable[Event], removed: Iterable[str]
    ) -> None:
        """Upsert records, append events and drop removed paths, in one transaction."""

    def properties(self, path: str) -> Any:
        """The stored properties of one record (``load`` may leave them out: they can be large)."""


@dataclass
class ActionContext:
    """What a plugin action gets besides the properties."""

    path: str
    name: str
    stack_name: str
    physical_id: str
    timeout: float
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """What a create/update returns: attributes for get_attr, private data kept for later actions."""

    attributes: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


class Plugin(Protocol):
    """A native resource type."""

    type_name: str
    pure: bool  # create only computes its result: a dry run may call it
    external: bool  # acts outside the database (servers, ports): its intent is saved before it runs

    def can_update(self, changed: set[str]) -> bool:
        """True if these properties may change in place; otherwise the resource is replaced."""

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        """Create the resource (idempotent for a given ``ctx.physical_id``: a resumed create reuses it)."""

    def update(self, ctx: ActionContext, props: dict[str, Any], old: dict[str, Any]) -> Outcome:
        """Change it in place."""

    def delete(self, ctx: ActionContext) -> None:
        """Delete it (a missing resource counts as deleted)."""


class PluginSource(Protocol):
    def plugin(self, type_name: str) -> Plugin:
        """The plugin of a native type."""
