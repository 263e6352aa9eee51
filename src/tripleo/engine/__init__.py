"""Heat-compatible orchestration engine (pure: no I/O but reading template files).

Public API: ``load_tree`` (parse + merge + validate + expand a stack tree), ``load_top`` (the top stack,
ready for the executor), ``summarise`` (a tree's JSON form), ``evaluate`` (one expression in a one-off
template), ``parse_parameter_args`` (``--parameter K=V``). Imported lazily, so that modules that need only
``tripleo.engine.state`` stay cheap to import.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME = {
    "Resource": "tripleo.engine.stack",
    "Stack": "tripleo.engine.stack",
    "evaluate": "tripleo.engine.api",
    "expression_stack": "tripleo.engine.api",
    "hidden_values": "tripleo.engine.api",
    "implementations_of": "tripleo.engine.api",
    "load_top": "tripleo.engine.api",
    "load_tree": "tripleo.engine.api",
    "parse_parameter_args": "tripleo.engine.cliargs",
    "summarise": "tripleo.engine.api",
    "unset_secrets": "tripleo.engine.api",
    "use_parse_cache": "tripleo.engine.template.template",
}
__all__ = list(_HOME)  # each public name once: where it lives


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'tripleo.engine' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
