"""Functions over lists and maps: repeat, map_merge, map_replace, list_concat, filter, contains, CFN forms."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from tripleo.engine.functions.base import ArgError, Context, Function, is_sequence

__all__ = [
    "Contains",
    "Filter",
    "GetAZs",
    "ListConcat",
    "ListConcatUnique",
    "MapMerge",
    "MapReplace",
    "MemberListToMap",
    "Repeat",
    "RepeatWithMap",
    "RepeatWithNestedLoop",
    "Select",
]


def _substitute(keys: tuple[str, ...], values: tuple[Any, ...], template: Any) -> Any:
    if isinstance(template, str):
        for key, value in zip(keys, values, strict=True):
            if not isinstance(value, str):
                raise TypeError(f"replace() argument 2 must be str, not {type(value).__name__}")
            template = template.replace(key, value)
        return template
    if isinstance(template, list):
        return [_substitute(keys, values, item) for item in template]
    if isinstance(template, dict):
        return {_substitute(keys, values, k): _substitute(keys, values, v) for k, v in template.items()}
    return template


class Repeat(Function):
    """``repeat: {template: ..., for_each: {%var%: [values]}}``: nested loops (cartesian product)."""

    __slots__ = ()
    allow_maps = False
    allow_permutations_key = False
    example = "repeat: {template: 'This is %var%', for_each: {'%var%': ['a', 'b', 'c']}}"

    def check(self) -> None:
        if not isinstance(self.args, dict):
            raise ArgError(f'Arguments to "{self.fn}" must be a map')
        if "for_each" not in self.args or "template" not in self.args:
            raise ArgError(f'"{self.fn}" syntax should be {self.example}')
        for_each = self.args["for_each"]
        if not isinstance(for_each, (dict, Function)):
            raise ArgError(f'The "for_each" argument to "{self.fn}" must contain a map')
        perm = self.args.get("permutations", True) if self.allow_permutations_key else True
        if not isinstance(perm, (bool, Function)):
            raise ArgError(f'"permutations" should be boolean type for {self.fn} function')

    def _loop_values(self, ctx: Context, value: Any, permutations: bool) -> list[Any]:
        if value is None:
            return []
        if is_sequence(value) or (self.allow_maps and permutations and isinstance(value, dict)):
            return list(value)
        self.fail(ctx, f'The values of the "for_each" argument to "{self.fn}" must be lists')

    def result(self, ctx: Context) -> Any:
        args = self.resolved_args(ctx)
        for_each = args["for_each"]
        if not isinstance(for_each, dict):
            self.fail(ctx, f'The "for_each" argument to "{self.fn}" must contain a map')
        if not for_each:
            return []
        keys = tuple(for_each)
        permutations = args.get("permutations", True) if self.allow_permutations_key else True
        if not isinstance(permutations, bool):
            self.fail(ctx, f'"permutations" should be boolean type for {self.fn} function')
        lists = [self._loop_values(ctx, for_each[key], permutations) for key in keys]
        if not permutations and len({len(one) for one in lists}) > 1:
            self.fail(ctx, f"For {self.fn}, the length of for_each values should be equal if no nested loop")
        combos = itertools.product(*lists) if permutations else zip(*lists, strict=True)
        try:
            return [_substitute(keys, combo, args["template"]) for combo in combos]
        except TypeError as exc:
            self.fail(ctx, f'"{self.fn}": {exc} (for_each keys and values must be strings)')


class RepeatWithMap(Repeat):
    """newton+: a for_each value may be a map (its keys are iterated)."""

    __slots__ = ()
    allow_maps = True


class RepeatWithNestedLoop(RepeatWithMap):
    """pike+: ``permutations: false`` zips the lists instead (equal lengths required)."""

    __slots__ = ()
    allow_permutations_key = True


class MapMerge(Function):
    """``map_merge: [map, map, ...]``: later maps win (shallow); None counts as {}."""

    __slots__ = ()

    def check(self) -> None:
        if not isinstance(self.args, (list, Function)):
            raise ArgError(f'Incorrect arguments to "{self.fn}" should be: [{{k1: v1}}, {{k2: v2}}, ...]')

    def result(self, ctx: Context) -> Any:
        args = self.resolved_args(ctx)
        if not is_sequence(args) and not isinstance(args, str):
            self.fail(ctx, f'Incorrect arguments to "{self.fn}" should be a list of maps')
        merged: dict[Any, Any] = {}
        for item in args:
            if item is None:
                continue
            if not isinstance(item, dict):
                self.fail(ctx, f'Incorrect arguments to "{self.fn}": Items to merge must be maps')
            merged.update(item)
        return merged


class MapReplace(Function):
    """``map_replace: [map, {keys: {old: new}, values: {old: new}}]``."""

    __slots__ = ()
    example = "[{k1: v1, k2: v2}, {keys: {k1: K1}, values: {v2: V2}}]"

    def check(self) -> None:
        if not isinstance(self.args, (list, Function)):
            raise ArgError(f'Incorrect arguments to "{self.fn}" should be: {self.example}')
        if isinstance(self.args, list) and len(self.args) != 2:
            raise ArgError(f'Incorrect arguments to "{self.fn}" should be: {self.example}')

    def _map(self, ctx: Context, value: Any) -> dict[Any, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(ctx, f'Incorrect arguments: to "{self.fn}", arguments must be a list of maps')
        return value

    def result(self, ctx: Context) -> Any:
        args = self.resolved_args(ctx)
        if not is_sequence(args) or len(args) != 2:
            self.fail(ctx, f'Incorrect arguments to "{self.fn}" should be: {self.example}')
        source, repl = self._map(ctx, args[0]), self._map(ctx, args[1])
        for key in repl:
            if key not in ("keys", "values"):
                self.fail(ctx, f'Incorrect arguments to "{self.fn}" should be: {self.example}')
        new_keys = self._map(ctx, repl.get("keys"))
        new_values = self._map(ctx, repl.get("values"))
        out: dict[Any, Any] = {}
        for key, value in source.items():
            target = new_keys.get(key)
            if target is None:
                target = key
            elif target in source and target != key:
                self.fail(ctx, f"key replacement {target} collides with a key in the input map")
            elif target in out:
                self.fail(ctx, f"key replacement {target} collides with a key in the output map")
            try:
                out[target] = new_values.get(value, value)
            except TypeError:  # unhashable values are kept as they are
                out[target] = value
        return out


class ListConcat(Function):
    """``list_concat: [list, list, ...]``."""

    __slots__ = ()
    unique = False

    def result(self, ctx: Context) -> Any:
        args = self.resolved_args(ctx)
        if not is_sequence(args):
            self.fail(ctx, f'Incorrect arguments to "{self.fn}" should be: [[v1, v2], [v3, v4]]')
        out: list[Any] = []
        for item in args:
            if item is None:
                continue
            if not is_sequence(item):
                self.fail(
                    ctx,
                    f'Incorrect arguments to "{self.fn}": Items to concat must be lists. '
                    f"{json.dumps(item)} is not a list",
                )
            out.extend(item)
        if not self.unique:
            return out
        unique: list[Any] = []
        for item in out:
            if item not in unique:
                unique.append(item)
        return unique


class ListConcatUnique(ListConcat):
    """``list_concat_unique``: as list_concat, keeping the first of equal items."""

    __slots__ = ()
    unique = True


class Filter(Function):
    """``filter: [values_to_remove, list]``."""

    __slots__ = ()

    def check(self) -> None:
        if not is_sequence(self.args):
            raise ArgError(f'Argument to "{self.fn}" must be a list')
        if len(self.args) != 2:
            raise ArgError(
                f'"{self.fn}" expected 2 arguments of the form [values, sequence] but got '
                f"{len(self.args)} arguments instead"
            )

    def result(self, ctx: Context) -> Any:
        values, sequence = self.resolved_args(ctx)
        if not sequence:
            return sequence
        if not isinstance(sequence, list):
            self.fail(ctx, f'"{self.fn}" only works with lists')
        if not values:
            return sequence
        if not isinstance(values, list):
            self.fail(ctx, f'"{self.fn}" filters a list of values')
        return [item for item in sequence if item not in values]


class Contains(Function):
    """``contains: [value, sequence]``."""

    __slots__ = ()

    def check(self) -> None:
        if not is_sequence(self.args) or len(self.args) != 2:
            raise ArgError(f'Arguments to "{self.fn}" must be of the form: [value1, [value1, value2]]')

    def result(self, ctx: Context) -> Any:
        value, sequence = self.resolved_args(ctx)
        if not isinstance(sequence, (list, tuple, str)):
            self.fail(ctx, f'Second argument to "{self.fn}" should be a sequence')
        if isinstance(sequence, str) and not isinstance(value, str):
            return False
        return value in sequence


class Select(Function):
    """CFN ``Fn::Select: [index, list_or_map]``; misses give ''."""

    __slots__ = ()

    def check(self) -> None:
        if not is_sequence(self.args) or len(self.args) != 2:
            raise ArgError(f'Arguments to "{self.fn}" must be of the form [index, collection]')

    def result(self, ctx: Context) -> Any:
        index, items = self.resolved_args(ctx)
        if items == "" or items is None:
            return ""
        if isinstance(items, str):
            try:
                items = json.loads(items)
            except ValueError as exc:
                self.fail(ctx, f'"{self.fn}": {exc}')
        if isinstance(items, dict):
            if not isinstance(index, str):
                self.fail(ctx, f'Index to "{self.fn}" must be a string')
            return items.get(index, "")
        try:
            index = int(index)
        except (TypeError, ValueError):
            self.fail(ctx, f'Index to "{self.fn}" must be an integer')
        if is_sequence(items):
            try:
                return items[index]
            except IndexError:
                return ""
        self.fail(ctx, f"Arguments to {self.fn} not fully resolved")


_MEMBER = re.compile(r"^\.member\.([0-9]+)\.(.*)$")


class MemberListToMap(Function):
    """CFN ``Fn::MemberListToMap: [keyname, valuename, ['.member.0.Name=k', '.member.0.Value=v']]``."""

    __slots__ = ()

    def check(self) -> None:
        if not is_sequence(self.args) or len(self.args) != 3:
            raise ArgError(f'Wrong Arguments try: {{"{self.fn}": ["Name", "Value", [".member.0.Name=key"]]}}')
        if not isinstance(self.args[0], str):
            raise ArgError(f"{self.fn} Key Name must be a string")
        if not isinstance(self.args[1], str):
            raise ArgError(f"{self.fn} Value Name must be a string")

    def result(self, ctx: Context) -> Any:
        keyname, valuename, members = self.resolved_args(ctx)
        if not is_sequence(members):
            self.fail(ctx, "Member list must be a list")
        members_by_index: dict[int, dict[str, str]] = {}
        for item in members:
            if not isinstance(item, str):
                self.fail(ctx, "Member list items must be strings")
            key, _, value = item.partition("=")
            match = _MEMBER.match(key)
            if match:
                members_by_index.setdefault(int(match.group(1)), {})[match.group(2)] = value
        return {
            member[keyname]: member[valuename]
            for _, member in sorted(members_by_index.items())
            if keyname in member and valuename in member
        }


class GetAZs(Function):
    """CFN ``Fn::GetAZs: region``: the cloud's availability zones."""

    __slots__ = ()

    def result(self, ctx: Context) -> Any:
        return ctx.availability_zones()
