"""Environments: parameters, parameter_defaults and the resource registry, merged as Heat merges them."""

from __future__ import annotations

import copy
import fnmatch
import os
from dataclasses import dataclass, field
from typing import Any

from tripleo.engine.template.yamlfile import display_path, load_yaml_file
from tripleo.errors import TemplateError

__all__ = ["Environment", "Implementation", "Registry", "load_environments"]

SECTIONS = {
    "parameters",
    "parameter_defaults",
    "resource_registry",
    "encrypted_param_names",
    "event_sinks",
    "parameter_merge_strategies",
}
_STRATEGIES = ("overwrite", "merge", "deep_merge")
TEMPLATE_SUFFIXES = (".yaml", ".template", ".yml")


def is_template_ref(value: str) -> bool:
    return value.endswith(TEMPLATE_SUFFIXES)


@dataclass(frozen=True)
class Implementation:
    """What a resource type resolves to: a native type name or a template file (absolute path)."""

    native: str | None = None
    template: str | None = None

    @property
    def display(self) -> str:
        return self.native if self.native is not None else display_path(self.template or "")


@dataclass
class _Entry:
    value: str
    source: str  # display name of the environment file that set it


@dataclass
class Registry:
    """The resource_registry: exact aliases, globs, template mappings and per-resource overrides."""

    entries: dict[str, _Entry] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    # template paths made absolute -> as an environment wrote them (messages name files as written)
    written: dict[str, str] = field(default_factory=dict)

    def add(self, raw: dict[str, Any], base: str, source: str) -> None:
        for key, value in raw.items():
            at = f"resource_registry.{key}"
            if key == "resources":
                if not isinstance(value, dict):
                    raise TemplateError("resources must be a map", file=source, path=at)
                _deep_merge(self.resources, _absolute_resources(value, base, self.written))
                continue
            if value is None:
                self._delete(key)
                continue
            if not isinstance(value, str):
                raise TemplateError(
                    "a registry entry must map a type to a type or a template file", file=source, path=at
                )
            if key.endswith("*") and is_template_ref(value):
                raise TemplateError(
                    "a glob cannot map to a template file (Heat does not support it)", file=source, path=at
                )
            self.entries[key] = _Entry(_absolute(value, base, self.written), source)

    def _delete(self, key: str) -> None:
        if key.endswith("*"):
            prefix = key[:-1]
            for name in [k for k in self.entries if k.startswith(prefix)]:
                del self.entries[name]
        else:
            self.entries.pop(key, None)

    def scope_for(self, scope: dict[str, Any], resource: str) -> dict[str, Any]:
        """The per-resource overrides that apply inside the nested stack of ``resource``."""
        out: dict[str, Any] = {}
        for pattern, value in scope.items():
            if isinstance(value, dict) and (pattern == resource or fnmatch.fnmatchcase(resource, pattern)):
                out.update({k: v for k, v in value.items() if isinstance(v, dict)})
        return out

    def _override(self, scope: dict[str, Any], resource: str, type_name: str) -> str | None:
        for pattern, value in scope.items():
            if isinstance(value, dict) and (pattern == resource or fnmatch.fnmatchcase(resource, pattern)):
                target = value.get(type_name)
                if isinstance(target, str):
                    return target
        return None

    def lookup(
        self, type_name: str, resource: str, scope: dict[str, Any], ignore: str | None, natives: Any
    ) -> tuple[Implementation | None, list[str]]:
        """Resolve a type through aliases and globs; returns (implementation or None, chain walked)."""
        chain = [type_name]
        current = type_name
        override: str | None = self._override(scope, resource, type_name)
        while True:
            target: str | None
            if override is not None:
                target, override = override, None
            else:
                target = self._step(current, ignore)
            if target is None:
                if is_template_ref(current):
                    return Implementation(template=current), chain
                if current in natives:
                    return Implementation(native=current), chain
                return None, chain
            if is_template_ref(target):
                return Implementation(template=target), [*chain, target]
            if target in chain:
                raise _LoopError([*chain, target])
            chain.append(target)
            current = target

    def _step(self, type_name: str, ignore: str | None) -> str | None:
        entry = self.entries.get(type_name)
        if entry is not None and entry.value != ignore and entry.value != type_name:
            return entry.value
        best: tuple[int, str] | None = None
        for key, glob in self.entries.items():
            if key.endswith("*") and type_name.startswith(key[:-1]) and (best is None or len(key) > best[0]):
                value = glob.value
                target = value[:-1] + type_name[len(key) - 1 :] if value.endswith("*") else value
                if target != type_name:
                    best = (len(key), target)
        return best[1] if best else None


