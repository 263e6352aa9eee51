"""``--parameter K=V`` values, parsed without loading the engine (an unchanged update needs no more)."""

from __future__ import annotations

from collections.abc import Sequence

from tripleo.errors import UsageError

__all__ = ["parse_parameter_args"]


def parse_parameter_args(items: Sequence[str]) -> dict[str, str]:
    """``--parameter K=V`` values (V may contain '='); UsageError naming the bad argument."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f'--parameter "{item}": expected KEY=VALUE')
        out[key] = value
    return out
