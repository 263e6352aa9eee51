"""``yaql: {expression: ..., data: ...}`` evaluated with yaql 2.0 and Heat's default limits."""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

from tripleo.engine.functions.base import ArgError, Context, Function

__all__ = ["Yaql"]

_LOCAL = threading.local()
_RESULTS: dict[tuple[str, str], Any] = {}
# The data converted to yaql's immutable form (FrozenDict, tuples), by its JSON text: Wallaby's role templates
# run a dozen expressions over the same role data (370 kB of JSON for Standalone), converted once here.
_CONVERTED: dict[str, Any] = {}
# Heat's defaults are 200 / 10000; TripleO's ephemeral Heat raised them, as do we. Input data is converted
# by us (as yaql.convertInputData would), so that equal data is converted once.
_OPTIONS = {"yaql.limitIterators": 9000, "yaql.memoryQuota": 900000, "yaql.convertInputData": False}


def _errors() -> Any:
    from yaql.language import exceptions  # imported on first use: yaql is slow to import

    return exceptions


def _engine() -> tuple[Any, Any]:
    cached = getattr(_LOCAL, "engine", None)
    if cached is None:
        import yaql

        parser = yaql.YaqlFactory().create(options=_OPTIONS)
        cached = (parser, yaql.create_context())
        _LOCAL.engine = cached
    return cached


def _plain(value: Any) -> Any:
    """yaql returns frozen dicts, tuples and iterators; hand back plain data."""
    if isinstance(value, dict) or type(value).__name__ == "FrozenDict":
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if hasattr(value, "__next__"):
        return [_plain(v) for v in value]
    return value


def _keep(cache: dict[Any, Any], key: Any, value: Any, limit: int) -> Any:
    """Store ``value`` in a bounded memo (the oldest entry goes first) and return it."""
    if len(cache) >= limit:
        cache.pop(next(iter(cache)))
    cache[key] = value
    return value


def _converted(data: Any, text: str | None) -> Any:
    """``data`` in yaql's immutable form (what yaql.convertInputData does), converted once per content."""
    from yaql.language import utils

    if text is None:
        return utils.convert_input_data(data)
    found = _CONVERTED.get(text)
    if found is None:
        found = _keep(_CONVERTED, text, utils.convert_input_data(data), 64)
    return found


class Yaql(Function):
    """Evaluate a yaql expression over ``data``."""

    __slots__ = ()
    _cache: dict[str, Any] = {}

    def check(self) -> None:
        if not isinstance(self.args, dict):
            raise ArgError(f'Arguments to "{self.fn}" must be a map.')
        if "expression" not in self.args or set(self.args) - {"expression", "data"}:
            raise ArgError(f'"{self.fn}" syntax should be {{expression: $.data.var1.sum(), data: {{...}}}}')
        expression = self.args["expression"]
        if not isinstance(expression, Function):
            self._parse(None, expression)

    def _parse(self, ctx: Context | None, expression: Any) -> Any:
        if not isinstance(expression, str):
            message = f'The "expression" argument to {self.fn} must contain a string.'
            if ctx is None:
                raise ArgError(message)
            self.fail(ctx, message)
        parsed = self._cache.get(expression)
        if parsed is None:
            try:
                parsed = _engine()[0](expression)
            except _errors().YaqlException as exc:
                if ctx is None:
                    raise ArgError(f"Bad expression {exc}.") from None
                self.fail(ctx, f"Bad expression {exc}.")
            self._cache[expression] = parsed
        return parsed

    def result(self, ctx: Context) -> Any:
        args = self.resolved_args(ctx)
        statement = self._parse(ctx, args["expression"])
        data = args.get("data", {})
        # A ResourceGroup evaluates the same expression on the same data once per member: memoise.
        try:
            text = json.dumps(data, sort_keys=True)
            key: tuple[str, str] | None = (args["expression"], text)
        except (TypeError, ValueError):
            text, key = None, None
        if key is not None and key in _RESULTS:
            return copy.deepcopy(_RESULTS[key])
        value = self._evaluate(ctx, statement, _converted(data, text))
        if key is not None:
            _keep(_RESULTS, key, copy.deepcopy(value), 4096)
        return value

    def _evaluate(self, ctx: Context, statement: Any, data: Any) -> Any:
        try:
            value = statement.evaluate({"data": data}, _engine()[1].create_child_context())
        except _errors().YaqlException as exc:
            self.fail(ctx, f"yaql evaluation failed: {exc}")
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, ZeroDivisionError) as exc:
            self.fail(ctx, f"yaql evaluation failed: {type(exc).__name__}: {exc}")
        return _plain(value)
