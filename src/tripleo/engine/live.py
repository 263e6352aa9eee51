"""Attribute semantics of resources that exist: native resources, nested stacks and groups.

Heat's rules (HEAT-SEMANTICS 1.3): a template resource's attributes are its nested stack's outputs plus
``resource.<name>[.<attr>]``; a group's are ``refs``, ``refs_map``, ``attributes <X>`` (name -> value),
``resource.<N>[.<attr>]`` and any other name X as the list of every member's X (the path applies to each
member); deployment groups answer with maps keyed by member name.
"""

from __future__ import annotations

from typing import Any

from tripleo.engine.functions.resources import select_attr_path

__all__ = ["GroupLive", "Live", "NativeLive", "NestedLive"]


class Live:
    """Base: ``attribute(name, path)`` and ``all_attributes()``."""

    refid: Any = None

    def attribute(self, name: str, path: list[Any] | None = None) -> Any:
        return None

    def all_attributes(self) -> dict[str, Any]:
        return {}


class NativeLive(Live):
    """A plugin resource: attributes as its plugin returned them."""

    __slots__ = ("attrs", "refid")

    def __init__(self, refid: Any, attrs: dict[str, Any]) -> None:
        self.refid = refid
        self.attrs = attrs

    def attribute(self, name: str, path: list[Any] | None = None) -> Any:
        value = self.attrs.get(name)
        return select_attr_path(value, path) if path else value

    def all_attributes(self) -> dict[str, Any]:
        return {k: v for k, v in self.attrs.items() if k != "show"}


class NestedLive(Live):
    """A template resource: the nested stack's outputs, and its inner resources through ``resource.X``."""

    __slots__ = ("inner", "outputs", "refid")

    def __init__(self, refid: Any, outputs: dict[str, Any], inner: dict[str, Any]) -> None:
        self.refid = outputs.get("OS::stack_id", refid)
        self.outputs = outputs
        self.inner = inner

    def attribute(self, name: str, path: list[Any] | None = None) -> Any:
        if name.startswith("resource."):
            value = _inner(self.inner, name[len("resource.") :], path)
            return value
        value = self.outputs.get(name)
        return select_attr_path(value, path) if path else value

    def all_attributes(self) -> dict[str, Any]:
        return dict(self.outputs)


def _inner(inner: dict[str, Any], rest: str, path: list[Any] | None) -> Any:
    name, _, attr = rest.partition(".")
    member = inner.get(name)
    if member is None:
        return None
    if not attr:
        return select_attr_path(member.refid, path) if path else member.refid
    return member.attribute(attr, path)


class GroupLive(Live):
    """ResourceGroup / ResourceChain (lists) or a deployment group (maps keyed by member name)."""

    __slots__ = ("by_name", "members", "refid")

    def __init__(self, refid: Any, members: dict[str, Any], by_name: bool = False) -> None:
        self.refid = refid
        self.members = members
        self.by_name = by_name

    def attribute(self, name: str, path: list[Any] | None = None) -> Any:
        path = path or []
        members = self.members
        if name == "refs":
            value: Any = [m.refid for m in members.values()]
            return select_attr_path(value, path)
        if name == "refs_map":
            return select_attr_path({k: m.refid for k, m in members.items()}, path)
        if name == "removed_rsrc_list":
            return []
        if name.startswith("resource."):
            return _inner(members, name[len("resource.") :], path)
        if name == "attributes":
            if not path:
                return None
            return {k: m.attribute(str(path[0]), list(path[1:])) for k, m in members.items()}
        if self.by_name:
            return {k: m.attribute(name, path) for k, m in members.items()}
        return [m.attribute(name, path) for m in members.values()]

    def all_attributes(self) -> dict[str, Any]:
        return {"refs": self.attribute("refs"), "refs_map": self.attribute("refs_map")}
