"""Structural resources expanded into a nested stack of members: ResourceGroup, ResourceChain and the
software/structured deployment groups. Heat synthesises their nested template at version 2015-04-30."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tripleo.engine import catalog
from tripleo.engine.functions.base import UNKNOWN
from tripleo.engine.template.template import ResourceDef, Template
from tripleo.engine.template.versions import VERSIONS
from tripleo.errors import TemplateError

if TYPE_CHECKING:
    from tripleo.engine.stack import Resource, Stack

__all__ = ["group_names", "group_template"]

_GROUP_KEYS = {"count", "index_var", "resource_def", "removal_policies", "removal_policies_mode"}
_CHAIN_KEYS = {"resources", "concurrent", "resource_properties"}
_DEPLOY_KEYS = {"config", "servers", "input_values", "actions", "name", "signal_transport", "input_key",
                "input_values_validate"}  # fmt: skip


def _substitute(value: Any, var: str, index: str) -> Any:
    if isinstance(value, str):
        return value.replace(var, index)
    if isinstance(value, list):
        return [_substitute(v, var, index) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, var, index) for k, v in value.items()}
    return value


def group_names(count: int, skip: set[str]) -> list[str]:
    """Member names "0".."N-1", skipping names on the removal list (as Heat's name blacklist does)."""
    names: list[str] = []
    i = 0
    while len(names) < count:
        if str(i) not in skip:
            names.append(str(i))
        i += 1
    return names


def _fail(stack: Stack, res: Resource, key: str, message: str) -> TemplateError:
    return TemplateError(message, file=stack.file, path=f"{res.definition.path}.properties.{key}".rstrip("."))


def _check_keys(stack: Stack, res: Resource, props: dict[str, Any], allowed: set[str]) -> None:
    for key in props:
        if key not in allowed:
            raise _fail(stack, res, key, f"Unknown Property {key} of {res.impl.display}")


def _resource_group(stack: Stack, res: Resource, props: dict[str, Any]) -> list[ResourceDef]:
    _check_keys(stack, res, props, _GROUP_KEYS)
    raw_count = props.get("count", 1)
    if raw_count is UNKNOWN or props.get("resource_def") is UNKNOWN:
        return []  # known once what it reads exists (validate, preview)
    try:
        count = 0 if raw_count is None else int(raw_count)
        if isinstance(raw_count, bool) or count < 0 or (isinstance(raw_count, float) and count != raw_count):
            raise ValueError
    except (TypeError, ValueError):
        raise _fail(stack, res, "count", f"count must be a non-negative integer, got {raw_count!r}") from None
    rdef = props.get("resource_def")
    if not isinstance(rdef, dict) or not isinstance(rdef.get("type"), str):
        raise _fail(stack, res, "resource_def", "resource_def must be a map with a type")
    extra = set(rdef) - {"type", "properties", "metadata"}
    if extra:
        raise _fail(stack, res, "resource_def", f"unknown key {sorted(extra)[0]} in resource_def")
    var = props.get("index_var") or "%index%"
    skip: set[str] = set()
    policies = props.get("removal_policies")
    for policy in [] if policies is UNKNOWN else policies or []:
        if not isinstance(policy, dict):
            raise _fail(stack, res, "removal_policies", "each removal policy must be a map")
        skip.update(str(name) for name in policy.get("resource_list") or [])
    out = []
    for name in group_names(count, skip):
        member = _substitute(rdef, var, name)
        out.append(_member(res, name, member["type"], member.get("properties"), member.get("metadata")))
    return out


def _member(
    res: Resource, name: str, rtype: str, props: Any, meta: Any, deps: list[str] | None = None
) -> ResourceDef:
    return ResourceDef(
        name=name,
        type=rtype,
        properties=props,
        metadata=meta,
        depends_on=deps or [],
        path=f"{res.definition.path}.properties",
    )


def _chain(stack: Stack, res: Resource, props: dict[str, Any]) -> list[ResourceDef]:
    _check_keys(stack, res, props, _CHAIN_KEYS)
    types = props.get("resources") or []
    if types is UNKNOWN:
        return []
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise _fail(stack, res, "resources", "resources must be a list of resource types")
    member_props = props.get("resource_properties") or {}
    if member_props is UNKNOWN:
        member_props = {}
    concurrent = bool(props.get("concurrent", False))
    out = []
    for i, rtype in enumerate(types):
        deps = [] if concurrent or i == 0 else [str(i - 1)]
        out.append(_member(res, str(i), rtype, dict(member_props), None, deps))
    return out


def _deployments(stack: Stack, res: Resource, props: dict[str, Any]) -> list[ResourceDef]:
    _check_keys(stack, res, props, _DEPLOY_KEYS)
    servers = props.get("servers")
    if servers is None or servers is UNKNOWN:
        return []
    if not isinstance(servers, dict):
        raise _fail(stack, res, "servers", "servers must be a map of name -> server id")
    member_type = catalog.DEPLOYMENT_GROUPS[res.impl.native or ""]
    common = {k: v for k, v in props.items() if k != "servers"}
    return [
        _member(res, str(key), member_type, {**common, "server": server}, None)
        for key, server in servers.items()
    ]


def group_template(stack: Stack, res: Resource, props: dict[str, Any]) -> Template:
    """The synthesised nested template of a structural resource."""
    if res.kind == "group":
        members = _resource_group(stack, res, props)
    elif res.kind == "chain":
        members = _chain(stack, res, props)
    else:
        members = _deployments(stack, res, props)
    return Template(
        path=stack.template.path,
        file=stack.file,
        version=VERSIONS["2015-04-30"],
        resources={m.name: m for m in members},
    )
