"""Stacks, resources, events and outputs in the JSON shapes of Heat's Orchestration API v1.

Resource records name a resource by its path in the tree (``Compute/0/Server``); Heat names it by its
nested stack and its own name. Each nested stack gets a stable name and id derived from the root stack's
and its path, so the ``stack`` links python-heatclient reads stay consistent between calls.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tripleo.resources.records import StackEvent, StackResource, StackSummary

__all__ = [
    "Links",
    "event_body",
    "output_entries",
    "required_by",
    "resource_body",
    "stack_body",
    "stack_ids",
    "stack_summary",
    "stamp",
]

STACK_TYPE = "OS::Heat::Stack"


def stamp(when: dt.datetime | None) -> str | None:
    """Heat's timestamps: ISO 8601 to the second, UTC, with a ``Z``."""
    if when is None:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Links:
    """URLs under ``{base}/v1/{project}`` for one root stack and its nested stacks."""

    base: str
    name: str
    id: str
    ids: Mapping[str, str] = field(default_factory=dict)  # path -> physical id of resources with a stack

    def nested(self, stack_path: str) -> tuple[str, str]:
        """(name, id) of the stack at ``stack_path`` ("" is the root). As in Heat, a nested stack's id is
        the physical id of the resource that owns it (when known), so heatclient can name nested events
        ``Parent.Child``."""
        if not stack_path:
            return self.name, self.id
        name = f"{self.name}-{stack_path.replace('/', '-')}"
        return name, self.ids.get(stack_path) or str(uuid.uuid5(uuid.UUID(self.id), stack_path))

    def stack(self, stack_path: str = "") -> str:
        name, sid = self.nested(stack_path)
        return f"{self.base}/stacks/{name}/{sid}"


def stack_ids(resources: Iterable[StackResource]) -> dict[str, str]:
    """path -> physical id of every resource among ``resources`` that owns a nested stack in them."""
    rows = list(resources)
    owners = {r.stack_path for r in rows if r.stack_path}
    return {r.path: r.physical_id for r in rows if r.path in owners and r.physical_id}


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


def _leaf(path: str) -> str:
    return path.rpartition("/")[2]


def stack_summary(row: StackSummary, base: str, description: str = "") -> dict[str, Any]:
    """A ``GET /stacks`` entry."""
    created, updated = stamp(row.created_at), stamp(row.updated_at)
    return {
        "id": row.id,
        "stack_name": row.name,
        "description": description,
        "creation_time": created,
        "updated_time": None if updated == created or row.action == "CREATE" else updated,
        "deletion_time": None,
        "stack_status": f"{row.action}_{row.status}",
        "stack_status_reason": row.reason or f"Stack {row.action} {row.status.lower().replace('_', ' ')}",
        "stack_owner": None,
        "parent": None,
        "stack_user_project_id": None,
        "project": "admin",
        "tags": None,
        "links": [{"href": Links(base, row.name, row.id).stack(), "rel": "self"}],
    }


def output_entries(outputs: Mapping[str, Any], descriptions: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "output_key": key,
            "output_value": outputs[key],
            "description": descriptions.get(key) or "No description given",
        }
        for key in sorted(outputs)
    ]


def stack_body(
    row: StackSummary,
    base: str,
    parameters: Mapping[str, Any],
    outputs: list[dict[str, Any]] | None,
    description: str = "",
) -> dict[str, Any]:
    """A ``GET /stacks/{name}/{id}`` body's ``stack``."""
    body = stack_summary(row, base, description)
    body.update(
        {
            "parameters": {
                "OS::stack_id": row.id,
                "OS::stack_name": row.name,
                "OS::project_id": "admin",
                **{k: v if isinstance(v, str) else str(v) for k, v in parameters.items()},
            },
            "template_description": description,
            "disable_rollback": True,
            "notification_topics": [],
            "capabilities": [],
            "timeout_mins": None,
        }
    )
    if outputs is not None:
        body["outputs"] = outputs
    return body


def resource_body(
    res: StackResource, links: Links, parents: set[str], required_by: list[str]
) -> dict[str, Any]:
    """One resource as ``GET .../resources`` lists it; ``parents`` are the paths that own a nested stack."""
    stack_path = _parent(res.path)
    stack_name, _ = links.nested(stack_path)
    body: dict[str, Any] = {
        "resource_name": _leaf(res.path),
        "logical_resource_id": _leaf(res.path),
        "physical_resource_id": res.physical_id,
        "resource_type": res.type,
        "resource_status": f"{res.action}_{res.status}",
        "resource_status_reason": res.reason or "state changed",
        "creation_time": stamp(res.updated_at),
        "updated_time": stamp(res.updated_at),
        "required_by": required_by,
        "links": [
            {"href": f"{links.stack(stack_path)}/resources/{_leaf(res.path)}", "rel": "self"},
            {"href": links.stack(stack_path), "rel": "stack"},
        ],
    }
    if res.path in parents:
        body["links"].append({"href": links.stack(res.path), "rel": "nested"})
    if stack_path:
        body["parent_resource"] = _leaf(stack_path)
        body["stack_name"] = stack_name
    return body


def required_by(resources: Iterable[StackResource]) -> dict[str, list[str]]:
    """path -> the names of the resources in the same stack that require it."""
    out: dict[str, list[str]] = {}
    for res in resources:
        for dep in res.requires or []:
            target = f"{res.stack_path}/{dep}" if res.stack_path else dep
            out.setdefault(target, []).append(_leaf(res.path))
    return out


def event_body(event: StackEvent, links: Links, nested: bool) -> dict[str, Any]:
    """One event; an event of the stack itself (path "") is named after the stack, as Heat's are."""
    stack_path = _parent(event.path)
    name = _leaf(event.path) if event.path else links.name
    physical = event.physical_id if event.path else links.id
    self_href = f"{links.stack(stack_path)}/resources/{name}/events/{event.id}"
    body: dict[str, Any] = {
        "id": str(event.id),
        "event_time": stamp(event.time),
        "resource_name": name,
        "logical_resource_id": name,
        "physical_resource_id": physical,
        "resource_status": f"{event.action}_{event.status}",
        "resource_status_reason": event.reason or "state changed",
        "links": [
            {"href": self_href, "rel": "self"},
            {"href": f"{links.stack(stack_path)}/resources/{name}", "rel": "resource"},
            {"href": links.stack(stack_path), "rel": "stack"},
        ],
    }
    if nested:
        body["links"].append({"href": links.stack(), "rel": "root_stack"})
    return body
