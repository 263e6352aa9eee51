"""Confinement of the engine's file reads to the files a request carried.

The CLI reads the operator's own files, as heatclient does on the client side. The undercloud API must
not: everything it builds a stack from is what the request sent (its template, ``files`` map and
environments, written under one directory by ``tripleo.api.heat_files``). While :func:`confined` is in
force (it is per thread and per task: a ``contextvars`` variable), every file the engine reads, a
template, an environment, a ``get_file`` target or a template resource's ``type`` named by path, by
``file://`` URL, relatively with ``..`` or through a symbolic link, must resolve inside one of the given
roots; anything else is answered exactly as a file that does not exist, so a client learns nothing of the
server's disk. The checks come before any parse cache is consulted.

A stack tree remembers the confinement it was built under (``BuildOptions.roots``, from :func:`current`)
and its later reads (nested stacks the executor builds as resources complete, in whatever thread) go back
under it with :func:`restored`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

__all__ = ["NOT_SENT", "admitted", "confined", "confining", "current", "is_confined", "readable", "restored"]

T = TypeVar("T")

NOT_SENT = "not in the request's files"

_ROOTS: ContextVar[tuple[str, ...] | None] = ContextVar("tripleo_engine_file_roots", default=None)


@contextmanager
def confined(*roots: str | os.PathLike[str]) -> Iterator[None]:
    """Within the block, the engine reads files under ``roots`` only (none given: no file at all)."""
    token = _ROOTS.set(tuple(os.path.realpath(root) for root in roots))
    try:
        yield
    finally:
        _ROOTS.reset(token)


def confining(roots: Sequence[str | os.PathLike[str]], work: Callable[[], T]) -> Callable[[], T]:
    """``work`` made to run :func:`confined` to ``roots`` wherever it is called (a worker thread does not
    inherit the caller's context)."""

    def run() -> T:
        with confined(*roots):
            return work()

    return run


def current() -> tuple[str, ...] | None:
    """The roots reads are confined to now (None: not confined)."""
    return _ROOTS.get()


@contextmanager
def restored(roots: tuple[str, ...] | None) -> Iterator[None]:
    """Within the block, reads are confined to ``roots`` (from :func:`current`); None changes nothing."""
    if roots is None:
        yield
        return
    token = _ROOTS.set(roots)
    try:
        yield
    finally:
        _ROOTS.reset(token)


def is_confined() -> bool:
    return _ROOTS.get() is not None


def admitted(path: str) -> str | None:
    """The path to read for ``path``: ``path`` itself when reads are not confined; when they are, its real
    path (links resolved) if that lies inside a root, else None whether or not such a file exists."""
    roots = _ROOTS.get()
    if roots is None:
        return path
    real = os.path.realpath(path)
    for root in roots:
        if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
            return real
    return None


def readable(path: str) -> str | None:
    """:func:`admitted`, and only when it names a regular file (else None)."""
    real = admitted(path)
    return real if real is not None and os.path.isfile(real) else None
