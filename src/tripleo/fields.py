"""Typed fields over parsed YAML and JSON: every error names the file and the dotted path at fault.

One small layer for the schema checkers (role_data, container data, network_data, node files, lab
configs), after sushy's ``Field(path, required, default, adapter)``::

    r = Reader("network_data.yaml")
    net = r.mapping(entry, "3")
    vlan = r.integer(net.get("vlan"), "3.vlan", 1, 4094)
    # InputError: network_data.yaml: 3.vlan: expected an integer from 1 to 4094, got 'ten'

A :class:`Reader` raises at the first problem; a :class:`Collector` gathers them all, for a file the
operator fixes at once. A :class:`Field` declares one key of a mapping: how to read it and its default, or
that it must be there. Each accessor takes ``message`` to say what the caller's schema calls the problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypeVar

from tripleo.errors import InputError

__all__ = ["Collector", "Field", "Reader"]

T = TypeVar("T")
P = ParamSpec("P")

_REQUIRED: Any = object()  # Field's default when it has none: the key must be there


def _span(low: int | None, high: int | None) -> str:
    """`` from 1 to 9``, `` from 1``, `` up to 9`` or nothing: the bounds as a message says them."""
    if low is not None:
        return f" from {low} to {high}" if high is not None else f" from {low}"
    return f" up to {high}" if high is not None else ""


def _within(value: int, low: int | None, high: int | None) -> bool:
    """``value`` is from ``low`` to ``high`` (None: unbounded)."""
    return (low is None or value >= low) and (high is None or value <= high)


class Reader:
    """Typed access to one file's parsed data, with errors that carry the file and the dotted path.

    Each accessor returns the value, typed, or raises the :class:`~tripleo.errors.InputError` of
    :meth:`fail`; ``message`` replaces the accessor's own ``expected ..., got ...`` wording.

    :param file: the file, as the operator named it (None: the data came from no file).
    :param at: the path every path given is under, e.g. ``outputs.role_data.value``.
    :param prefix: what every message starts with, e.g. ``service memcached: ``.
    """

    def __init__(self, file: str | None = None, *, at: str = "", prefix: str = "") -> None:
        self.file = file
        self.at = at
        self.prefix = prefix

    def fail(self, path: str, message: str) -> InputError:
        """The error (to raise) for the value at ``path``: the file, the path under ``at``, the message."""
        where = ".".join(part for part in (self.at, path) if part)
        return InputError(self.prefix + message, file=self.file, path=where or None)

    def mapping(self, value: Any, path: str, *, message: str | None = None) -> Mapping[str, Any]:
        """A mapping.

        :raises InputError: anything else.
        """
        if not isinstance(value, Mapping):
            raise self.fail(path, message or f"expected a mapping, got {type(value).__name__}")
        return value

    def seq(self, value: Any, path: str, *, message: str | None = None) -> Sequence[Any]:
        """A list (a string is not one).

        :raises InputError: anything else.
        """
        if not isinstance(value, list):
            raise self.fail(path, message or f"expected a list, got {type(value).__name__}")
        return value

    def text(
        self,
        value: Any,
        path: str,
        pattern: re.Pattern[str] | None = None,
        *,
        empty: bool = True,
        message: str | None = None,
    ) -> str:
        """A string that ``pattern`` matches (from its start); ``empty=False`` refuses the empty string.

        :raises InputError: anything else.
        """
        if (
            not isinstance(value, str)
            or (value == "" and not empty)
            or (pattern and not pattern.match(value))
        ):
            want = "a string" if empty else "a non-empty string"
            want += f" matching {pattern.pattern}" if pattern is not None else ""
            raise self.fail(path, message or f"expected {want}, got {value!r}")
        return value

    def integer(
        self,
        value: Any,
        path: str,
        low: int | None = None,
        high: int | None = None,
        *,
        digits: bool = False,
        message: str | None = None,
    ) -> int:
        """A whole number from ``low`` to ``high`` (None: unbounded); true and false are not numbers.

        :param digits: a string of decimal digits (spaces around allowed) counts as its number, as node
            files often quote numbers.
        :raises InputError: anything else.
        """
        number = int(value) if digits and isinstance(value, str) and value.strip().isdecimal() else value
        if isinstance(number, bool) or not isinstance(number, int) or not _within(number, low, high):
            raise self.fail(path, message or f"expected an integer{_span(low, high)}, got {value!r}")
        return number

    def boolean(self, value: Any, path: str, *, message: str | None = None) -> bool:
        """True or false, nothing that merely looks like one (``"no"``, 0).

        :raises InputError: anything else.
        """
        if not isinstance(value, bool):
            raise self.fail(path, message or f"expected true or false, got {value!r}")
        return value

    def one_of(self, value: Any, path: str, choices: Mapping[Any, T], *, what: str = "value") -> T:
        """``choices[value]``: a foreign word translated at the edge by an explicit map.

        :param what: what the value is, for the message: ``unknown pm_type 'drac' (expected one of: ...)``.
        :raises InputError: a value that is not a key of ``choices``.
        """
        try:
            return choices[value]
        except (KeyError, TypeError):  # TypeError: an unhashable value, e.g. a list
            listing = ", ".join(str(choice) for choice in choices)
            raise self.fail(path, f"unknown {what} {value!r} (expected one of: {listing})") from None

    def texts(
        self, value: Any, path: str, *, empty: bool = True, message: str | None = None
    ) -> tuple[str, ...]:
        """A list of strings (``empty=False``: none of them empty), judged as a whole at ``path``.

        :raises InputError: anything else.
        """
        if not isinstance(value, list) or not all(isinstance(v, str) and (empty or v) for v in value):
            want = "a list of strings" if empty else "a list of non-empty strings"
            raise self.fail(path, message or f"expected {want}, got {value!r}")
        return tuple(value)

    def keys(self, data: Mapping[str, Any], path: str, allowed: Collection[str]) -> None:
        """Refuse the first key of ``data`` that is not ``allowed``, at that key's path.

        :raises InputError: ``unknown key 'x' (expected one of: ...)``.
        """
        for key in self.unknown(data, allowed):
            where = f"{path}.{key}" if path else str(key)
            raise self.fail(where, f"unknown key {key!r} (expected one of: {', '.join(sorted(allowed))})")

    @staticmethod
    def unknown(data: Mapping[Any, Any], allowed: Collection[str]) -> list[Any]:
        """The keys of ``data`` that are not ``allowed``, in the data's order (for schemas that say so their
        own way, or report them all)."""
        return [key for key in data if key not in allowed]


class Collector(Reader):
    """A Reader that gathers every problem instead of stopping at the first (``problems``, in order)."""

    def __init__(self, file: str | None = None, *, at: str = "", prefix: str = "") -> None:
        super().__init__(file, at=at, prefix=prefix)
        self.problems: list[InputError] = []

    def note(self, path: str, message: str) -> None:
        """Record the problem :meth:`fail` describes, and go on."""
        self.problems.append(self.fail(path, message))

    def attempt(self, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        """``read(*args, **kwargs)``, e.g. ``attempt(r.integer, value, path, 1, 9)``; None, with the problem
        recorded, when it raises an InputError."""
        try:
            return read(*args, **kwargs)
        except InputError as exc:
            self.problems.append(exc)
            return None


@dataclass(frozen=True)
class Field(Generic[T]):
    """One key of a mapping and how to read it: sushy's ``Field(path, required, default, adapter)``.

    An absent or null key takes ``default`` (keep it immutable: it is shared); a field without a default
    is required, and its absence is an error at the key's path.

    :param key: the key in the mapping.
    :param adapter: reads a present value: ``(reader, value, path) -> T``, e.g. ``Reader.mapping``.
    :param default: the value of an absent or null key.
    :param missing: the message for a required key that is absent or null.
    """

    key: str
    adapter: Callable[[Reader, Any, str], T]
    default: T = _REQUIRED
    missing: str = "missing"

    def read(self, reader: Reader, data: Mapping[str, Any], path: str = "") -> T:
        """The field's value in ``data``, the mapping at ``path``.

        :raises InputError: a required key is absent or null, or the adapter refuses the value.
        """
        where = f"{path}.{self.key}" if path else self.key
        value = data.get(self.key)
        if value is None:
            if self.default is _REQUIRED:
                raise reader.fail(where, self.missing)
            return self.default
        return self.adapter(reader, value, where)
