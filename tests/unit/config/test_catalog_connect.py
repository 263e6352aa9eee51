"""The catalog's first contact with Keystone, against a stand-in HTTP server on 127.0.0.1 (the real path,
Keystone behind HAProxy right after step 3, is the deploy lab test's): HAProxy's 503 while Keystone starts
is waited out, a 401 is not."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from tripleo.config.catalog import Admin, ensure_catalog
from tripleo.errors import OperationError


class _Keystone(http.server.BaseHTTPRequestHandler):
    unavailable = 0  # answer 503 to this many requests, then 401
    seen: list[int] = []

    def _answer(self) -> None:
        code = 503 if len(self.seen) < self.unavailable else 401
        self.seen.append(code)
        body = b'{"error": {"code": %d}}' % code
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def keystone() -> Iterator[tuple[str, type[_Keystone]]]:
    handler = type("Handler", (_Keystone,), {"seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v3", handler
    finally:
        server.shutdown()
        server.server_close()


def test_a_starting_keystone_is_waited_for_and_bad_credentials_fail(keystone: tuple[str, type]) -> None:
    url, handler = keystone
    handler.unavailable = 3
    with pytest.raises(OperationError, match="refused the admin credentials"):
        ensure_catalog(Admin(url, "not-the-password"), {}, timeout=20)
    assert handler.seen[:3] == [503, 503, 503] and 401 in handler.seen


def test_a_keystone_that_never_answers_fails_after_the_timeout(keystone: tuple[str, type]) -> None:
    url, handler = keystone
    handler.unavailable = 10_000
    with pytest.raises(OperationError, match="did not answer"):
        ensure_catalog(Admin(url, "x"), {}, timeout=2)
    assert set(handler.seen) == {503}
