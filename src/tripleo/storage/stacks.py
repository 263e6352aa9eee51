"""Stack repository: stacks, resource records (upserted in batches) and events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, insert, select, update

from tripleo.storage.db import Database
from tripleo.storage.stack_models import EventRow, ResourceRow, StackRow

__all__ = ["RESOURCE_FIELDS", "ResourceTable"]

RESOURCE_FIELDS = (
    "path",
    "stack_path",
    "name",
    "type",
    "implementation",
    "kind",
    "action",
    "status",
    "reason",
    "physical_id",
    "properties",
    "props_hash",
    "attributes",
    "data",
    "requires",
)


class ResourceTable:
    """The resource records and events of one stack tree, read and written in batches."""

    def __init__(self, db: Database, stack_id: str) -> None:
        self.db = db
        self.stack_id = stack_id
        self._ids: dict[str, int] = {}

    def load(self) -> list[dict[str, Any]]:
        """Every record without its properties (large; see ``properties``): compare by ``props_hash``."""
        light = [getattr(ResourceRow, f) for f in RESOURCE_FIELDS if f != "properties"]
        with self.db.transaction() as session:
            rows = session.execute(
                select(ResourceRow.id, *light).where(ResourceRow.stack_id == self.stack_id)
            )
            out = []
            for row in rows:
                values = row._asdict()
                self._ids[values["path"]] = values.pop("id")
                out.append({**values, "properties": None})
            return out

    def properties(self, path: str) -> Any:
        """The stored properties of one resource."""
        with self.db.transaction() as session:
            return session.scalar(
                select(ResourceRow.properties).where(
                    ResourceRow.stack_id == self.stack_id, ResourceRow.path == path
                )
            )

    def save(
        self, records: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]], removed: Iterable[str]
    ) -> None:
        now = dt.datetime.now(dt.UTC)
        with self.db.transaction() as session:
            gone = [self._ids.pop(p) for p in removed if p in self._ids]
            if gone:
                session.execute(delete(ResourceRow).where(ResourceRow.id.in_(gone)))
            updates, inserts = [], []
            for record in records:
                values = {**record, "updated_at": now}
                row_id = self._ids.get(record["path"])
                if row_id is None:
                    inserts.append({**values, "stack_id": self.stack_id})
                else:
                    updates.append({**values, "id": row_id})
            if updates:
                session.execute(update(ResourceRow), updates)
            if inserts:
                for row in session.execute(
                    insert(ResourceRow).returning(ResourceRow.id, ResourceRow.path), inserts
                ):
                    self._ids[row.path] = row.id
            rows = [{**e, "stack_id": self.stack_id} for e in events]
            if rows:
                session.execute(insert(EventRow), rows)

    def stack(self) -> StackRow | None:
        with self.db.transaction() as session:
            return session.get(StackRow, self.stack_id)
