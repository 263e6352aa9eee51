"""Helpers for the undercloud API's functional tests: start ``tripleo undercloud serve`` (a real process)
or the same ASGI app in a thread of the test process (for ``fake``-driver nodes, whose machines live in
the process's memory), and run the real, unmodified ``openstack`` client against it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn

from tripleo.api import ServeOptions, build_app, listen

BIN = Path(sys.executable).parent
TRIPLEO = str(BIN / "tripleo")
OPENSTACK = str(BIN / "openstack")


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 right now."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(p.getsockname()[1]) for p in probes]
    finally:
        for probe in probes:
            probe.close()


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "TRIPLEO_"))}
    env["TRIPLEO_HOME"] = str(home)
    return env


@dataclass
class Undercloud:
    """A running undercloud API: its ports, its TRIPLEO_HOME, and ways to call it."""

    home: Path
    keystone: int
    heat: int
    ironic: int
    noauth: bool = False
    log: list[str] = field(default_factory=list)
    pid: int = 0  # the server process's (0: served in a thread of the test process)

    @property
    def password(self) -> str:
        return (self.home / "undercloud-admin-password").read_text().strip()

    @property
    def heat_url(self) -> str:
        return f"http://127.0.0.1:{self.heat}/v1/admin"

    @property
    def ironic_url(self) -> str:
        return f"http://127.0.0.1:{self.ironic}"

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.keystone}/v3"

    def client_env(self, endpoint: str | None = None, password: str | None = None) -> dict[str, str]:
        """The environment an operator's shell would have: password auth, or noauth with OS_ENDPOINT."""
        env = _clean_env(self.home)
        if endpoint is not None:
            env.update(OS_AUTH_TYPE="none", OS_ENDPOINT=endpoint)
            return env
        env.update(
            OS_AUTH_URL=self.auth_url,
            OS_USERNAME="admin",
            OS_PROJECT_NAME="admin",
            OS_USER_DOMAIN_NAME="Default",
            OS_PROJECT_DOMAIN_NAME="Default",
            OS_IDENTITY_API_VERSION="3",
            OS_PASSWORD=self.password if password is None else password,
        )
        return env

    def openstack(
        self, *args: str, code: int | None = 0, endpoint: str | None = None, password: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``openstack ARGS``; with ``code`` set, fail the test on another exit code."""
        env = self.client_env(endpoint, password)
        proc = subprocess.run([OPENSTACK, *args], env=env, capture_output=True, text=True, timeout=120)
        if code is not None:
            assert proc.returncode == code, f"openstack {' '.join(args)} -> {proc.returncode}: {proc.stderr}"
        return proc

    def openstack_json(self, *args: str, endpoint: str | None = None) -> Any:
        return json.loads(self.openstack(*args, "-f", "json", endpoint=endpoint).stdout)

    def tripleo(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [TRIPLEO, *args], env=_clean_env(self.home), capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == code, f"tripleo {' '.join(args)} -> {proc.returncode}: {proc.stderr}"
        return proc

    def sdk(self) -> Any:
        """An openstacksdk connection as the undercloud's admin (the library tripleoclient uses)."""
        import openstack

        return openstack.connect(
            auth_url=self.auth_url,
            username="admin",
            password=self.password,
            project_name="admin",
            user_domain_name="Default",
            project_domain_name="Default",
        )

    def token(self) -> str:
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": "admin", "domain": {"name": "Default"}, "password": self.password}
                    },
                }
            }
        }
        reply = requests.post(f"{self.auth_url}/auth/tokens", json=body, timeout=10)
        assert reply.status_code == 201, reply.text
        return reply.headers["X-Subject-Token"]


def stop(proc: subprocess.Popen[Any], timeout: float = 30) -> None:
    """End a server process: SIGTERM, and SIGKILL when it does not exit within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` every 50 ms; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def _wait_listening(port: int, proc: subprocess.Popen[str] | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            pytest.fail(f"tripleo undercloud serve exited with {proc.returncode}: {err}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@contextmanager
def serve_process(home: Path, *extra: str) -> Iterator[Undercloud]:
    """``tripleo undercloud serve`` on free ports in ``home``; stopped (SIGTERM, then SIGKILL) after."""
    keystone, heat, ironic = free_ports(3)
    args = [
        TRIPLEO,
        "undercloud",
        "serve",
        "--keystone-port",
        str(keystone),
        "--heat-port",
        str(heat),
        "--ironic-port",
        str(ironic),
        *extra,
    ]
    proc = subprocess.Popen(
        args, env=_clean_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    cloud = Undercloud(home, keystone, heat, ironic, noauth="--noauth" in extra, pid=proc.pid)
    try:
        for port in (keystone, heat, ironic):
            _wait_listening(port, proc)
        yield cloud
    finally:
        proc.terminate()
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        cloud.log.extend([out, err])


@contextmanager
def serve_thread(home: Path, **options: Any) -> Iterator[Undercloud]:
    """The same app as ``tripleo undercloud serve``, in a thread of this process, on free ports."""
    keystone, heat, ironic = free_ports(3)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRIPLEO_HOME", str(home))
        patch.delenv("TRIPLEO_DB_URL", raising=False)
        opts = ServeOptions(keystone_port=keystone, heat_port=heat, ironic_port=ironic, **options)
        app, jobs = build_app(opts)
        sockets = [listen("127.0.0.1", port) for port in (keystone, heat, ironic)]
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": sockets}, daemon=True)
        thread.start()
        try:
            for port in (keystone, heat, ironic):
                _wait_listening(port)
            yield Undercloud(home, keystone, heat, ironic, noauth=opts.noauth)
        finally:
            server.should_exit = True
            thread.join(timeout=15)
            jobs.shutdown()
            for sock in sockets:
                sock.close()