class _LoopError(Exception):
    def __init__(self, chain: list[str]) -> None:
        super().__init__(" -> ".join(chain))
        self.chain = chain


def _absolute(value: str, base: str, written: dict[str, str]) -> str:
    """A template reference relative to the environment's directory made absolute (noted in ``written``)."""
    if is_template_ref(value) and "://" not in value and not os.path.isabs(value):
        path = os.path.normpath(os.path.join(base, value))
        written.setdefault(path, value)
        return path
    return value


def _absolute_resources(tree: dict[str, Any], base: str, written: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out[key] = _absolute_resources(value, base, written)
        elif isinstance(value, str):
            out[key] = _absolute(value, base, written)
        else:
            out[key] = value
    return out


def _deep_merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


@dataclass
class Environment:
    """A merged environment (the user environment Heat keeps for a stack tree)."""

    parameters: dict[str, Any] = field(default_factory=dict)
    parameter_defaults: dict[str, Any] = field(default_factory=dict)
    registry: Registry = field(default_factory=Registry)
    files: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # parameter -> file that set it

    def merge_file(self, path: str) -> None:
        """Merge one environment file on top (command-line order: later files win)."""
        name = display_path(path)
        raw = load_yaml_file(path)
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise TemplateError("an environment must be a YAML map", file=name)
        for key, value in raw.items():
            if key not in SECTIONS:
                allowed = ", ".join(sorted(SECTIONS))
                raise TemplateError(
                    f'unknown environment section "{key}" (expected: {allowed})', file=name, path=key
                )
            if value is None:
                raise TemplateError(
                    f'section "{key}" is empty (remove it or give it a map)', file=name, path=key
                )
        strategies = raw.get("parameter_merge_strategies") or {}
        if not isinstance(strategies, dict):
            raise TemplateError("must be a map", file=name, path="parameter_merge_strategies")
        for section in ("parameters", "parameter_defaults"):
            values = raw.get(section, {})
            if not isinstance(values, dict):
                raise TemplateError(f"{section} must be a map", file=name, path=section)
            self._merge_params(getattr(self, section), values, strategies, name, section)
        registry = raw.get("resource_registry", {})
        if not isinstance(registry, dict):
            raise TemplateError("resource_registry must be a map", file=name, path="resource_registry")
        self.registry.add(registry, os.path.dirname(os.path.abspath(path)), name)
        self.files.append(name)

    def _merge_params(
        self,
        into: dict[str, Any],
        values: dict[str, Any],
        strategies: dict[str, Any],
        name: str,
        section: str,
    ) -> None:
        default = strategies.get("default", "overwrite")
        for key, value in values.items():
            strategy = strategies.get(key, default)
            if strategy not in _STRATEGIES:
                raise TemplateError(
                    f'unknown merge strategy "{strategy}"',
                    file=name,
                    path=f"parameter_merge_strategies.{key}",
                )
            if key in into and strategy != "overwrite":
                try:
                    into[key] = _merge_value(into[key], value, deep=strategy == "deep_merge")
                except TypeError:
                    raise TemplateError(
                        f"cannot {strategy} a {type(value).__name__} into a {type(into[key]).__name__}",
                        file=name,
                        path=f"{section}.{key}",
                    ) from None
            else:
                into[key] = value
            self.sources[key] = name


def _merge_value(old: Any, new: Any, deep: bool) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        if not deep:
            return {**old, **new}
        out = dict(old)
        for key, value in new.items():
            out[key] = _merge_value(out[key], value, True) if key in out else value
        return out
    if isinstance(old, list) and isinstance(new, list):
        return old + new
    if isinstance(old, str) and isinstance(new, str):
        return old + new
    if isinstance(old, (int, float)) and isinstance(new, (int, float)) and not deep:
        return old + new
    if deep and type(old) is not type(new):
        return new
    raise TypeError


def load_environments(
    paths: list[str], extra_parameters: dict[str, Any] | None = None, generated: dict[str, Any] | None = None
) -> Environment:
    """Merge environment files in order, then --parameter values on top (as ``parameters``).

    ``generated`` (values made for the stack, such as passwords) are parameter_defaults below every file.
    """
    env = Environment()
    for path in paths:
        env.merge_file(path)
    for key, value in (generated or {}).items():
        if key not in env.parameter_defaults:
            env.parameter_defaults[key] = value
            env.sources.setdefault(key, "generated")
    if extra_parameters:
        env.parameters.update(extra_parameters)
        for key in extra_parameters:
            env.sources[key] = "--parameter"
    return env


RegistryLoopError = _LoopError
