"""Load template and environment YAML the way Heat does (dates stay strings) with one-line errors.

Documents are loaded by :mod:`tripleo.boundedyaml` (aliases, depth and size bounded before anything is
built) and files are read through :mod:`tripleo.engine.template.confine` (the API's requests read only what
they sent).
"""

from __future__ import annotations

import functools
import os
from typing import Any

import yaml

from tripleo.boundedyaml import YamlLimitError, heat_load
from tripleo.engine.template.confine import NOT_SENT, admitted
from tripleo.errors import TemplateError

__all__ = ["display_path", "load_yaml_file", "load_yaml_text", "read_text"]


def display_path(path: str) -> str:
    """The name of a file as it appears in messages: relative to the working directory when close."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel if not rel.startswith("../../..") else path


def _refuse(msg: str, path: str, referrer: str | None, at: str | None) -> TemplateError:
    if referrer is not None:
        return TemplateError(msg, file=display_path(referrer), path=at)
    return TemplateError(msg, file=display_path(path))


def _admit(path: str, what: str, referrer: str | None = None, at: str | None = None) -> str:
    """The path to read for ``path`` (see :func:`~tripleo.engine.template.confine.admitted`).

    :raises TemplateError: reads are confined and ``path`` is not in the request's files (the message
        names the file only by its base name, the same whether or not it exists on this machine).
    """
    real = admitted(path)
    if real is None:
        name = os.path.basename(path)
        if referrer is not None:
            raise TemplateError(f"{what} {name}: {NOT_SENT}", file=display_path(referrer), path=at)
        raise TemplateError(f"{what} {name}: {NOT_SENT}", file=name)
    return real


def read_text(path: str, *, what: str = "file", referrer: str | None = None, at: str | None = None) -> str:
    """Read a text file or raise a TemplateError naming it (and who referred to it).

    :raises TemplateError: no such file, unreadable, not UTF-8, or outside the request's files.
    """
    real = _admit(path, what, referrer, at)
    try:
        with open(real, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        msg = f"{what} {display_path(path)} not found"
    except IsADirectoryError:
        msg = f"{what} {display_path(path)} is a directory"
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read {what} {display_path(path)}: {exc}"
    raise _refuse(msg, path, referrer, at)


def load_yaml_text(text: str, name: str) -> Any:
    """Parse YAML text within :data:`tripleo.boundedyaml.LIMITS`; errors name the file and line.

    :raises TemplateError: malformed YAML, tabs used for indentation, or a document past the limits
        (an alias bomb, too deep, too large).
    """
    if "\t" in text:
        for lineno, line in enumerate(text.splitlines(), 1):
            stripped = line.split("#", 1)[0]
            if "\t" in stripped[: len(stripped) - len(stripped.lstrip(" \t"))]:
                raise TemplateError(f"line {lineno}: tab character used for indentation", file=name)
    try:
        return heat_load(text)
    except YamlLimitError as exc:
        raise TemplateError(str(exc), file=name) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise TemplateError(f"{where}malformed YAML: {problem}", file=name) from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"malformed YAML: {exc}", file=name) from None


@functools.lru_cache(maxsize=1024)
def _cached(path: str, mtime: float) -> Any:
    return load_yaml_text(read_text(path), display_path(path))


def load_yaml_file(path: str) -> Any:
    """Load a YAML file (cached per path and mtime; callers must not mutate the result).

    :raises TemplateError: as :func:`read_text` and :func:`load_yaml_text`; a path outside the request's
        files is refused before the cache is looked at.
    """
    real = _admit(path, "file")
    try:
        mtime = os.stat(real).st_mtime
    except OSError:
        read_text(real)
        raise
    return _cached(real, mtime)
