"""Checks of a Heat request body's values that need no file and no parse, run before anything is written.

:mod:`tripleo.api.heat_files` writes every ``files`` entry under the request's directory, named by its key;
a key the file system cannot hold (a NUL, a name over 255 bytes, a path over the limit) or one that is
both a file and a directory of another (``a/b`` and ``a/b/c``) would fail half-way through that, after
some files were written. So every key, value and ``environment_files`` entry is checked here first, and a
bad one is a 400 that leaves nothing on disk.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from typing import Any

from tripleo.api.http import ApiError

__all__ = ["MAX_KEY", "MAX_TIMEOUT_MINS", "check_request"]

MAX_KEY = 1024  # characters of a files key (heatclient sends absolute file:// URLs, ~150 in a THT tree)
MAX_NAME = 255  # bytes of one component of it (the file systems' NAME_MAX)
MAX_TIMEOUT_MINS = 525_600  # a year
_SCHEME = "file://"
# what heat_files writes beside the client's files in a request's directory: a key must not name them
# nor a path under them
_WRITTEN = ("template.yaml", "environment.yaml")


def _shown(key: str) -> str:
    return json.dumps(key if len(key) <= 80 else key[:80] + "...", ensure_ascii=False)


def _relative(key: str) -> str:
    """Where ``key`` lands inside the request's directory (as :func:`tripleo.api.heat_files._local`).

    :raises ApiError: 400 for a key the file system cannot hold or that names no file.
    """
    bad = next((c for c in key if ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise ApiError(400, f"files: key {_shown(key)} holds a control character ({bad!r})")
    if len(key) > MAX_KEY:
        raise ApiError(400, f"files: key {_shown(key)} is {len(key)} characters long (at most {MAX_KEY})")
    path = key[len(_SCHEME) :] if key.startswith(_SCHEME) else key
    parts = path.split("/")
    if ".." in parts:
        raise ApiError(400, f'files: key {_shown(key)} has a ".." component')
    long = next((p for p in parts if len(p.encode("utf-8")) > MAX_NAME), None)
    if long is not None:
        raise ApiError(400, f"files: key {_shown(key)} has a name over {MAX_NAME} bytes ({_shown(long)})")
    norm = posixpath.normpath("/" + path).lstrip("/")
    if not norm:
        raise ApiError(400, f"files: key {_shown(key)} names no file")
    return f"files/{norm}" if key.startswith(_SCHEME) else norm


def _check_files(files: Mapping[str, Any]) -> None:
    """Every key names its own file, never another's directory, and every value is text.

    :raises ApiError: 400 naming the first bad key.
    """
    owner: dict[str, str] = {}
    for key, content in files.items():
        if not isinstance(content, str):
            raise ApiError(400, f"files: the content of {_shown(key)} must be a string")
        rel = _relative(key)
        if rel.split("/")[0] in _WRITTEN:
            raise ApiError(400, f"files: key {_shown(key)} names the request's own {rel.split('/')[0]}")
        if rel in owner:
            raise ApiError(400, f"files: keys {_shown(owner[rel])} and {_shown(key)} name the same file")
        owner[rel] = key
    dirs: dict[str, str] = {}
    for rel, key in owner.items():
        parent = posixpath.dirname(rel)
        while parent:
            dirs.setdefault(parent, key)
            parent = posixpath.dirname(parent)
    clash = next((rel for rel in owner if rel in dirs), None)
    if clash is not None:
        raise ApiError(
            400,
            f"files: key {_shown(owner[clash])} would be both a file and the directory of "
            f"{_shown(dirs[clash])}: send one or the other",
        )


def check_request(body: Mapping[str, Any]) -> None:
    """The values of a create, update or validate body (fields and types already checked) that would fail
    only once files are written: ``timeout_mins``, the ``files`` map and ``environment_files``.

    :raises ApiError: 400 naming the value.
    """
    timeout = body.get("timeout_mins")
    if timeout is not None and not 0 < timeout <= MAX_TIMEOUT_MINS:
        shown = str(timeout) if abs(timeout) < 10**12 else f"a {timeout.bit_length()}-bit number"
        raise ApiError(400, f'field "timeout_mins" must be 1-{MAX_TIMEOUT_MINS} (minutes), got {shown}')
    files = body.get("files") or {}
    _check_files(files)
    for key in body.get("environment_files") or []:
        if not isinstance(key, str) or key not in files:
            raise ApiError(400, f"environment_files: {json.dumps(key)[:80]} is not a key of files")
