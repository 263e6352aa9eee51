"""Functions that read the stack's inputs: get_param, get_file, resource_facade, Ref (CFN)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tripleo.engine.functions.base import ArgError, Context, Function, is_sequence

__all__ = ["CfnResourceFacade", "GetFile", "GetParam", "Ref", "ResourceFacade", "path_select_param"]


def path_select_param(value: Any, path: list[Any]) -> Any:
    """get_param's path walk: list indices may be strings; any miss gives ''."""
    try:
        for key in path:
            if not isinstance(value, (dict, list, tuple, str)):
                return ""
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                return ""
            if isinstance(value, (list, tuple, str)) and isinstance(key, str):
                key = int(key)
            value = value[key]
    except (KeyError, IndexError, TypeError, ValueError):
        return ""
    return value


class GetParam(Function):
    """``get_param: name`` or ``get_param: [name, key, index, ...]``."""

    __slots__ = ()

    def check(self) -> None:
        args = self.args
        if isinstance(args, Function):
            return
        if isinstance(args, str):
            if not args:
                raise ArgError(f'Function "{self.fn}" must have arguments')
            return
        if not is_sequence(args):
            raise ArgError(f'Argument to "{self.fn}" must be string or list')
        if not args:
            raise ArgError(f'Function "{self.fn}" must have arguments')
        if not isinstance(args[0], (str, Function)):
            raise ArgError(f'Parameter name in "{self.fn}" must be string')

    def result(self, ctx: Context) -> Any:
        args = self.resolved_args(ctx)
        if isinstance(args, str):
            name, path = args, []
        elif is_sequence(args) and args:
            name, path = args[0], list(args[1:])
        else:
            self.fail(ctx, f'Argument to "{self.fn}" must be string or list')
        if not isinstance(name, str):
            self.fail(ctx, f'Parameter name in "{self.fn}" must be string')
        try:
            value = ctx.param(name)
        except KeyError:
            self.fail(ctx, f"The Parameter ({name}) was not provided (not declared in the template)")
        return path_select_param(value, path) if path else value


class GetFile(Function):
    """``get_file: path``: the contents of a file, relative to the template that names it."""

    __slots__ = ()

    def check(self) -> None:
        if not isinstance(self.args, (str, Function)):
            raise ArgError(f'Argument to "{self.fn}" must be a string')

    def result(self, ctx: Context) -> Any:
        name = self.resolved_args(ctx)
        if not isinstance(name, str):
            self.fail(ctx, f'Argument to "{self.fn}" must be a string')
        try:
            return ctx.get_file(name)
        except KeyError:
            self.fail(ctx, f"No content found for get_file path: {name}")


class ResourceFacade(Function):
    """``resource_facade: metadata|deletion_policy|update_policy`` of the parent resource."""

    __slots__ = ()
    KEYS = ("metadata", "deletion_policy", "update_policy")

    def check(self) -> None:
        if not isinstance(self.args, Function) and self.args not in self.KEYS:
            raise ArgError(f'Argument to "{self.fn}" must be one of: {", ".join(self.KEYS)}')

    def result(self, ctx: Context) -> Any:
        key = self.resolved_args(ctx)
        if key not in self.KEYS:
            self.fail(ctx, f'Argument to "{self.fn}" must be one of: {", ".join(self.KEYS)}')
        return ctx.facade(key)


class CfnResourceFacade(ResourceFacade):
    """CFN ``Fn::ResourceFacade: Metadata|DeletionPolicy|UpdatePolicy``."""

    __slots__ = ()
    KEYS = ("Metadata", "DeletionPolicy", "UpdatePolicy")
    _HOT = {"Metadata": "metadata", "DeletionPolicy": "deletion_policy", "UpdatePolicy": "update_policy"}

    def check(self) -> None:
        if not isinstance(self.args, Function) and self.args not in self.KEYS:
            raise ArgError(f'Incorrect arguments to "{self.fn}" should be one of: {", ".join(self.KEYS)}')

    def result(self, ctx: Context) -> Any:
        key = self.resolved_args(ctx)
        if key not in self.KEYS:
            self.fail(ctx, f'Incorrect arguments to "{self.fn}" should be one of: {", ".join(self.KEYS)}')
        return ctx.facade(self._HOT[key])


class Ref(Function):
    """CFN ``Ref: name``: a parameter's value, or a resource's reference id."""

    __slots__ = ()

    def check(self) -> None:
        if not isinstance(self.args, (str, Function)):
            raise ArgError(f'Argument to "{self.fn}" must be a string')

    def _is_param(self, ctx: Context, name: Any) -> bool:
        try:
            ctx.param(name)
        except KeyError:
            return False
        return True

    def result(self, ctx: Context) -> Any:
        name = self.resolved_args(ctx)
        if self._is_param(ctx, name):
            return ctx.param(name)
        ctx.check_resource(name, None, self)
        return ctx.resource_ref(name)

    def dependencies(self, ctx: Context) -> Iterator[tuple[str, Function]]:
        name = self.args
        if isinstance(name, str) and not self._is_param(ctx, name):
            yield name, self
