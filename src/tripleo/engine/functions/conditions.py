"""Condition functions (equals, not, and, or) and ``if`` in both its forms."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tripleo.engine.functions.base import ArgError, Context, Function, dependencies_of, is_sequence, resolve

__all__ = ["And", "Equals", "If", "IfNullable", "Not", "Or"]


def _truth(fn: Function, ctx: Context, value: Any) -> bool:
    """A condition argument: a boolean, a condition name, or a condition function."""
    if isinstance(value, Function):
        value = value.result(ctx)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return ctx.condition(value, fn)
    fn.fail(ctx, f"The condition value should be boolean, after resolved the value we got is {value!r}")


class Equals(Function):
    """``equals: [a, b]``."""

    __slots__ = ()

    def check(self) -> None:
        if not is_sequence(self.args) or len(self.args) != 2:
            raise ArgError(f'Arguments to "{self.fn}" must be of the form: [value_1, value_2]')

    def result(self, ctx: Context) -> Any:
        first, second = self.resolved_args(ctx)
        return bool(first == second)


class Not(Function):
    """``not: condition``."""

    __slots__ = ()

    def check(self) -> None:
        if self.args is None or (is_sequence(self.args) and not isinstance(self.args, Function)):
            raise ArgError(f'Arguments to "{self.fn}" must be of the form: [condition]')

    def result(self, ctx: Context) -> Any:
        return not _truth(self, ctx, self.args)


class And(Function):
    """``and: [cond, cond, ...]`` (at least two)."""

    __slots__ = ()

    def check(self) -> None:
        if not is_sequence(self.args):
            raise ArgError(f'Arguments to "{self.fn}" must be a list of conditions')
        if len(self.args) < 2:
            raise ArgError(f'The minimum number of condition arguments to "{self.fn}" is 2.')

    def result(self, ctx: Context) -> Any:
        return all(_truth(self, ctx, arg) for arg in self.args)


class Or(And):
    """``or: [cond, cond, ...]`` (at least two)."""

    __slots__ = ()

    def result(self, ctx: Context) -> Any:
        return any(_truth(self, ctx, arg) for arg in self.args)


class If(Function):
    """``if: [condition, value_if_true, value_if_false]`` (newton+); only the taken branch counts."""

    __slots__ = ()
    macro = True
    min_args = 3

    def check(self) -> None:
        args = self.args
        if not is_sequence(args) or not self.min_args <= len(args) <= 3:
            form = "[condition_name, value_if_true, value_if_false]"
            raise ArgError(f'Arguments to "{self.fn}" must be of the form: {form}')

    def _branch(self, ctx: Context) -> Any:
        if _truth(self, ctx, self.args[0]):
            return self.args[1]
        return self.args[2] if len(self.args) > 2 else Ellipsis

    def result(self, ctx: Context) -> Any:
        branch = self._branch(ctx)
        return Ellipsis if branch is Ellipsis else resolve(branch, ctx)

    def dependencies(self, ctx: Context) -> Iterator[tuple[str, Function]]:
        branch = self._branch(ctx)
        if branch is not Ellipsis:
            yield from dependencies_of(branch, ctx)


class IfNullable(If):
    """wallaby: ``if: [condition, value]`` with no else removes the enclosing item when false."""

    __slots__ = ()
    min_args = 2
