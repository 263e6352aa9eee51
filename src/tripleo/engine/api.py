"""The engine's public entry points: validate / preview a stack tree, evaluate a snippet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tripleo.engine.cliargs import parse_parameter_args
from tripleo.engine.functions.base import known_or_none
from tripleo.engine.stack import BuildOptions, Stack, build_tree
from tripleo.engine.template.confine import readable
from tripleo.engine.template.environment import Environment, load_environments
from tripleo.engine.template.parameters import ParamSchema
from tripleo.engine.template.template import load_template, template_from_data
from tripleo.engine.template.versions import get_version
from tripleo.engine.template.yamlfile import display_path
from tripleo.errors import TemplateError

__all__ = [
    "evaluate",
    "expression_stack",
    "hidden_values",
    "implementations_of",
    "load_top",
    "load_tree",
    "parse_parameter_args",
    "summarise",
    "unset_secrets",
]


def load_tree(
    template: str,
    environments: Sequence[str] = (),
    parameters: dict[str, Any] | None = None,
    *,
    preview: bool = False,
    stack_name: str = "overcloud",
    require_values: bool = False,
    generated: dict[str, Any] | None = None,
) -> Stack:
    """Parse, merge, validate and expand a whole stack tree without creating anything."""
    if readable(template) is None:
        raise TemplateError(
            f"template file {display_path(template)} not found (-t)", file=display_path(template)
        )
    for env_path in environments:
        if readable(env_path) is None:
            raise TemplateError(
                f"environment file {display_path(env_path)} not found (-e)", file=display_path(env_path)
            )
    env = load_environments(list(environments), parameters, generated)
    top = load_template(template)
    options = BuildOptions(keep_properties=preview, stack_name=stack_name, require_values=require_values)
    return build_tree(top, env, options)


def implementations_of(environments: Sequence[str], type_names: Sequence[str]) -> dict[str, str | None]:
    """What each of ``type_names`` resolves to through the merged registry of ``environments`` (a template
    path or a native type), or None when nothing implements it (``OS::Heat::None`` counts as one)."""
    from tripleo.engine import catalog

    env = load_environments(list(environments))
    out: dict[str, str | None] = {}
    for name in type_names:
        impl, _ = env.registry.lookup(name, "", env.registry.resources, None, catalog.NATIVE_TYPES)
        out[name] = None if impl is None else impl.template or impl.native
    return out


def load_top(
    template: str,
    environments: Sequence[str] = (),
    parameters: dict[str, Any] | None = None,
    *,
    stack_name: str = "overcloud",
    generated: dict[str, Any] | None = None,
) -> Stack:
    """The top stack, prepared for execution: parameters resolved, resources typed and linked, nested
    stacks not yet built (the executor builds them as their properties become known)."""
    env = load_environments(list(environments), parameters, generated)
    options = BuildOptions(stack_name=stack_name, require_values=True)
    top = Stack(load_template(template), env, options, scope=env.registry.resources, values=env.parameters)
    top.expand(recursive=False)
    return top


def unset_secrets(top: Stack) -> dict[str, ParamSchema]:
    """Hidden parameters that have no default and no value anywhere in the tree (built without
    ``require_values``), with their schema: what a create generates, as tripleoclient does for a plan."""
    out: dict[str, ParamSchema] = {}
    for stack in top.stacks():
        for name in stack.unset:
            schema = stack.template.parameters[name]
            if schema.hidden:
                out.setdefault(name, schema)
    return out


def hidden_values(top: Stack) -> set[str]:
    """The values of every hidden parameter in the tree (what printing must mask)."""
    out: set[str] = set()
    for stack in top.stacks():
        for name, schema in stack.template.parameters.items():
            value = stack.params.get(name)
            if schema.hidden and isinstance(value, str | int | float) and not isinstance(value, bool):
                out.add(str(value))
    return out


def summarise(top: Stack, *, preview: bool = False) -> dict[str, Any]:
    """The JSON shape of ``stack validate`` / ``stack preview``."""
    resources = []
    for res in top.walk():
        entry: dict[str, Any] = {"path": res.path, "type": res.type, "implementation": res.impl.display}
        if preview:
            entry["properties"] = known_or_none(res.properties)
            if res.nested is not None and res.kind == "template":
                entry["outputs"] = known_or_none(res.nested.outputs)
        resources.append(entry)
    stacks = list(top.stacks())
    out: dict[str, Any] = {
        "valid": True,
        "resource_count": len(resources),
        "nested_stack_count": len(stacks) - 1,
        "max_depth": max(s.depth for s in stacks),
        "resources": resources,
    }
    out["unset_parameters"] = sorted(
        {f"{s.path}:{name}" if s.path else name for s in stacks for name in s.unset}
    )
    if preview:
        out["outputs"] = known_or_none(top.outputs)
    return out


def expression_stack(
    expr: Any,
    *,
    version: str = "wallaby",
    params: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    files: dict[str, str] | None = None,
    conditions: dict[str, Any] | None = None,
    resources: dict[str, Any] | None = None,
    attributes: dict[str, dict[str, Any]] | None = None,
    stack_name: str = "stack",
) -> Stack:
    """The top stack of a one-off template whose output ``result`` is ``expr`` (not expanded: build it
    with ``expand()`` or hand it to the executor)."""
    data: dict[str, Any] = {"heat_template_version": version}
    if params:
        data["parameters"] = params
    if conditions:
        data["conditions"] = conditions
    if resources:
        data["resources"] = resources
    data["outputs"] = {"result": {"value": expr}}
    template = template_from_data(data, "", "<expression>", get_version(version, "<expression>"))
    env = Environment(parameters=dict(values or {}))
    options = BuildOptions(
        attributes=attributes, files=files or {}, stack_name=stack_name, keep_properties=True
    )
    return Stack(template, env, options, scope=env.registry.resources, values=env.parameters)


def evaluate(expr: Any, *, preview: bool = False, **kwargs: Any) -> Any:
    """Evaluate one expression as the output of a one-off template (the conformance suite's entry point):
    as ``stack validate`` sees it (a value known only after create is UNKNOWN), or with ``preview`` as
    ``stack preview`` shows it (null for what is not known yet).

    :raises TemplateError: for anything Heat would reject.
    """
    top = expression_stack(expr, **kwargs)
    top.expand()
    if preview:
        return summarise(top, preview=True)["outputs"].get("result")
    return top.outputs.get("result")
