"""Heat-compatible orchestration engine (pure: no I/O but reading template files).

Public API: ``load_tree`` (parse + merge + validate + expand a stack tree), ``summarise`` (its JSON form),
``evaluate`` (one expression in a one-off template), ``parse_parameter_args`` (``--parameter K=V``).
"""

from tripleo.engine.api import evaluate, load_top, load_tree, parse_parameter_args, summarise
from tripleo.engine.stack import Resource, Stack

__all__ = ["Resource", "Stack", "evaluate", "load_top", "load_tree", "parse_parameter_args", "summarise"]
