"""Parameter schemas: types, defaults, constraints and parameter_groups, with Heat's coercion rules."""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any

from tripleo.errors import TemplateError

__all__ = ["MASK", "PSEUDO_PARAMETERS", "ParamSchema", "parse_parameter_groups", "parse_parameters"]

# How a hidden parameter's value is shown, as Heat shows it
MASK = "******"

PSEUDO_PARAMETERS = ("OS::stack_name", "OS::stack_id", "OS::project_id")
TYPES = ("string", "number", "json", "comma_delimited_list", "boolean")
_TYPE_ALIASES = {
    "String": "string",
    "Number": "number",
    "Json": "json",
    "CommaDelimitedList": "comma_delimited_list",
    "Boolean": "boolean",
}
_KEYS = {"type", "description", "label", "default", "hidden", "constraints", "immutable", "tags"}
_TRUE = {"t", "true", "on", "y", "yes", "1"}
_FALSE = {"f", "false", "off", "n", "no", "0"}
_MAC = re.compile(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")


class ParamValueError(ValueError):
    """A value does not fit a parameter's type or constraints (the caller names where)."""


def _custom(name: str, value: Any) -> str | None:
    """Check the custom constraints that need no cloud; others are recorded only."""
    text = str(value)
    try:
        if name == "ip_addr":
            ipaddress.ip_address(text)
        elif name == "net_cidr":
            ipaddress.ip_network(text, strict=False)
        elif name == "mac_addr" and not _MAC.match(text):
            return f'"{text}" is not a valid MAC address'
    except ValueError:
        return f'"{text}" does not validate {name}'
    return None


@dataclass
class Constraint:
    """One entry of a parameter's ``constraints`` list."""

    kind: str
    spec: Any
    description: str | None = None

    def check(self, ptype: str, value: Any) -> str | None:
        """None if ``value`` passes, else the reason."""
        spec = self.spec
        if self.kind == "allowed_values":
            items = value if ptype == "comma_delimited_list" else [value]
            for item in items:
                if item not in spec and str(item) not in [str(s) for s in spec]:
                    return self.description or f'"{item}" is not an allowed value {spec}'
        elif self.kind in ("range", "length"):
            measure = value if self.kind == "range" else len(value)
            low, high = spec.get("min"), spec.get("max")
            if (low is not None and measure < low) or (high is not None and measure > high):
                what = "value" if self.kind == "range" else "length"
                bounds = f"between {low} and {high}" if low is not None and high is not None else (
                    f"at least {low}" if low is not None else f"no greater than {high}")  # fmt: skip
                return self.description or f'{what} of "{value}" must be {bounds}'
        elif self.kind == "allowed_pattern":
            match = re.match(spec, str(value))
            if match is None or match.group(0) != str(value):
                return self.description or f'"{value}" does not match pattern "{spec}"'
        elif self.kind == "modulo":
            step, offset = spec.get("step"), spec.get("offset")
            if value % step != offset:
                return self.description or f"{value} is not a multiple of {step} with an offset of {offset}"
        elif self.kind == "custom_constraint":
            reason = _custom(spec, value)
            if reason:
                return self.description or reason
        return None


_CONSTRAINT_KINDS = {"allowed_values", "range", "length", "allowed_pattern", "modulo", "custom_constraint"}


@dataclass
class ParamSchema:
    """A declared parameter."""

    name: str
    type: str
    default: Any = None
    has_default: bool = False
    hidden: bool = False
    label: str | None = None
    description: str | None = None
    immutable: bool = False
    constraints: list[Constraint] = field(default_factory=list)

    def coerce(self, value: Any) -> Any:
        """Convert a given value to the parameter's type (Heat's rules); ParamValueError if it cannot."""
        kind = self.type
        if kind == "string":
            if isinstance(value, (dict, list)):
                raise ParamValueError(f"Value must be a string; got {json.dumps(value)[:80]}")
            if isinstance(value, bool):
                return "true" if value else "false"
            return "" if value is None else str(value)
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise ParamValueError(f'Value "{value}" is not a number')
            if isinstance(value, str):
                try:
                    return int(value)
                except ValueError:
                    try:
                        return float(value)
                    except ValueError:
                        raise ParamValueError(f'Value "{value}" is not a number') from None
            return value
        if kind == "comma_delimited_list":
            if isinstance(value, list):
                return [str(v) if not isinstance(v, str) else v for v in value]
            if value is None or value == "":
                return []
            if not isinstance(value, str):
                raise ParamValueError(f'Value "{value}" is not a comma delimited list')
            return value.split(",")
        if kind == "json":
            if isinstance(value, (dict, list)):
                return value
            if value is None or value == "":
                return {}
            if not isinstance(value, str):
                raise ParamValueError(f'Value "{value}" is not a map or list (json)')
            try:
                parsed = json.loads(value)
            except ValueError as exc:
                raise ParamValueError(f"Value must be valid JSON: {exc}") from None
            if not isinstance(parsed, (dict, list)):
                raise ParamValueError(f'Value "{value}" is not a map or list (json)')
            return parsed
        # boolean
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ParamValueError(f'Unrecognized value "{value}", acceptable values are: true, false')

    def validate(self, value: Any) -> None:
        """Check constraints on a coerced value; ParamValueError with the reason."""
        for constraint in self.constraints:
            try:
                reason = constraint.check(self.type, value)
            except (TypeError, re.error, ZeroDivisionError) as exc:
                reason = f"cannot apply {constraint.kind}: {exc}"
            if reason:
                raise ParamValueError(reason)


def _constraints(raw: Any, ptype: str, file: str, at: str) -> list[Constraint]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise TemplateError("constraints must be a list", file=file, path=at)
    out = []
    for i, item in enumerate(raw):
        where = f"{at}.{i}"
        if not isinstance(item, dict):
            raise TemplateError("each constraint must be a map", file=file, path=where)
        desc = item.get("description")
        kinds = [k for k in item if k != "description"]
        if len(kinds) != 1 or kinds[0] not in _CONSTRAINT_KINDS:
            allowed = ", ".join(sorted(_CONSTRAINT_KINDS))
            raise TemplateError(
                f"invalid constraint {kinds} (expected one of: {allowed})", file=file, path=where
            )
        kind = kinds[0]
        spec = item[kind]
        numbers = isinstance(spec, dict) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in spec.values()
        )
        bad = (
            (kind == "allowed_values" and not isinstance(spec, list))
            or (kind in ("range", "length", "modulo") and not numbers)
            or (kind in ("range", "length") and not (isinstance(spec, dict) and set(spec) <= {"min", "max"}))
            or (kind == "modulo" and not (isinstance(spec, dict) and {"step", "offset"} <= set(spec)))
            or (kind in ("allowed_pattern", "custom_constraint") and not isinstance(spec, str))
        )
        if bad:
            raise TemplateError(f"invalid {kind} constraint: {spec!r}", file=file, path=f"{where}.{kind}")
        if kind == "allowed_pattern":
            try:
                re.compile(spec)
            except re.error as exc:
                raise TemplateError(f"invalid allowed_pattern: {exc}", file=file, path=where) from None
        out.append(Constraint(kind, spec, desc))
    return out


