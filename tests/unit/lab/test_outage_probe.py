"""The failover probe (tripleo.lab.failover) against a real HTTP server on 127.0.0.1: the longest window of
failed probes of one kind, and why each failed (the HTTP status, a timeout, a refused connection)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tripleo.lab.failover import OutageProbe, failure_windows, longest_outage


class _Cloud(BaseHTTPRequestHandler):
    failing = threading.Event()

    def log_message(self, *_: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        url = f"http://127.0.0.1:{self.server.server_address[1]}/compute"
        body = json.dumps({"token": {"catalog": [
            {"type": "compute", "endpoints": [{"interface": "public", "url": url}]}]}}).encode()  # fmt: skip
        self.send_response(201)
        self.send_header("X-Subject-Token", "t")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        status = 503 if self.failing.is_set() else (200 if self.headers["X-Auth-Token"] == "t" else 401)
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


@pytest.fixture
def cloud() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Cloud)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_longest_window_of_one_kind_and_why_it_failed(cloud: ThreadingHTTPServer) -> None:
    rc = {"OS_AUTH_URL": f"http://127.0.0.1:{cloud.server_address[1]}", "OS_USERNAME": "admin",
          "OS_PASSWORD": "secret", "OS_PROJECT_NAME": "admin"}  # fmt: skip
    probe = OutageProbe(rc, kinds=("identity", "compute")).start()
    try:
        deadline = time.monotonic() + 10
        while not probe.answering(0.0):
            assert time.monotonic() < deadline, probe.errors
            time.sleep(0.05)
        mark = probe.mark()
        _Cloud.failing.set()
        time.sleep(1.5)
        _Cloud.failing.clear()
        back = time.monotonic()
        deadline = back + 10
        while not probe.answering(back):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        probe.stop()
    outages = probe.outages_since(mark)
    windows = probe.windows_since(mark, "compute")
    assert len(windows) == 1 and 0.0 <= windows[0][0] < 1.5 < windows[0][1] and windows[0][2] >= 1, windows
    assert probe.windows_since(mark, "identity") == []
    assert outages["identity"] == 0.0 and 0.8 < outages["compute"] < 3.0
    assert (
        set(probe.reasons_since(mark, "compute")) == {"HTTP 503"}
        and probe.reasons_since(mark, "identity") == {}
    )


def test_a_server_that_is_gone_is_a_refused_connection(cloud: ThreadingHTTPServer) -> None:
    port = cloud.server_address[1]
    cloud.shutdown()
    cloud.server_close()
    rc = {
        "OS_AUTH_URL": f"http://127.0.0.1:{port}",
        "OS_USERNAME": "a",
        "OS_PASSWORD": "b",
        "OS_PROJECT_NAME": "c",
    }
    probe = OutageProbe(rc, kinds=("identity",)).start()
    time.sleep(0.5)
    probe.stop()
    assert probe.reasons_since(0.0, "identity").keys() == {"connection refused"}


def test_a_window_still_open_runs_to_the_last_sample() -> None:
    assert longest_outage([(0.0, True), (1.0, False), (2.5, False)]) == 1.5
    assert longest_outage([(0.0, False), (2.0, True), (3.0, False), (3.5, True)]) == 2.0


def test_failure_windows_are_each_run_of_failures_with_its_count() -> None:
    samples = [(0.0, True), (1.0, False), (2.0, False), (3.0, True), (4.0, False), (5.0, True), (6.0, False)]
    assert failure_windows(samples) == [(1.0, 3.0, 2), (4.0, 5.0, 1), (6.0, 6.0, 1)]
    assert longest_outage(samples) == 2.0 and longest_outage([(0.0, True)]) == 0.0
