"""The plugin base: a declared property schema, which properties update in place, and the actions."""

from __future__ import annotations

from typing import Any, ClassVar

from tripleo.engine.state import ActionContext, Outcome

__all__ = ["PluginBase"]


class PluginBase:
    """A native resource type. Subclasses declare ``type_name``, ``properties`` (name -> update allowed)
    and implement ``create``; ``update`` defaults to re-running create, ``delete`` to nothing."""

    type_name: str = ""
    # pure: create has no side effect outside its result, so a dry run may call it to predict attributes
    pure: bool = False
    # external: acts outside tripleo's database (a server, an address), so its intent is saved first
    external: bool = False
    # property name -> may it change in place? ("*" covers every property not listed)
    properties: ClassVar[dict[str, bool]] = {"*": True}

    def can_update(self, changed: set[str]) -> bool:
        default = self.properties.get("*", False)
        return all(self.properties.get(name, default) for name in changed)

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        return Outcome()

    def update(self, ctx: ActionContext, props: dict[str, Any], old: dict[str, Any]) -> Outcome:
        return self.create(ctx, props)

    def delete(self, ctx: ActionContext) -> None:
        return None
