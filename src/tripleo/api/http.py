"""What every service of the undercloud API shares: reading a JSON body safely and checking its fields.

A bad request is an :class:`ApiError` (status, title, one-line message); each service renders it in its own
error shape (Heat's, Ironic's, Keystone's). Nothing here knows a service's vocabulary.

A body is bounded before it is built: its size (the caller's limit), its nesting (:data:`MAX_DEPTH`, checked
on the raw text before parsing, so a deep document never reaches the parser's recursion), and its text
(no NaN or infinite numbers, no NUL characters, no unpaired surrogates: none survives storage or rendering).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
import traceback
from collections.abc import Mapping
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse as _StarletteJSON

__all__ = [
    "MAX_DEPTH",
    "TITLES",
    "ApiError",
    "FieldSpec",
    "JSONResponse",
    "check_fields",
    "internal_error",
    "read_json",
]

MAX_DEPTH = 100  # nesting of a request body (a whole tripleo-heat-templates tree sent as objects is ~20)
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_ECHO = 80  # characters of a client's value a message repeats

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    411: "Length Required",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
}


class ApiError(Exception):
    """A request the API refuses: ``status`` (4xx), a one-line ``message`` and the error ``kind``
    (what Heat calls the error type, e.g. ``StackNotFound``)."""

    def __init__(self, status: int, message: str, kind: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind or TITLES.get(status, "Error").replace(" ", "")

    @property
    def title(self) -> str:
        return TITLES.get(self.status, "Error")


# field name -> (the Python types accepted, what the message calls them)
FieldSpec = Mapping[str, tuple[tuple[type, ...], str]]


async def read_json(request: Request, limit: int, *, required: bool = True) -> dict[str, Any]:
    """The request's JSON object, read at most ``limit`` bytes, nested at most :data:`MAX_DEPTH` deep.

    :raises ApiError: 413 for a body over ``limit``; 400 for anything that is not one JSON object, a body
        nested too deep, a NaN, infinite number, NUL or unpaired surrogate in it, or a client that went away
        before sending all of it.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body of {declared} bytes is over the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"request body is over the limit of {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "the client closed the connection before sending the whole body") from None
    raw = b"".join(chunks)
    if not raw.strip():
        if required:
            raise ApiError(400, "the request needs a JSON body")
        return {}
    if _too_deep(raw):
        raise ApiError(400, f"request body: JSON nested deeper than {MAX_DEPTH} levels")
    try:
        data = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"malformed JSON in request body: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"request body: expected a JSON object, got {_kind(data)}")
    _check_text(data)
    return data


def _too_deep(raw: bytes) -> bool:
    """Whether the brackets of ``raw`` (outside strings) nest deeper than :data:`MAX_DEPTH`."""
    depth = 0
    for match in _TOKENS.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:_ECHO]} is out of range")
    return value


def _check_text(data: Any) -> None:
    """Every string and key of ``data`` is text that storage and responses can hold.

    :raises ApiError: 400 for a NUL character or an unpaired surrogate (``\\ud800`` alone).
    """
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str):
            if "\x00" in value:
                raise ApiError(400, f"request body: a NUL character in {_echo(value)}")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ApiError(400, f"request body: an unpaired surrogate in {_echo(value)}") from None


def _echo(value: str) -> str:
    """A client's string as a message repeats it: quoted, escaped, cut at :data:`_ECHO` characters."""
    cut = value if len(value) <= _ECHO else value[:_ECHO] + "..."
    return json.dumps(cut, ensure_ascii=False)


def check_fields(body: Mapping[str, Any], spec: FieldSpec, where: str = "request body") -> None:
    """Every key of ``body`` is in ``spec`` and of the type it names (null is allowed for every field).

    :raises ApiError: 400 naming the first unknown field or wrongly typed value.
    """
    for key, value in body.items():
        if key not in spec:
            raise ApiError(400, f"{where}: unknown field {_echo(key)} (expected: {', '.join(sorted(spec))})")
        types, label = spec[key]
        if value is None:
            continue
        if isinstance(value, bool) and bool not in types:
            raise ApiError(400, f'{where}: field "{key}" must be {label}, got a boolean')
        if not isinstance(value, types):
            raise ApiError(400, f'{where}: field "{key}" must be {label}, got {_kind(value)}')


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _jsonable(value: Any) -> Any:
    """What a response holds that JSON has no type for: dates (a YAML document's unquoted ``2018-08-31``)
    as ISO 8601, anything else as its text."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


class JSONResponse(_StarletteJSON):
    """Starlette's JSON response, rendered so that nothing a document can hold fails it: dates as text,
    and ASCII only (a string with an unpaired surrogate cannot be encoded as UTF-8)."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(
            content, ensure_ascii=True, allow_nan=False, default=_jsonable, separators=(",", ":")
        )
        return text.encode("ascii")


def internal_error(log: logging.Logger, method: str, path: str, exc: BaseException) -> ApiError:
    """Log an unexpected error once: its type and the frames it passed through, not its message (that
    may quote the request, whose parameters or password are secrets); return the 500 to answer.
    """
    frames = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)[-12:]))
    log.error(
        "%s %s failed with %s (message withheld)\nTraceback (most recent call last):\n%s",
        method,
        path,
        type(exc).__name__,
        frames,
    )
    return ApiError(500, "internal error (the server log has the details)", "InternalError")
