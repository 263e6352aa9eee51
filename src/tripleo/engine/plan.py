"""What a converge does with each native resource: the desired resource against the stored record gives one
:class:`Action` (DESIGN.md: desired vs stored -> actions). Deciding changes nothing; the executor
(:mod:`tripleo.engine.executor`) runs the actions, and a dry run stops at the decisions (its plan is their
labels).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tripleo.engine.state import COMPLETE, ResourceRecord

__all__ = ["ADDED", "REPLACED", "UNCHANGED", "UPDATED", "Action", "choose"]

UNCHANGED = "unchanged"
ADDED = "added"
UPDATED = "updated in place"
REPLACED = "replaced"


@dataclass(frozen=True)
class Action:
    """One resource's change: its plan label, the id it acts under and, for an update in place, the old
    properties to hand the plugin (None: the stored ones, read when the update runs; {}: none are left)."""

    label: str
    physical_id: str = ""
    old_properties: dict[str, Any] | None = None

    @property
    def verb(self) -> str:
        """The record's action: UPDATE for an update in place, else CREATE (a replacement is a create)."""
        return "UPDATE" if self.label == UPDATED else "CREATE"


def choose(
    desired: ResourceRecord,
    stored: ResourceRecord | None,
    failed: ResourceRecord | None,
    updatable: Callable[[], bool],
) -> Action:
    """The action for one native resource.

    :param desired: the resource as the template wants it (its type, implementation and ``props_hash``).
    :param stored: its record, or None when it is new.
    :param failed: a replacement that failed or was killed (its id is taken again when replacing).
    :param updatable: whether the plugin updates the changed properties in place (asked only when the
        type stayed and the properties changed: it reads the old properties).
    """
    if stored is not None and stored.status == COMPLETE and stored.action != "DELETE":
        if stored.type == desired.type and stored.props_hash == desired.props_hash:
            return Action(UNCHANGED, stored.physical_id)
        same_type = stored.type == desired.type and stored.implementation == desired.implementation
        if same_type and updatable():
            return Action(UPDATED, stored.physical_id)
        # a replacement tried before keeps its id: what it reserved is found again, not taken twice
        return Action(REPLACED, failed.physical_id if failed is not None else str(uuid.uuid4()))
    if stored is not None and stored.action == "UPDATE" and stored.status != COMPLETE:
        # an update in place that failed or was killed: run it again (its old properties are gone)
        return Action(UPDATED, stored.physical_id, {})
    # new, or a create that failed or was interrupted: reuse the id chosen before (idempotent)
    return Action(
        ADDED, stored.physical_id if stored is not None and stored.physical_id else str(uuid.uuid4())
    )
