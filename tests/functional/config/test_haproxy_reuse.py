"""The HAProxy configuration the profile renders (templates/puppet/modules/tripleo/templates/haproxy.cfg.epp,
rendered by the real Puppet) in front of a keep-alive backend on 127.0.0.1: a client that reuses one
connection across pauses never loses a request.

Issue 22, item 8: `openstack server delete` got "Remote end closed connection without response" through the
public VIP. The cause: after a response without a body (Nova's and Keystone's 204s; their uwsgi removes
Content-Length, so every other response closes the connection), HAProxy kept the server connection for the
client's next request while uwsgi was closing it; a request sent on it in that instant was dropped without
an answer. The backend here closes idle connections after 50 ms, as a server's keep-alive timeout does: the
configuration must never send a request on a server connection it used before (every request has its own),
while the client's connection to HAProxy is kept across its pauses.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[3]
EPP = REPO / "templates" / "puppet" / "modules" / "tripleo" / "templates" / "haproxy.cfg.epp"
IDLE = 0.05  # the backend's keep-alive timeout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Backend:
    """An HTTP/1.1 server with keep-alive: 204 for DELETE, 200 with a length otherwise; counts the
    connections it accepts and the requests it answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self.requests = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(IDLE)
        pending = b""
        try:
            while True:
                try:
                    data = conn.recv(65536)
                except (TimeoutError, OSError):
                    return  # idle too long (or reset): close, as a server's keep-alive timeout does
                if not data:
                    return
                pending += data
                while b"\r\n\r\n" in pending:
                    head, pending = pending.split(b"\r\n\r\n", 1)
                    with self._lock:
                        self.requests += 1
                    if head.startswith(b"DELETE "):
                        conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
                    else:
                        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()


def _render(tmp_path: Path, frontend: int, backend: int) -> Path:
    """haproxy.cfg from the profile's template, by Puppet, for one HTTP listener; the parts that need
    root or a node (the haproxy user, /run/haproxy) pointed at the test's own directory."""
    values = tmp_path / "values.pp"
    values.write_text(
        f"{{ 'listeners' => [{{ 'name' => 'api', 'mode' => 'http', 'binds' => ['127.0.0.1:{frontend}'], "
        f"'servers' => [{{ 'name' => 'node-0', 'ip' => '127.0.0.1', 'port' => {backend}, "
        "'backup' => false }] }] }"
    )
    proc = subprocess.run(
        ["puppet", "epp", "render", str(EPP), "--values_file", str(values)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0 and "listen api" in proc.stdout, proc.stderr
    lines = [
        line for line in proc.stdout.splitlines() if line.strip() not in ("user haproxy", "group haproxy")
    ]
    config = tmp_path / "haproxy.cfg"
    config.write_text("\n".join(lines).replace("/run/haproxy/", f"{tmp_path}/") + "\n")
    return config


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[str, Backend]]:
    for tool in ("puppet", "haproxy"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/debian-packages installs it)")
    backend = Backend()
    frontend = _free_port()
    config = _render(tmp_path, frontend, backend.port)
    proxy = subprocess.Popen(["haproxy", "-db", "-f", str(config)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", frontend)) == 0:
                    break
            assert proxy.poll() is None, proxy.communicate()[1]
            time.sleep(0.05)
        yield f"http://127.0.0.1:{frontend}", backend
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        backend.close()


def test_a_reused_client_connection_never_meets_a_closing_server_connection(
    proxied: tuple[str, Backend],
) -> None:
    url, backend = proxied
    session = requests.Session()
    failures: list[str] = []
    sent = 0
    # DELETE (204) then at once the next request, the pattern `openstack server delete` met, and pauses
    # around the backend's idle timeout, where a kept server connection is being closed
    for gap in [0.0, 0.001, IDLE / 2, IDLE, IDLE * 1.5, 0.2] * 15 + [1.0, 2.0]:
        for method in ("DELETE", "GET", "HEAD"):
            sent += 1
            try:
                answer = session.request(method, f"{url}/thing", timeout=10)
                assert answer.status_code in (200, 204)
            except requests.ConnectionError as exc:
                failures.append(f"{method} after {gap}s: {exc}")
        time.sleep(gap)
    pools = session.get_adapter(url).poolmanager.pools
    opened = sum(pools[key].num_connections for key in pools.keys())  # noqa: SIM118 (no __iter__)
    session.close()
    assert failures == []
    assert backend.requests == sent
    # every request had a server connection of its own: none was reused while the server closed it
    assert backend.connections == sent
    # and the client kept its one connection to HAProxy across every pause
    assert opened == 1
