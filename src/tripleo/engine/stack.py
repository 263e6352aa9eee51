"""A resolved stack tree: parameters, conditions, resources, nested stacks, groups and outputs.

``build_tree`` turns a parsed template and a merged environment into a tree of ``Stack`` objects without
creating anything: template resources become nested stacks, ResourceGroup / ResourceChain / deployment
groups become a nested stack of members. Each Stack is the ``Context`` its functions resolve in; before
creation ``get_attr`` yields UNKNOWN (and so does every function computed from it, until the resource
exists) and ``get_resource`` the resource name, as in Heat.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from tripleo.engine import catalog
from tripleo.engine.functions import Function, dependencies_of, resolve
from tripleo.engine.functions.base import UNKNOWN, contains_unknown, note_unknown
from tripleo.engine.functions.resources import select_attr_path
from tripleo.engine.graph import find_cycle
from tripleo.engine.schemas import check_properties
from tripleo.engine.template.confine import NOT_SENT, admitted, current, is_confined, readable, restored
from tripleo.engine.template.environment import Environment, Implementation, RegistryLoopError
from tripleo.engine.template.parameters import MASK, ParamValueError
from tripleo.engine.template.template import ResourceDef, Template, load_template
from tripleo.engine.template.yamlfile import display_path
from tripleo.errors import TemplateError

__all__ = ["BuildOptions", "LiveValue", "Resource", "Stack", "build_tree"]

_NAMESPACE = uuid.UUID("6f1c1f0e-3d4e-4c59-9d0e-7b1d1c0a7e11")
_IN_PROGRESS = object()
_GROUP_ATTRS = {"refs", "refs_map", "attributes", "removed_rsrc_list", "show"}
MAX_DEPTH = 20
_SUFFIXES = (".yaml", ".template", ".yml")


@dataclass
class BuildOptions:
    """How to build a tree: which native types exist, and what is already known."""

    natives: frozenset[str] = catalog.NATIVE_TYPES
    keep_properties: bool = False
    attributes: dict[str, dict[str, Any]] | None = None
    files: dict[str, str] | None = None
    stack_name: str = "overcloud"
    # validate/preview accept a required parameter without a value (as Heat's template-validate does);
    # create/update need every value.
    require_values: bool = False
    project_id: str = "00000000000000000000000000000000"
    file_cache: dict[str, str | None] = field(default_factory=dict)
    # the request's files a tree built by the API may read (tripleo.engine.template.confine); None: any
    roots: tuple[str, ...] | None = field(default_factory=current)


class LiveValue(Protocol):
    """A resource that exists: its reference id and attributes, as get_resource / get_attr see them."""

    refid: Any

    def attribute(self, name: str, path: list[Any] | None = None) -> Any:
        """One attribute, with a path selected in it (None when unknown)."""

    def all_attributes(self) -> dict[str, Any]:
        """Every attribute (get_attr with no attribute name)."""


class Resource:
    """One resource of a stack, with its implementation and (for nested kinds) its nested stack."""

    __slots__ = ("definition", "impl", "kind", "name", "nested", "path", "properties", "requires", "stack")

    def __init__(self, stack: Stack, definition: ResourceDef, impl: Implementation, kind: str) -> None:
        self.stack = stack
        self.definition = definition
        self.name = definition.name
        self.impl = impl
        self.kind = kind  # native | template | group | chain | deployments
        self.path = f"{stack.path}/{self.name}" if stack.path else self.name
        self.nested: Stack | None = None
        self.properties: Any = None
        self.requires: set[str] = set()

    @property
    def type(self) -> str:
        return self.definition.type


class Stack:
    """A stack in the tree; also the function Context of its template."""

    def __init__(
        self,
        template: Template,
        env: Environment,
        options: BuildOptions,
        *,
        scope: dict[str, Any],
        values: dict[str, Any],
        parent: Resource | None = None,
        name: str | None = None,
    ) -> None:
        self.template = template
        self.env = env
        self.options = options
        self.scope = scope
        self.parent = parent
        self.file = template.file
        self.version = template.version.name
        self.path: str = parent.path if parent else ""
        self.depth: int = parent.stack.depth + 1 if parent else 0
        if self.depth > MAX_DEPTH:
            assert parent is not None
            raise TemplateError(
                f"nested stacks deeper than {MAX_DEPTH} levels (a template that contains itself?)",
                file=parent.stack.file,
                path=f"{parent.definition.path}.type",
            )
        self.stack_name = name or options.stack_name
        self.stack_id = str(uuid.uuid5(_NAMESPACE, f"{options.stack_name}/{self.path}"))
        self.resources: dict[str, Resource] = {}
        self.disabled: set[str] = set()
        self.outputs: dict[str, Any] = {}
        self.unset: list[str] = []
        # parameters whose value is unknown, or holds an unknown (a property from get_attr before create)
        self.partial: set[str] = set()
        # what exists already (filled by the executor as resources complete)
        self.live: dict[str, LiveValue] = {}
        self._conditions: dict[str, Any] = {}
        self.params = self._resolve_params(values)

    # -- parameters -------------------------------------------------------------------------------------

    def _param_origin(self, name: str, source: str) -> tuple[str | None, str | None]:
        if source == "property" and self.parent is not None:
            owner = self.parent.stack
            return owner.file, f"{self.parent.definition.path}.properties.{name}"
        if source in ("parameters", "parameter_defaults"):
            origin = self.env.sources.get(name)
            if origin == "--parameter":
                return None, f"--parameter {name}"
            return origin, f"{source}.{name}"
        return self.file, f"parameters.{name}.default"

    def _resolve_params(self, values: dict[str, Any]) -> dict[str, Any]:
        top = self.parent is None
        if top:
            for name in values:
                if name not in self.template.parameters:
                    file, at = self._param_origin(name, "parameters")
                    raise TemplateError(
                        f"The Parameter ({name}) was not defined in template {self.file}", file=file, path=at
                    )
        defaults = self.env.parameter_defaults
        out: dict[str, Any] = {}
        for name, schema in self.template.parameters.items():
            if name in values:
                value, source = values[name], "parameters" if top else "property"
                if value is None and not top:
                    out[name] = schema.default if schema.has_default else None
                    continue
            elif name in defaults:
                value, source = defaults[name], "parameter_defaults"
            elif schema.has_default:
                out[name] = schema.default
                continue
            elif not self.options.require_values:
                self.unset.append(name)  # validate / preview: null, as Heat's template-validate has it
                out[name] = None
                continue
            else:
                where = f" (nested stack of {self.parent.path})" if self.parent else ""
                raise TemplateError(
                    f"The Parameter ({name}) was not provided{where}",
                    file=self.file,
                    path=f"parameters.{name}",
                )
            if contains_unknown(value):
                self.partial.add(name)
                out[name] = value
                continue
            try:
                value = schema.coerce(value)
                schema.validate(value)
            except ParamValueError as exc:
                file, at = self._param_origin(name, source)
                owner = f" (parameter {name} of {self.file})" if file != self.file else ""
                reason = str(exc)
                if schema.hidden and str(value):
                    reason = reason.replace(str(value), MASK)  # never quote a hidden value
                raise TemplateError(f"{reason}{owner}", file=file, path=at) from None
            out[name] = value
        return out

    # -- Context --------------------------------------------------------------------------------------

    def param(self, name: str) -> Any:
        if name in self.params:
            if name in self.partial:
                note_unknown()
            return self.params[name]
        if name == "OS::stack_name":
            return self.stack_name
        if name == "OS::stack_id":
            return self.stack_id
        if name == "OS::project_id":
            return self.options.project_id
        raise KeyError(name)

    def resource_ref(self, name: str) -> Any:
        live = self.live.get(name)
        return live.refid if live is not None else name

    def resource_attr(self, name: str, attr: str | None, path: list[Any]) -> Any:
        live = self.live.get(name)
        if live is None:
            known = self.options.attributes
            if known is None or self.parent is not None or name not in known:
                note_unknown()
                return UNKNOWN
            values = known[name]
            value = {k: v for k, v in values.items() if k != "show"} if attr is None else values.get(attr)
            return select_attr_path(value, path) if path else value
        if attr is None:
            value = live.all_attributes()
            return select_attr_path(value, path) if path else value
        return live.attribute(attr, path)

    def check_resource(self, name: str, attr: Any | None, where: Function) -> None:
        res = self.resources.get(name)
        if res is None:
            self._bad_reference(name, where.path)
        elif attr is not None:
            self._check_attribute(res, attr, where.path)

    def _bad_reference(self, name: Any, at: str) -> None:
        if name in self.disabled:
            raise TemplateError(
                f'resource "{name}" is disabled by its condition and cannot be referenced here',
                file=self.file,
                path=at,
            )
        raise TemplateError(
            f'The specified reference "{name}" is incorrect: no such resource', file=self.file, path=at
        )

    def _check_attribute(self, res: Resource, attr: str, at: str) -> None:
        outputs = self._outputs_of(res)
        if (
            outputs is None
            or attr in outputs
            or attr.startswith("resource.")
            or attr in ("show", "OS::stack_id")
        ):
            return
        if res.kind == "group" and attr in _GROUP_ATTRS:
            return
        raise TemplateError(
            f"The Referenced Attribute ({res.name} {attr}) is incorrect: "
            f'{res.impl.display} has no output "{attr}"',
            file=self.file,
            path=at,
        )

    def _outputs_of(self, res: Resource) -> set[str] | None:
        """Attribute names a resource can have, or None when any name is acceptable."""
        if res.kind == "template" and res.impl.template:
            return set(self._load(res.impl.template, res).outputs)
        if res.kind == "group":
            member_type = self._group_member_type(res)
            if member_type is None:
                return None
            try:
                impl, _ = self.env.registry.lookup(member_type, "0", {}, None, self.options.natives)
            except RegistryLoopError:
                return None
            with restored(self.options.roots):
                if impl is None or impl.template is None or readable(impl.template) is None:
                    return None
                return set(load_template(impl.template).outputs)
        schema = catalog.SCHEMAS.get(res.impl.native or "") if res.kind == "native" else None
        return set(schema.attributes) if schema is not None and schema.attributes is not None else None

    def _group_member_type(self, res: Resource) -> str | None:
        props = res.definition.properties
        rdef = props.get("resource_def") if isinstance(props, dict) else None
        rtype = rdef.get("type") if isinstance(rdef, dict) else None
        return rtype if isinstance(rtype, str) else None

    def get_file(self, name: str) -> str:
        """The contents of ``name`` (the files map's entry, else a file relative to this template); a
        KeyError when there is none, the same for a file outside a confined request's files
        (:mod:`~tripleo.engine.template.confine`) whether or not it exists."""
        files = self.options.files
        if files is not None and name in files:
            return files[name]
        path = name[len("file://") :] if name.startswith("file://") else name
        with restored(self.options.roots):
            real = admitted(os.path.normpath(os.path.join(self.template.base_dir, path)))
        if real is None:
            raise KeyError(name)
        cache = self.options.file_cache
        if real not in cache:
            try:
                with open(real, encoding="utf-8", errors="replace") as handle:
                    cache[real] = handle.read()
            except OSError:
                cache[real] = None
        content = cache[real]
        if content is None:
            raise KeyError(name)
        return content

    def condition(self, name: Any, where: Function | None) -> bool:
        if isinstance(name, bool):
            return name
        if isinstance(name, Function):
            value = resolve(name, self)
            if value is UNKNOWN:
                return False  # only before create (validate, preview): the resources it reads do not exist
            if isinstance(value, bool):
                return value
            if isinstance(value, str):
                return self.condition(value, where)
            raise TemplateError(f"condition must be boolean, got {value!r}", file=self.file, path=name.path)
        at = where.path if where is not None else "conditions"
        if not isinstance(name, str) or name not in self.template.conditions:
            raise TemplateError(f'Invalid condition "{name}"', file=self.file, path=at)
        state = self._conditions.get(name)
        if state is _IN_PROGRESS:
            raise TemplateError(
                f'Circular definition for condition "{name}"', file=self.file, path=f"conditions.{name}"
            )
        if state is None:
            self._conditions[name] = _IN_PROGRESS
            raw = self.template.conditions[name]
            if not isinstance(raw, (bool, Function)):
                raise TemplateError(
                    f'The definition of condition "{name}" is invalid: '
                    "expected a boolean or a condition function",
                    file=self.file,
                    path=f"conditions.{name}",
                )
            self._conditions[name] = self.condition(raw, None)
        return bool(self._conditions[name])

    def facade(self, key: str) -> Any:
        if self.parent is None:
            raise TemplateError(
                "resource_facade needs a parent resource (this is the top-level stack)", file=self.file
            )
        owner = self.parent.stack
        definition = self.parent.definition
        if key == "metadata":
            return resolve(definition.metadata, owner) or {}
        if key == "update_policy":
            return resolve(definition.update_policy, owner) or {}
        return resolve(definition.deletion_policy, owner) or "Delete"

    def availability_zones(self) -> list[str]:
        return ["nova"]

    # -- building -----------------------------------------------------------------------------------------

    def _load(self, path: str, res: Resource) -> Template:
        """The template implementing ``res``.

        :raises TemplateError: no such file; when reads are confined to a request's files, any file
            outside them, with the same message whether or not it exists (naming it as written).
        """
        at = f"{res.definition.path}.type"
        with restored(self.options.roots):
            if is_confined():
                if readable(path) is None:
                    if res.type.endswith(_SUFFIXES):
                        what = f'Resource type "{res.type}"'
                    else:
                        written = self.env.registry.written.get(path, path)
                        what = f'Resource type "{res.type}" (resource_registry: "{written}")'
                    raise TemplateError(f"{what}: {NOT_SENT}", file=self.file, path=at)
            elif not os.path.exists(path):
                raise TemplateError(
                    f"template {display_path(path)} for type {res.type} not found", file=self.file, path=at
                )
            return load_template(path)

    def _implement(self, rdef: ResourceDef) -> tuple[Implementation, str]:
        at = f"{rdef.path}.type"
        rtype = rdef.type
        if rtype.endswith(_SUFFIXES) and "://" not in rtype and not os.path.isabs(rtype):
            rtype = os.path.normpath(os.path.join(self.template.base_dir, rtype))
        ignore = self.template.path or None
        try:
            impl, chain = self.env.registry.lookup(rtype, rdef.name, self.scope, ignore, self.options.natives)
        except RegistryLoopError as exc:
            raise TemplateError(f"resource_registry loop: {exc}", file=self.file, path=at) from None
        if impl is None:
            via = f" (via {' -> '.join(chain)})" if len(chain) > 1 else ""
            if chain and chain[-1] in catalog.HEAT_TYPES_WITHOUT_PLUGIN:
                raise TemplateError(
                    f'resource type "{chain[-1]}"{via} has no plugin in tripleo: map it to a template or to '
                    "OS::Heat::None in the resource_registry",
                    file=self.file,
                    path=at,
                )
            raise TemplateError(f'Unknown resource type "{rdef.type}"{via}', file=self.file, path=at)
        if impl.template is not None:
            return impl, "template"
        native = impl.native or ""
        if native == catalog.GROUP:
            return impl, "group"
        if native == catalog.CHAIN:
            return impl, "chain"
        if native in catalog.DEPLOYMENT_GROUPS:
            return impl, "deployments"
        return impl, "native"

    def expand(self, recursive: bool = True) -> None:
        """Enable resources by condition, resolve types, check references and cycles; with ``recursive``
        also resolve every property (get_attr of what does not exist yet is null) and build nested stacks."""
        for name, rdef in self.template.resources.items():
            if rdef.condition is not None and not self.condition(
                rdef.condition, _Where(f"{rdef.path}.condition")
            ):
                self.disabled.add(name)
                continue
            impl, kind = self._implement(rdef)
            self.resources[name] = Resource(self, rdef, impl, kind)
        self._link()
        if recursive:
            for res in self.resources.values():
                props = self.resolve_properties(res)
                if res.kind != "native" or self.options.keep_properties:
                    res.properties = props
                if res.kind != "native":
                    res.nested = self.make_child(res, props)
                    res.nested.expand()
            self.compute_outputs()

    def _link(self) -> None:
        graph: dict[str, set[str]] = {}
        for res in self.resources.values():
            rdef = res.definition
            deps: set[str] = set()
            for i, dep in enumerate(rdef.depends_on):
                if dep in self.resources:
                    deps.add(dep)
                elif dep not in self.disabled:
                    raise TemplateError(
                        f'depends_on "{dep}": no such resource',
                        file=self.file,
                        path=f"{rdef.path}.depends_on.{i}",
                    )
            for node in (rdef.properties, rdef.metadata):
                for ref, fn in dependencies_of(node, self):
                    if ref not in self.resources:
                        self._bad_reference(ref, fn.path)
                    deps.add(ref)
            res.requires = deps
            graph[res.name] = deps
        cycle = find_cycle(graph)
        if cycle:
            raise TemplateError(f"dependency cycle: {' -> '.join(cycle)}", file=self.file, path="resources")

    def resolve_properties(self, res: Resource) -> dict[str, Any]:
        """A resource's properties resolved with what is known now (checked against the native schema)."""
        props = resolve(res.definition.properties, self)
        if props is None:
            props = {}
        if res.kind == "native" and isinstance(props, dict):
            problem = check_properties(catalog.SCHEMAS[res.impl.native or ""], props)
            if problem is not None:
                key, message = problem
                raise TemplateError(message, file=self.file, path=f"{res.definition.path}.properties.{key}")
        return props  # type: ignore[no-any-return]

    def make_child(self, res: Resource, props: dict[str, Any]) -> Stack:
        """The nested stack of a template resource or a group, from its resolved properties (not expanded)."""
        if res.kind == "template":
            assert res.impl.template is not None
            child_template = self._load(res.impl.template, res)
            for key in props:
                if key not in child_template.parameters:
                    raise TemplateError(
                        f'Unknown Property {key}: {child_template.file} declares no parameter "{key}"',
                        file=self.file,
                        path=f"{res.definition.path}.properties.{key}",
                    )
            values = props
        else:
            from tripleo.engine.groups import group_template

            child_template = group_template(self, res, props)
            values = {}
        return Stack(
            child_template,
            self.env,
            self.options,
            scope=self.env.registry.scope_for(self.scope, res.name),
            values=values,
            parent=res,
            name=f"{self.stack_name}-{res.name}",
        )

    def compute_outputs(self) -> dict[str, Any]:
        """Resolve every enabled output (with what is known now) into ``self.outputs``."""
        for name, output in self.template.outputs.items():
            at = f"outputs.{name}.value"
            if output.condition is not None and not self.condition(
                output.condition, _Where(f"outputs.{name}")
            ):
                continue
            for ref, fn in dependencies_of(output.value, self):
                if ref not in self.resources:
                    self._bad_reference(ref, fn.path or at)
            value = resolve(output.value, self)
            self.outputs[name] = None if value is Ellipsis else value
        return self.outputs

    # -- walking ------------------------------------------------------------------------------------------

    def walk(self) -> Iterator[Resource]:
        """Every resource of this stack and below, depth first in template order."""
        for res in self.resources.values():
            yield res
            if res.nested is not None:
                yield from res.nested.walk()

    def stacks(self) -> Iterator[Stack]:
        yield self
        for res in self.resources.values():
            if res.nested is not None:
                yield from res.nested.stacks()


class _Where(Function):
    """A stand-in 'function' that only carries a YAML path, for errors raised outside a call."""

    __slots__ = ()

    def __init__(self, path: str) -> None:
        self.fn = ""
        self.args = None
        self.path = path


def build_tree(template: Template, env: Environment, options: BuildOptions | None = None) -> Stack:
    """Build and validate the whole stack tree; raises TemplateError on the first problem."""
    top = Stack(template, env, options or BuildOptions(), scope=env.registry.resources, values=env.parameters)
    top.expand()
    return top
