"""String functions: str_replace (+ strict forms), list_join, str_split, digest, make_url, CFN forms."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib import parse as urlparse

from tripleo.engine.functions.base import ArgError, Context, Function, is_sequence

__all__ = [
    "Base64",
    "CfnJoin",
    "CfnReplace",
    "CfnSplit",
    "Digest",
    "Join",
    "JoinMultiple",
    "MakeURL",
    "Replace",
    "ReplaceJson",
    "ReplaceStrict",
    "ReplaceVStrict",
    "StrSplit",
]

_SCALARS = (str, int, float, bool)


def to_json(value: Any) -> str:
    """JSON the way Heat's jsonutils.dumps writes it for str_replace and list_join."""
    return json.dumps(value, sort_keys=True)


def replace_all(template: str, mapping: dict[str, str], found: set[str] | None = None) -> str:
    """Replace keys longest first (ties in sorted order); replaced text is never scanned again.

    Keys that matched somewhere are added to ``found`` (for str_replace_strict).
    """
    keys = sorted(sorted(mapping), key=len, reverse=True)

    def walk(text: str, index: int) -> str:
        if index == len(keys):
            return text
        key = keys[index]
        parts = text.split(key)
        if found is not None and len(parts) > 1:
            found.add(key)
        return mapping[key].join(walk(part, index + 1) for part in parts)

    return walk(template, 0)


class Replace(Function):
    """``str_replace: {template: ..., params: {...}}`` with scalar params (before 2015-10-15)."""

    __slots__ = ()
    strict = False
    vstrict = False
    json_params = False

    def check(self) -> None:
        if not isinstance(self.args, dict):
            raise ArgError(f'Arguments to "{self.fn}" must be a map')
        if "params" not in self.args or "template" not in self.args:
            raise ArgError(f'"{self.fn}" syntax should be {{template: <string>, params: <map>}}')
        params = self.args["params"]
        if not isinstance(params, (dict, Function)):
            raise ArgError(f'"{self.fn}" parameters must be a mapping')

    def _value(self, ctx: Context, key: str, value: Any) -> str:
        if value is None or value == "":
            if self.vstrict:
                self.fail(ctx, f'"{self.fn}" params must not be empty (param {key})')
            return ""
        if isinstance(value, _SCALARS):
            return str(value)
        if self.json_params and isinstance(value, (dict, list)):
            if self.vstrict and not value:
                self.fail(ctx, f'"{self.fn}" params must not be empty (param {key})')
            return to_json(value)
        kinds = "strings, numbers, list or map" if self.json_params else "strings or numbers"
        self.fail(ctx, f'"{self.fn}" params must be {kinds}, param {key} is not valid')

    def result(self, ctx: Context) -> Any:
        args = self.resolved_args(ctx)
        template, mapping = args.get("template"), args.get("params")
        if not isinstance(template, str):
            self.fail(ctx, f'"{self.fn}" template must be a string')
        if not isinstance(mapping, dict):
            self.fail(ctx, f'"{self.fn}" params must be a map')
        for key in mapping:
            if not isinstance(key, str):
                self.fail(ctx, f'"{self.fn}" param placeholders must be strings')
        values = {key: self._value(ctx, key, value) for key, value in mapping.items()}
        found: set[str] = set()
        text = replace_all(template, values, found)
        if self.strict:
            missing = [key for key in mapping if key not in found]
            if missing:
                listed = ",".join(sorted(sorted(missing), key=len, reverse=True))
                self.fail(ctx, f"The following params were not found in the template: {listed}")
        return text


class ReplaceJson(Replace):
    """2015-10-15+: list and map params are JSON-encoded."""

    __slots__ = ()
    json_params = True


class ReplaceStrict(ReplaceJson):
    """``str_replace_strict``: every param must occur in the template."""

    __slots__ = ()
    strict = True


class ReplaceVStrict(ReplaceStrict):
    """``str_replace_vstrict``: strict, and no param value may be empty."""

    __slots__ = ()
    vstrict = True


def _join_shape(fn: str, args: Any, multiple: bool) -> None:
    example = f'"{fn}" : [ " ", [ "str1", "str2"]{" ..." if multiple else ""}]'
    if not isinstance(args, list):
        raise ArgError(f"Incorrect arguments to {example.split(' : ')[0]} should be: {example}")
    if (multiple and len(args) < 2) or (not multiple and len(args) != 2):
        raise ArgError(f"Incorrect arguments to {example.split(' : ')[0]} should be: {example}")