def parse_parameters(raw: Any, file: str) -> dict[str, ParamSchema]:
    """Parse a template's ``parameters`` section (defaults are checked against the schema)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise TemplateError("parameters must be a map", file=file, path="parameters")
    out: dict[str, ParamSchema] = {}
    for name, spec in raw.items():
        at = f"parameters.{name}"
        if not isinstance(spec, dict):
            raise TemplateError("a parameter must be a map with at least a type", file=file, path=at)
        unknown = sorted(set(spec) - _KEYS)
        if unknown:
            raise TemplateError(f'unknown parameter key "{unknown[0]}"', file=file, path=at)
        ptype = spec.get("type")
        ptype = _TYPE_ALIASES.get(str(ptype), ptype)
        if ptype not in TYPES:
            raise TemplateError(
                f"Invalid type ({spec.get('type')}): expected one of {', '.join(TYPES)}",
                file=file,
                path=f"{at}.type",
            )
        schema = ParamSchema(
            name=str(name),
            type=ptype,
            default=spec.get("default"),
            has_default="default" in spec,
            hidden=bool(spec.get("hidden", False)),
            label=spec.get("label"),
            description=spec.get("description"),
            immutable=bool(spec.get("immutable", False)),
            constraints=_constraints(spec.get("constraints"), ptype, file, f"{at}.constraints"),
        )
        if schema.has_default and schema.default is not None:
            try:
                schema.default = schema.coerce(schema.default)
                schema.validate(schema.default)
            except ParamValueError as exc:
                raise TemplateError(f"invalid default: {exc}", file=file, path=f"{at}.default") from None
        out[str(name)] = schema
    return out


def parse_parameter_groups(raw: Any, params: dict[str, ParamSchema], file: str) -> list[dict[str, Any]]:
    """Check ``parameter_groups``: every listed parameter exists and sits in one group only."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise TemplateError("parameter_groups must be a list", file=file, path="parameter_groups")
    seen: dict[str, int] = {}
    for i, group in enumerate(raw):
        at = f"parameter_groups.{i}"
        if not isinstance(group, dict) or not isinstance(group.get("parameters"), list):
            raise TemplateError(
                "each parameter group must be a map with a parameters list", file=file, path=at
            )
        for name in group["parameters"]:
            if name not in params:
                raise TemplateError(f'parameter "{name}" is not declared', file=file, path=f"{at}.parameters")
            if name in seen:
                raise TemplateError(f'parameter "{name}" is in more than one group', file=file, path=at)
            seen[name] = i
    return list(raw)
