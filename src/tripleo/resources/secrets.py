"""Secrets of a stack: the values of its hidden parameters, so what is printed can mask them.

Heat prints hidden parameters as ``******``; tripleo also masks them wherever they appear inside outputs
(TripleO's RoleData output carries every service's passwords in its hieradata). The values come from the
stack's stored files: the names of hidden parameters from every template of the tree, their values from the
environments (``parameters`` / ``parameter_defaults``) and the ``--parameter`` values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

__all__ = ["MASK", "mask", "secrets_of"]

MASK = "******"
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
            documents.append(yaml.safe_load(text))
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