class Join(Function):
    """``list_join: [delimiter, [items]]`` (before 2015-10-15): items must be strings."""

    __slots__ = ()

    def check(self) -> None:
        _join_shape(self.fn, self.args, multiple=False)

    def _item(self, ctx: Context, item: Any) -> str:
        if item is None:
            return ""
        if isinstance(item, str):
            return item
        self.fail(ctx, f"Items to join must be strings not {repr(item)[:200]}")

    def _lists(self, ctx: Context, args: list[Any]) -> list[Any]:
        items = args[1]
        if items is None:
            return []
        if not is_sequence(items):
            self.fail(ctx, f'"{self.fn}" must operate on a list')
        return list(items)

    def result(self, ctx: Context) -> Any:
        args = self.resolved_args(ctx)
        items = self._lists(ctx, args)
        delim = args[0]
        if not isinstance(delim, str):
            self.fail(ctx, f'"{self.fn}" delimiter must be a string')
        return delim.join(self._item(ctx, item) for item in items)


class JoinMultiple(Join):
    """2015-10-15+: ``list_join: [delimiter, list1, list2, ...]``; maps and lists become JSON."""

    __slots__ = ()

    def check(self) -> None:
        _join_shape(self.fn, self.args, multiple=True)

    def _lists(self, ctx: Context, args: list[Any]) -> list[Any]:
        items: list[Any] = []
        for one in args[1:]:
            if one:
                if not is_sequence(one):
                    self.fail(ctx, f'"{self.fn}" must operate on a list')
                items.extend(one)
        return items

    def _item(self, ctx: Context, item: Any) -> str:
        if item is None:
            return ""
        if isinstance(item, str):
            return item
        if isinstance(item, (dict, list)):
            return to_json(item)
        self.fail(ctx, f"Items to join must be string, map or list not {repr(item)[:200]}")


class StrSplit(Function):
    """``str_split: [delimiter, string, (index)]``."""

    __slots__ = ()
    example = '[ ",", "apples,pears", <index>]'

    def check(self) -> None:
        if isinstance(self.args, (str, dict)):
            raise ArgError(f'Incorrect arguments to "{self.fn}" should be: {self.example}')

    def result(self, ctx: Context) -> Any:
        args = self.resolved_args(ctx)
        if not is_sequence(args) or len(args) < 2 or len(args) > 3:
            self.fail(ctx, f'Incorrect arguments to "{self.fn}" should be: {self.example}')
        delim, text = args[0], args[1]
        if text is None:
            return None
        if not isinstance(text, str) or not isinstance(delim, str):
            self.fail(ctx, f'Incorrect arguments to "{self.fn}": delimiter and string must be strings')
        parts = text.split(delim)
        if len(args) == 2:
            return parts
        try:
            index = int(args[2])
        except (TypeError, ValueError):
            self.fail(ctx, f'Incorrect index to "{self.fn}" should be: {self.example}')
        if not -len(parts) <= index < len(parts):
            self.fail(ctx, f'Incorrect index to "{self.fn}" should be between 0 and {len(parts) - 1}')
        return parts[index]


class Digest(Function):
    """``digest: [algorithm, value]`` as a hex string (value encoded latin-1, as Heat does)."""

    __slots__ = ()

    def _usage(self, ctx: Context | None, args: Any) -> tuple[str, str]:
        if not (isinstance(args, list) and all(isinstance(a, str) for a in args)):
            self.fail(ctx, f'Argument to function "{self.fn}" must be a list of strings')
        if len(args) != 2:
            self.fail(ctx, f'Function "{self.fn}" usage: ["<algorithm>", "<value>"]')
        if args[0].lower() not in hashlib.algorithms_available:
            known = ", ".join(sorted(hashlib.algorithms_available))
            self.fail(ctx, f'Algorithm "{args[0]}" is not available; must be one of {known}')
        return args[0], args[1]

    def check(self) -> None:
        if isinstance(self.args, list) and all(isinstance(a, str) for a in self.args):
            try:
                self._usage(None, self.args)
            except Exception as exc:
                raise ArgError(getattr(exc, "message", str(exc))) from None
        elif not isinstance(self.args, (list, Function)):
            raise ArgError(f'Argument to function "{self.fn}" must be a list of strings')

    def result(self, ctx: Context) -> Any:
        algorithm, value = self._usage(ctx, self.resolved_args(ctx))
        digest = hashlib.new(algorithm.lower(), value.encode("latin-1"))
        if algorithm.lower().startswith("shake"):
            return digest.hexdigest(32)  # type: ignore[call-arg]
        return digest.hexdigest()


