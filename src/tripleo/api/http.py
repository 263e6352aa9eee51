"""What every service of the undercloud API shares: reading a JSON body safely and checking its fields.

A bad request is an :class:`ApiError` (status, title, one-line message); each service renders it in its own
error shape (Heat's, Ironic's, Keystone's). Nothing here knows a service's vocabulary.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

__all__ = ["TITLES", "ApiError", "FieldSpec", "check_fields", "read_json"]

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
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
    """The request's JSON object, read at most ``limit`` bytes.

    :raises ApiError: 413 for a body over ``limit``, 400 for anything that is not one JSON object.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body of {declared} bytes is over the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        if required:
            raise ApiError(400, "the request needs a JSON body")
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"malformed JSON in request body: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"request body: expected a JSON object, got {_kind(data)}")
    return data


def check_fields(body: Mapping[str, Any], spec: FieldSpec, where: str = "request body") -> None:
    """Every key of ``body`` is in ``spec`` and of the type it names (null is allowed for every field).

    :raises ApiError: 400 naming the first unknown field or wrongly typed value.
    """
    for key, value in body.items():
        if key not in spec:
            raise ApiError(400, f'{where}: unknown field "{key}" (expected: {", ".join(sorted(spec))})')
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
