"""Load template and environment YAML the way Heat does (dates stay strings) with one-line errors."""

from __future__ import annotations

import functools
import os
from typing import Any

import yaml

from tripleo.errors import TemplateError

__all__ = ["display_path", "load_yaml_file", "load_yaml_text", "read_text"]

_Base: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    """Safe loader that keeps ``2015-04-30`` a string, as Heat's template loader does."""


def _as_string(loader: Any, node: Any) -> str:
    return str(node.value)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _as_string)


def display_path(path: str) -> str:
    """The name of a file as it appears in messages: relative to the working directory when close."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel if not rel.startswith("../../..") else path


def read_text(path: str, *, what: str = "file", referrer: str | None = None, at: str | None = None) -> str:
    """Read a text file or raise a TemplateError naming it (and who referred to it)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        msg = f"{what} {display_path(path)} not found"
    except IsADirectoryError:
        msg = f"{what} {display_path(path)} is a directory"
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read {what} {display_path(path)}: {exc}"
    if referrer is not None:
        raise TemplateError(msg, file=display_path(referrer), path=at)
    raise TemplateError(msg, file=display_path(path))


def _check_acyclic(data: Any, name: str) -> None:
    """Reject a structure that contains itself (a recursive YAML alias such as ``&a [*a]``)."""
    pending: list[tuple[Any, frozenset[int]]] = [(data, frozenset())]
    while pending:
        node, above = pending.pop()
        if isinstance(node, (dict, list)):
            if id(node) in above:
                raise TemplateError(
                    "a YAML alias refers to a node that contains it (recursive data)", file=name
                )
            inner = above | {id(node)}
            children = node.values() if isinstance(node, dict) else node
            pending.extend((child, inner) for child in children if isinstance(child, (dict, list)))


def load_yaml_text(text: str, name: str) -> Any:
    """Parse YAML text; errors name the file and line."""
    if "\t" in text:
        for lineno, line in enumerate(text.splitlines(), 1):
            stripped = line.split("#", 1)[0]
            if "\t" in stripped[: len(stripped) - len(stripped.lstrip(" \t"))]:
                raise TemplateError(f"line {lineno}: tab character used for indentation", file=name)
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise TemplateError(f"{where}malformed YAML: {problem}", file=name) from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"malformed YAML: {exc}", file=name) from None
    if "&" in text:
        _check_acyclic(data, name)
    return data


@functools.lru_cache(maxsize=1024)
def _cached(path: str, mtime: float) -> Any:
    return load_yaml_text(read_text(path), display_path(path))


def load_yaml_file(path: str) -> Any:
    """Load a YAML file (cached per path and mtime; callers must not mutate the result)."""
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        read_text(path)
        raise
    return _cached(path, mtime)
