"""A parsed template file: version, parameters, conditions, resource definitions and outputs.

Parsing is done once per file and shared by every stack built from it.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from typing import Any

from tripleo.engine.template.confine import NOT_SENT, admitted
from tripleo.engine.template.parameters import ParamSchema, parse_parameter_groups, parse_parameters
from tripleo.engine.template.versions import Version, get_version
from tripleo.engine.template.yamlfile import display_path, load_yaml_file
from tripleo.errors import TemplateError

__all__ = ["OutputDef", "ResourceDef", "Template", "load_template", "template_from_data"]

_RESOURCE_KEYS = {"type", "properties", "metadata", "depends_on", "deletion_policy", "update_policy",
                  "description"}  # fmt: skip
_RESOURCE_KEYS_NEWTON = _RESOURCE_KEYS | {"condition", "external_id"}
_DELETION_POLICIES = {"Delete", "Retain", "Snapshot"}


@dataclass
class ResourceDef:
    """One resource as written (properties and metadata parsed into data + functions)."""

    name: str
    type: str
    properties: Any = None
    metadata: Any = None
    depends_on: list[str] = field(default_factory=list)
    deletion_policy: Any = None
    update_policy: Any = None
    condition: Any = None
    external_id: Any = None
    path: str = ""


@dataclass
class OutputDef:
    name: str
    value: Any
    description: str | None = None
    condition: Any = None


@dataclass
class Template:
    """A parsed HOT template."""

    path: str  # absolute path ("" for a synthesised template)
    file: str  # display name used in messages
    version: Version
    description: str = ""
    parameters: dict[str, ParamSchema] = field(default_factory=dict)
    parameter_groups: list[dict[str, Any]] = field(default_factory=list)
    conditions: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, ResourceDef] = field(default_factory=dict)
    outputs: dict[str, OutputDef] = field(default_factory=dict)

    @property
    def base_dir(self) -> str:
        return os.path.dirname(self.path) if self.path else os.getcwd()


def _map_section(raw: dict[str, Any], key: str, file: str) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TemplateError(f"{key} must be a map", file=file, path=key)
    return value


def _resource(name: str, spec: Any, version: Version, file: str) -> ResourceDef:
    at = f"resources.{name}"
    if "/" in str(name):  # as Heat: "/" separates the names in a resource's path
        raise TemplateError('Resource name may not contain "/"', file=file, path=at)
    if not isinstance(spec, dict):
        raise TemplateError('"resources" must contain a map of resource maps', file=file, path=at)
    allowed = _RESOURCE_KEYS_NEWTON if version.has_conditions else _RESOURCE_KEYS
    for key in spec:
        if key not in allowed:
            raise TemplateError(
                f'"{key}" is not a valid keyword inside a resource definition', file=file, path=at
            )
    rtype = spec.get("type")
    if rtype is None:
        raise TemplateError(f'Resource {name} is missing "type"', file=file, path=at)
    if not isinstance(rtype, str):
        raise TemplateError(f'Resource {name} "type" must be a string', file=file, path=f"{at}.type")
    props = version.parse(spec.get("properties"), f"{at}.properties", file)
    if props is not None and not isinstance(props, dict):
        raise TemplateError("properties must be a map", file=file, path=f"{at}.properties")
    meta = version.parse(spec.get("metadata"), f"{at}.metadata", file)
    if meta is not None and not isinstance(meta, dict):
        raise TemplateError("metadata must be a map", file=file, path=f"{at}.metadata")
    depends = spec.get("depends_on") or []
    if isinstance(depends, str):
        depends = [depends]
    if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
        raise TemplateError(
            "depends_on must be a resource name or a list of names", file=file, path=f"{at}.depends_on"
        )
    policy = version.parse(spec.get("deletion_policy"), f"{at}.deletion_policy", file)
    if isinstance(policy, str):
        canonical = policy.capitalize() if version.has_conditions else policy
        if canonical not in _DELETION_POLICIES:
            raise TemplateError(
                f'Invalid deletion policy "{policy}"', file=file, path=f"{at}.deletion_policy"
            )
        policy = canonical
    update_policy = version.parse(spec.get("update_policy"), f"{at}.update_policy", file)
    if update_policy is not None and not isinstance(update_policy, dict):
        raise TemplateError("update_policy must be a map", file=file, path=f"{at}.update_policy")
    condition = spec.get("condition")
    if condition is not None and not isinstance(condition, (str, bool)):
        condition = version.parse(condition, f"{at}.condition", file, conditions=True)
    external_id = spec.get("external_id")
    if external_id is not None and depends:
        raise TemplateError("a resource with external_id cannot depend on others", file=file, path=at)
    return ResourceDef(
        name=str(name),
        type=rtype,
        properties=props,
        metadata=meta,
        depends_on=list(depends),
        deletion_policy=policy,
        update_policy=update_policy,
        condition=condition,
        external_id=external_id,
        path=at,
    )


def _output(name: str, spec: Any, version: Version, file: str) -> OutputDef:
    at = f"outputs.{name}"
    if not isinstance(spec, dict) or "value" not in spec:
        raise TemplateError("Each output must contain a value key.", file=file, path=at)
    allowed = {"value", "description"} | ({"condition"} if version.has_conditions else set())
    for key in spec:
        if key not in allowed:
            raise TemplateError(
                f'"{key}" is not a valid keyword inside an output definition', file=file, path=at
            )
    condition = spec.get("condition")
    if condition is not None and not isinstance(condition, (str, bool)):
        condition = version.parse(condition, f"{at}.condition", file, conditions=True)
    return OutputDef(
        str(name), version.parse(spec["value"], f"{at}.value", file), spec.get("description"), condition
    )


def template_from_data(raw: Any, path: str, file: str, version_hint: Version | None = None) -> Template:
    """Parse template data (already loaded from YAML)."""
    if raw is None:
        raise TemplateError(
            "the template is empty (expected a YAML map with heat_template_version)", file=file
        )
    if not isinstance(raw, dict):
        raise TemplateError("a template must be a YAML map", file=file)
    if "heat_template_version" not in raw:
        if "AWSTemplateFormatVersion" in raw or "HeatTemplateFormatVersion" in raw:
            raise TemplateError("CFN-format templates are not supported; use HOT", file=file)
        raise TemplateError("heat_template_version is missing", file=file)
    version = version_hint or get_version(raw.get("heat_template_version"), file)
    for key in raw:
        if key not in version.sections:
            if key == "conditions":
                raise TemplateError(
                    f'"conditions" needs heat_template_version 2016-10-14 or later (this is {version.name})',
                    file=file,
                    path=key,
                )
            raise TemplateError(f'"{key}" is not a valid template section', file=file, path=str(key))
    params = parse_parameters(raw.get("parameters"), file)
    conditions = {
        str(name): value if isinstance(value, (str, bool)) else
        version.parse(value, f"conditions.{name}", file, conditions=True)
        for name, value in _map_section(raw, "conditions", file).items()
    }  # fmt: skip
    resources = {
        str(name): _resource(str(name), spec, version, file)
        for name, spec in _map_section(raw, "resources", file).items()
    }
    outputs = {
        str(name): _output(str(name), spec, version, file)
        for name, spec in _map_section(raw, "outputs", file).items()
    }
    return Template(
        path=path,
        file=file,
        version=version,
        description=str(raw.get("description") or ""),
        parameters=params,
        parameter_groups=parse_parameter_groups(raw.get("parameter_groups"), params, file),
        conditions=conditions,
        resources=resources,
        outputs=outputs,
    )


_CACHE: dict[tuple[str, float], Template] = {}
_CACHE_MAX = 4096  # templates kept in memory; a long-running API server sees new request directories forever
_DISK: list[str] = []  # the directory of the parse cache shared by processes, once one is chosen


def use_parse_cache(directory: str) -> None:
    """Keep parsed templates in ``directory`` as well, so the next process (the next ``stack update``)
    does not parse an unchanged file again. Entries are keyed by path, size, modification time and the
    working directory (error messages name files relative to it)."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    _DISK[:] = [directory]


