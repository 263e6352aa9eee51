"""The Function base, the resolution walk and the context functions read the stack through.

A template is parsed once per file into a tree of plain data, ``FnDict``/``FnList`` containers (which hold
at least one function somewhere below) and ``Function`` objects. The tree does not depend on any stack, so
one parse serves every nested stack built from the same file (a thousand compute nodes share one parse);
the stack-specific part is the ``Context`` passed to ``result``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, ClassVar, NoReturn, Protocol

from tripleo.errors import TemplateError

__all__ = [
    "UNKNOWN",
    "ArgError",
    "Context",
    "FnDict",
    "FnList",
    "Function",
    "contains_unknown",
    "dependencies_of",
    "known_or_none",
    "note_unknown",
    "resolve",
]


class _Unknown:
    """A value known only once a resource exists (get_attr before create), or computed from one."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()

# How many unknown values resolution has met so far, per thread: a function whose arguments met one is
# itself unknown. Counting spares scanning every resolved argument for the sentinel.
_SEEN = threading.local()


def note_unknown() -> None:
    """Record that a context handed out an unknown value (or one that holds an unknown)."""
    _SEEN.count = getattr(_SEEN, "count", 0) + 1


def _seen() -> int:
    return getattr(_SEEN, "count", 0)


class _UnknownInput(Exception):
    """Raised by ``resolved_args`` when an argument is unknown: the call's result is unknown too."""


def contains_unknown(value: Any) -> bool:
    """Whether ``value`` is unknown or holds an unknown anywhere below."""
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_unknown(v) for v in value)
    return False


def known_or_none(value: Any) -> Any:
    """``value`` with every unknown shown as null, as Heat's preview shows what is not created yet."""
    if value is UNKNOWN:
        return None
    if isinstance(value, dict):
        return {k: known_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [known_or_none(v) for v in value]
    return value


class ArgError(Exception):
    """Raised by a function for a bad argument; the caller adds the file and YAML path."""


class Context(Protocol):
    """What a function may ask of the stack it is resolved in."""

    file: str
    version: str

    def param(self, name: str) -> Any:
        """The value of a parameter or pseudo parameter; KeyError if it is not declared."""

    def resource_ref(self, name: str) -> Any:
        """get_resource: the reference id (the name before creation)."""

    def resource_attr(self, name: str, attr: str | None, path: list[Any]) -> Any:
        """get_attr: the attribute value (UNKNOWN before creation); attr None means all attributes."""

    def check_resource(self, name: str, attr: Any | None, where: Function) -> None:
        """Raise if ``name`` is not an enabled resource or ``attr`` cannot exist on it."""

    def get_file(self, name: str) -> str:
        """get_file: the contents of a file next to the template; KeyError if absent."""

    def condition(self, name: Any, where: Function) -> bool:
        """The value of a named condition (or a condition expression)."""

    def facade(self, key: str) -> Any:
        """resource_facade: metadata, deletion_policy or update_policy of the parent resource."""

    def availability_zones(self) -> list[str]:
        """Fn::GetAZs: the availability zones of the cloud."""


class FnDict(dict[Any, Any]):
    """A mapping that holds at least one function somewhere below it."""


class FnList(list[Any]):
    """A list that holds at least one function somewhere below it."""


def resolve(node: Any, ctx: Context) -> Any:
    """Resolve every function in ``node``; Ellipsis results (a false 2-arg ``if``) drop their item."""
    kind = type(node)
    if kind is FnDict:
        out = {}
        for key, value in node.items():
            value = resolve(value, ctx)
            if value is not Ellipsis:
                out[key] = value
        return out
    if kind is FnList:
        items = [resolve(value, ctx) for value in node]
        return [value for value in items if value is not Ellipsis]
    if isinstance(node, Function):
        try:
            return node.result(ctx)
        except _UnknownInput:
            note_unknown()
            return UNKNOWN
    return node


def dependencies_of(node: Any, ctx: Context) -> Iterator[tuple[str, Function]]:
    """Yield (resource name, referring function) for every get_resource/get_attr in ``node``."""
    kind = type(node)
    if kind is FnDict:
        for value in node.values():
            yield from dependencies_of(value, ctx)
    elif kind is FnList:
        for value in node:
            yield from dependencies_of(value, ctx)
    elif isinstance(node, Function):
        yield from node.dependencies(ctx)


class Function:
    """An intrinsic function call: ``{name: args}``.

    Subclasses check the shape of their (parsed, unresolved) arguments in ``check`` at parse time, compute
    their value in ``result`` and report the resources they refer to in ``dependencies``.
    """

    __slots__ = ("args", "fn", "path")
    macro: ClassVar[bool] = False

    def __init__(self, fn: str, args: Any, path: str) -> None:
        self.fn = fn
        self.args = args
        self.path = path
        self.check()

    def __repr__(self) -> str:
        return f"{{{self.fn}: {self.args!r}}}"

    def check(self) -> None:
        """Validate the argument shape; raise ArgError."""

    def result(self, ctx: Context) -> Any:
        """The value of the function in ``ctx``."""
        raise NotImplementedError

    def dependencies(self, ctx: Context) -> Iterator[tuple[str, Function]]:
        """Resources this call depends on; by default those of its arguments."""
        return dependencies_of(self.args, ctx)

    def fail(self, ctx: Context | None, message: str) -> NoReturn:
        """Raise a TemplateError at this call."""
        raise TemplateError(message, file=ctx.file if ctx is not None else None, path=self.path)

    def resolved_args(self, ctx: Context) -> Any:
        """The arguments resolved; when any is (or holds) an unknown, the call is unknown: ``resolve``
        returns UNKNOWN for it and evaluates it again once the inputs are known."""
        before = _seen()
        args = resolve(self.args, ctx)
        if _seen() != before:
            raise _UnknownInput
        return args


def is_sequence(value: Any) -> bool:
    """A list-like argument (strings and mappings are not)."""
    return isinstance(value, (list, tuple))
