"""The ASGI layers around the services: the token guard, the error it renders, the Ironic version headers
and the dispatch by port, called the way uvicorn calls them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from tripleo.api.heat import heat_error
from tripleo.api.ironic import VersionHeaders
from tripleo.api.keystone import TokenStore
from tripleo.api.server import ByPort, Guard


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def _broken(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("a bug")


def call(
    app: Any, path: str = "/v1/admin/stacks", headers: dict[str, str] | None = None, port: int = 8006
) -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("127.0.0.1", port),
        "client": ("127.0.0.1", 1),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


def test_guard_needs_a_token_but_for_public_paths() -> None:
    store = TokenStore("pw", [])
    token, _ = store.issue(["password"])
    guard = Guard(_ok, store, heat_error, {"/"})
    assert call(guard, "/")[0] == 200
    status, _, body = call(guard)
    assert status == 401 and json.loads(body)["error"]["type"] == "Unauthorized"
    assert call(guard, headers={"X-Auth-Token": "forged"})[0] == 401
    assert call(guard, headers={"X-Auth-Token": token}) == (200, {"content-type": "text/plain"}, b"ok")
    assert call(Guard(_ok, None, heat_error, set()))[0] == 200  # --noauth


def test_guard_answers_a_bug_in_the_service_shape_without_traceback() -> None:
    status, _, body = call(Guard(_broken, None, heat_error, set()))
    error = json.loads(body)
    assert status == 500 and error["code"] == 500 and "a bug" not in body.decode()
    assert "Traceback" not in body.decode()


def test_version_headers_on_every_answer() -> None:
    app = VersionHeaders(_ok)
    status, headers, _ = call(app, "/v1/nodes", {"X-OpenStack-Ironic-API-Version": "1.40"})
    assert status == 200 and headers["x-openstack-ironic-api-version"] == "1.40"
    status, headers, body = call(app, "/v1/nodes", {"X-OpenStack-Ironic-API-Version": "1.500"})
    assert status == 406 and headers["x-openstack-ironic-api-maximum-version"] == "1.81"
    assert "1.500" in json.loads(json.loads(body)["error_message"])["faultstring"]


def test_dispatch_by_local_port() -> None:
    async def teapot(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = ByPort({8006: _ok, 6385: teapot})
    assert call(app, port=8006)[0] == 200 and call(app, port=6385)[0] == 418
