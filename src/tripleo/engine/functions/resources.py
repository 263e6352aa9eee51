"""Functions that read resources: get_resource and the get_attr variants of each HOT version."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tripleo.engine.functions.base import ArgError, Context, Function, dependencies_of, is_sequence

__all__ = ["GetAtt", "GetAttAllAttributes", "GetAttThenSelect", "GetResource", "select_attr_path"]


def select_attr_path(value: Any, path: list[Any]) -> Any:
    """Heat's attribute path walk: no str->int conversion; any miss gives None."""
    try:
        for key in path:
            if not isinstance(value, (dict, list, tuple, str)):
                return None
            if not isinstance(key, (str, int)):
                return None
            value = value[key]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return None
    return value


class GetResource(Function):
    """``get_resource: name``: the resource's reference id (its name before creation)."""

    __slots__ = ()

    def check(self) -> None:
        if not isinstance(self.args, (str, Function)):
            raise ArgError(f'Argument to "{self.fn}" must be a resource name (a string)')

    def _name(self, ctx: Context) -> Any:
        name = self.resolved_args(ctx)
        if not isinstance(name, str):
            self.fail(ctx, f'Argument to "{self.fn}" must be a resource name (a string), not {name!r}')
        return name

    def result(self, ctx: Context) -> Any:
        name = self._name(ctx)
        ctx.check_resource(name, None, self)
        return ctx.resource_ref(name)

    def dependencies(self, ctx: Context) -> Iterator[tuple[str, Function]]:
        yield self._name(ctx), self


class GetAttThenSelect(Function):
    """``get_attr: [resource, attribute, path...]`` (2013-05-23: the path selects in the value)."""

    __slots__ = ()
    min_args = 2

    def check(self) -> None:
        args = self.args
        if not is_sequence(args):
            raise ArgError(f'Argument to "{self.fn}" must be a list')
        if len(args) < self.min_args:
            form = "[resource_name, attribute, (path), ...]"
            raise ArgError(f'Arguments to "{self.fn}" must be of the form {form}')
        if not isinstance(args[0], (str, Function)):
            raise ArgError(f'Resource name in "{self.fn}" must be a string')
        if len(args) > 1 and not isinstance(args[1], (str, Function)):
            raise ArgError(f'Attribute name in "{self.fn}" must be a string')

    def static_attr(self) -> Any:
        """The attribute as written when it is a plain string, else None (computed at run time)."""
        return self.args[1] if len(self.args) > 1 and isinstance(self.args[1], str) else None

    def result(self, ctx: Context) -> Any:
        args = self.resolved_args(ctx)
        name = args[0]
        if not isinstance(name, str):
            self.fail(ctx, f'Resource name in "{self.fn}" must be a string, not {name!r}')
        attr = args[1] if len(args) > 1 else None
        if len(args) > 1 and not isinstance(attr, str):
            self.fail(ctx, f'Attribute name in "{self.fn}" must be a string, not {attr!r}')
        ctx.check_resource(name, attr if len(args) > 1 else None, self)
        return ctx.resource_attr(name, attr, list(args[2:]))

    def dependencies(self, ctx: Context) -> Iterator[tuple[str, Function]]:
        name = self.args[0]
        if isinstance(name, Function):
            yield from name.dependencies(ctx)
            name = name.result(ctx)
            if not isinstance(name, str):
                self.fail(ctx, f'Resource name in "{self.fn}" must be a string, not {name!r}')
        yield name, self
        yield from dependencies_of(self.args[1:], ctx)


class GetAtt(GetAttThenSelect):
    """2014-10-16: the path is handed to the resource (same result for stored attributes)."""

    __slots__ = ()


class GetAttAllAttributes(GetAtt):
    """2015-10-15+: ``get_attr: [resource]`` alone gives every attribute as a map."""

    __slots__ = ()
    min_args = 1
