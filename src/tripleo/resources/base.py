"""The plugin base: the actions, and update-in-place versus replace read from the type's one schema
(``tripleo.engine.schemas``), which the engine's checks and every backend share."""

from __future__ import annotations

from typing import Any

from tripleo.engine.schemas import SCHEMAS, TypeSchema
from tripleo.engine.state import ActionContext, Outcome

__all__ = ["PluginBase"]


class PluginBase:
    """A native resource type. Subclasses declare ``type_name`` (which must have a schema) and implement
    ``create``; ``update`` defaults to re-running create, ``delete`` to nothing."""

    type_name: str = ""
    # pure: create has no side effect outside its result, so a dry run may call it to predict attributes
    pure: bool = False
    # external: acts outside tripleo's database (a server, an address), so its intent is saved first
    external: bool = False

    @property
    def schema(self) -> TypeSchema:
        return SCHEMAS[self.type_name]

    def can_update(self, changed: set[str]) -> bool:
        """In place (True) or replaced (False) when ``changed`` properties differ: the schema decides."""
        return self.schema.can_update(changed)

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        return Outcome()

    def update(self, ctx: ActionContext, props: dict[str, Any], old: dict[str, Any]) -> Outcome:
        return self.create(ctx, props)

    def delete(self, ctx: ActionContext) -> None:
        return None