class MakeURL(Function):
    """``make_url: {scheme, username, password, host, port, path, query, fragment}``."""

    __slots__ = ()
    KEYS = ("scheme", "username", "password", "host", "port", "path", "query", "fragment")

    def check(self) -> None:
        if not isinstance(self.args, (dict, Function)):
            raise ArgError(f'The arguments to "{self.fn}" must be a map')
        if isinstance(self.args, dict):
            bad = sorted(set(self.args) - set(self.KEYS))
            if bad:
                raise ArgError(f'Invalid arguments to "{self.fn}": {", ".join(bad)}')

    def _check(self, ctx: Context, args: Any) -> None:
        if not isinstance(args, dict):
            self.fail(ctx, f'The arguments to "{self.fn}" must be a map')
        if "host" not in args:
            self.fail(ctx, f'"{self.fn}" missing required argument "host"')
        for key in ("scheme", "username", "password", "host", "path", "fragment"):
            if args.get(key) is not None and not isinstance(args[key], str):
                self.fail(ctx, f'The "{key}" argument to "{self.fn}" must be a string')
        port = args.get("port")
        if port not in (None, ""):
            try:
                number = int(port)
            except (TypeError, ValueError):
                number = -1
            if not 0 <= number <= 65535:
                self.fail(ctx, f"Invalid URL port {port!r}")
        query = args.get("query")
        if query is not None and not isinstance(query, dict):
            self.fail(ctx, f'"{self.fn}" query must be a map')

    def result(self, ctx: Context) -> Any:
        args = self.resolved_args(ctx)
        self._check(ctx, args)
        scheme = str(args.get("scheme") or "")
        if ":" in scheme:
            self.fail(ctx, f"Invalid URL scheme {scheme!r}")
        netloc = ""
        user, password = args.get("username") or "", args.get("password") or ""
        if user or password:
            netloc = urlparse.quote(str(user), safe="")
            if password:
                netloc += ":" + urlparse.quote(str(password), safe="")
            netloc += "@"
        host = str(args.get("host") or "")
        netloc += f"[{host}]" if ":" in host and not host.startswith("[") else host
        port = args.get("port")
        if port not in (None, ""):
            netloc += f":{port}"
        path = urlparse.quote(str(args.get("path") or ""))
        query = urlparse.urlencode(args.get("query") or {}).replace("%2F", "/")
        fragment = urlparse.quote(str(args.get("fragment") or ""))
        return urlparse.urlunsplit((scheme, netloc, path, query, fragment))


class CfnJoin(Function):
    """``Fn::Join: [delimiter, [strings]]``."""

    __slots__ = ()

    def check(self) -> None:
        if not isinstance(self.args, list) or len(self.args) != 2:
            raise ArgError(f'Arguments to "{self.fn}" must be of the form [delimiter, [strings]]')

    def result(self, ctx: Context) -> Any:
        delim, items = self.resolved_args(ctx)
        if items is None:
            items = []
        if not is_sequence(items):
            self.fail(ctx, f'"{self.fn}" must operate on a list')
        if not isinstance(delim, str):
            self.fail(ctx, f'"{self.fn}" delimiter must be a string')
        out = []
        for item in items:
            if item is None:
                item = ""
            if not isinstance(item, str):
                self.fail(ctx, f"Items to join must be strings not {repr(item)[:200]}")
            out.append(item)
        return delim.join(out)


class CfnSplit(Function):
    """``Fn::Split: [delimiter, string]``."""

    __slots__ = ()

    def check(self) -> None:
        if not isinstance(self.args, list) or len(self.args) != 2:
            raise ArgError(f'Arguments to "{self.fn}" must be of the form [delimiter, string]')

    def result(self, ctx: Context) -> Any:
        delim, text = self.resolved_args(ctx)
        if not isinstance(delim, str):
            self.fail(ctx, f'Delimiter for "{self.fn}" must be string')
        if not isinstance(text, str):
            self.fail(ctx, f'String to split in "{self.fn}" must be string')
        return text.split(delim)


class CfnReplace(Function):
    """``Fn::Replace: [{key: value}, template]``."""

    __slots__ = ()

    def check(self) -> None:
        if not isinstance(self.args, list) or len(self.args) != 2:
            raise ArgError(f'Arguments to "{self.fn}" must be of the form [{{key: value}}, string]')

    def result(self, ctx: Context) -> Any:
        mapping, template = self.resolved_args(ctx)
        if not isinstance(mapping, dict):
            self.fail(ctx, f'"{self.fn}" parameters must be a mapping')
        if not isinstance(template, str):
            self.fail(ctx, f'"{self.fn}" template must be a string')
        values = {}
        for key, value in mapping.items():
            if value is None:
                value = ""
            if not isinstance(value, _SCALARS):
                self.fail(ctx, f'"{self.fn}" parameters must be strings or numbers')
            values[str(key)] = str(value)
        return replace_all(template, values)


class Base64(Function):
    """``Fn::Base64: string``: Heat returns the string unchanged (the encoding happens elsewhere)."""

    __slots__ = ()

    def result(self, ctx: Context) -> Any:
        value = self.resolved_args(ctx)
        if not isinstance(value, str):
            self.fail(ctx, f'Arguments to "{self.fn}" not fully resolved')
        return value