def _disk_key(path: str, stat: os.stat_result) -> str:
    text = f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{os.getcwd()}\0{_FORMAT}"
    return hashlib.sha256(text.encode()).hexdigest()


_FORMAT = "1"  # bump when Template or the function classes change shape


def _from_disk(path: str, stat: os.stat_result) -> Template | None:
    if not _DISK:
        return None
    try:
        with open(os.path.join(_DISK[0], _disk_key(path, stat)), "rb") as handle:
            found = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None
    return found if isinstance(found, Template) else None


def _to_disk(path: str, stat: os.stat_result, template: Template) -> None:
    if not _DISK:
        return
    target = os.path.join(_DISK[0], _disk_key(path, stat))
    try:
        with tempfile.NamedTemporaryFile("wb", dir=_DISK[0], delete=False) as handle:
            pickle.dump(template, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, target)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        return  # a cache only


def load_template(path: str) -> Template:
    """Load and parse a template file (cached per path and modification time, in memory and, once
    ``use_parse_cache`` chose a directory, on disk).

    :raises TemplateError: unreadable or invalid; or, while reads are confined to a request's files
        (:mod:`~tripleo.engine.template.confine`), outside them: refused before either cache is consulted.
    """
    real = admitted(os.path.abspath(path))
    if real is None:
        raise TemplateError(f"template {os.path.basename(path)}: {NOT_SENT}", file=os.path.basename(path))
    path = real
    try:
        stat: os.stat_result | None = os.stat(path)
    except OSError:
        stat = None
    key = (path, stat.st_mtime if stat is not None else 0.0)
    cached = _CACHE.get(key)
    if cached is None:
        cached = _from_disk(path, stat) if stat is not None else None
        if cached is None:
            raw = load_yaml_file(path)
            cached = template_from_data(raw, path, display_path(path))
            if stat is not None:
                _to_disk(path, stat, cached)
        if len(_CACHE) >= _CACHE_MAX:
            del _CACHE[next(iter(_CACHE))]  # the oldest first
        _CACHE[key] = cached
    return cached
