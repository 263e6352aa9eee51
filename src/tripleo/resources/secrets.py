"""Secrets of a stack: the values of its hidden parameters, so what is printed can mask them.

Heat prints hidden parameters as ``******``; tripleo also masks them wherever they appear inside outputs
(TripleO's RoleData output carries every service's passwords in its hieradata). The values come from the
stack's stored files: the names of hidden parameters from every template of the tree, their values from the
environments (``parameters`` / ``parameter_defaults``) and the ``--parameter`` values.
"""

from __future__ import annotations

import base64
import secrets
import string
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from tripleo import boundedyaml
from tripleo.engine.template.parameters import MASK, ParamValueError
from tripleo.errors import InputError

__all__ = ["MASK", "generate", "mask", "secrets_of"]

_MIN_LENGTH = 4  # shorter values would mask ordinary words


def _hidden_names(documents: Iterable[Any]) -> set[str]:
    names: set[str] = set()
    for data in documents:
        params = data.get("parameters") if isinstance(data, Mapping) else None
        if isinstance(data, Mapping) and "heat_template_version" in data and isinstance(params, Mapping):
            names.update(
                str(k) for k, v in params.items() if isinstance(v, Mapping) and v.get("hidden") is True
            )
    return names


def secrets_of(files: Mapping[str, str], parameters: Mapping[str, Any] | None = None) -> set[str]:
    """The values of hidden parameters among ``files`` (path -> text of a template or environment)."""
    documents = []
    for text in files.values():
        try:
            documents.append(boundedyaml.safe_load(text))
        except yaml.YAMLError:
            continue
    hidden = _hidden_names(documents)
    values: dict[str, Any] = {}
    for data in documents:
        if isinstance(data, Mapping) and "heat_template_version" not in data:
            for section in ("parameter_defaults", "parameters"):
                found = data.get(section)
                if isinstance(found, Mapping):
                    values.update({str(k): v for k, v in found.items()})
    values.update(dict(parameters or {}))
    return {str(v) for k, v in values.items() if k in hidden and v is not None and len(str(v)) >= _MIN_LENGTH}


def mask(value: Any, secrets: set[str]) -> Any:
    """``value`` with every secret inside its strings (keys and values) replaced by ``******``."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, Mapping):
        return {mask(k, secrets): mask(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(v, secrets) for v in value]
    return value


_ALPHABET = string.ascii_letters + string.digits


def _candidate(schema: Any) -> str:
    """A new value for a hidden parameter: 25 letters and digits (tripleo-common's password shape), or a
    base64 key of 38 characters and '==' when its allowed_pattern asks for one (Ceph's keys)."""
    patterns = [str(c.spec) for c in schema.constraints if c.kind == "allowed_pattern"]
    if any("{38}==" in p for p in patterns):
        return base64.b64encode(secrets.token_bytes(28)).decode()
    return "".join(secrets.choice(_ALPHABET) for _ in range(25))


def generate(wanted: Mapping[str, Any], existing: Mapping[str, Any]) -> dict[str, Any]:
    """``existing`` plus a generated value for each parameter of ``wanted`` (name -> schema) that has none;
    existing values are never changed. InputError when a value fitting a parameter's constraints cannot be
    made (the operator then gives one)."""
    out = dict(existing)
    for name, schema in sorted(wanted.items()):
        if name in out:
            continue
        value = _candidate(schema)
        try:
            schema.validate(schema.coerce(value))
        except ParamValueError:
            raise InputError(
                f"hidden parameter {name} has no value and none fitting its constraints can be generated: "
                "give it one in an environment (parameter_defaults)"
            ) from None
        out[name] = value
    return out
