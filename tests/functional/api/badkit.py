"""Helpers for the bad-request corpus and the property test of the undercloud API: a server process whose
log goes to a file (read while it runs), raw HTTP requests (header values as bytes, bodies as bytes, a
dropped upload), each service's error body checked, and a snapshot of what a request may not change."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apikit import TRIPLEO, Undercloud, _wait_listening, free_ports, stop

from tripleo.baremetal import Conductor, enroll, load_nodes
from tripleo.storage import open_database

SERVICES = ("heat", "ironic", "keystone")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def send(
    port: int,
    method: str,
    path: str,
    headers: list[tuple[str, bytes]],
    body: bytes | None,
    timeout: float = 30,
) -> Reply:
    """One request with header values sent as the bytes given (http.client, no encoding of its own)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        reply = conn.getresponse()
        return Reply(reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read())
    finally:
        conn.close()


def drop_upload(port: int, path: str, headers: list[tuple[str, bytes]], body: bytes) -> None:
    """Send the headers and half of ``body`` (announcing all of it), then close the connection."""
    head = [f"POST {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", f"Content-Length: {len(body)}".encode()]
    head += [name.encode() + b": " + value for name, value in headers]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body[: len(body) // 2])
        time.sleep(0.2)


def error_message(service: str, reply: Reply, kind: str | None = None) -> str:
    """The message of a 4xx/5xx answer, after checking that its body is the service's own error shape.

    :raises AssertionError: another shape, a code that is not the status, a traceback in the body.
    """
    assert b"Traceback" not in reply.body, reply.body[:500]
    body = reply.json()
    if service == "heat":
        assert set(body) == {"code", "title", "explanation", "error"}, body
        assert body["code"] == reply.status and isinstance(body["title"], str)
        assert isinstance(body["error"]["type"], str) and body["error"].get("traceback") is None
        if kind is not None:
            assert body["error"]["type"] == kind, body
        return str(body["error"]["message"])
    if service == "ironic":
        assert set(body) == {"error_message"}, body
        fault = json.loads(body["error_message"])
        assert set(fault) == {"faultstring", "faultcode", "debuginfo"}, fault
        assert fault["faultcode"] == ("Client" if reply.status < 500 else "Server")
        for header in ("x-openstack-ironic-api-minimum-version", "x-openstack-ironic-api-maximum-version"):
            assert header in reply.headers, reply.headers
        return str(fault["faultstring"])
    assert set(body) == {"error"} and set(body["error"]) == {"code", "title", "message"}, body
    assert body["error"]["code"] == reply.status
    return str(body["error"]["message"])


@dataclass
class Corpus:
    """A running undercloud API with one stack (``corpus``) and one enrolled node, and its log file."""

    cloud: Undercloud
    log: Path
    token: str
    stack_id: str
    node: str

    def port(self, service: str) -> int:
        return {"heat": self.cloud.heat, "ironic": self.cloud.ironic, "keystone": self.cloud.keystone}[
            service
        ]

    def get(self, service: str, path: str) -> Any:
        reply = send(self.port(service), "GET", path, [("X-Auth-Token", self.token.encode())], None)
        assert reply.status == 200, (path, reply.status, reply.body[:300])
        return reply.json()

    def state(self) -> dict[str, Any]:
        """What no refused request may change: the stacks, the corpus stack's events, the nodes, and the
        files under ``$TRIPLEO_HOME/api``."""
        stacks = self.get("heat", "/v1/admin/stacks")["stacks"]
        events = self.get("heat", f"/v1/admin/stacks/corpus/{self.stack_id}/events")["events"]
        nodes = self.get("ironic", "/v1/nodes/detail")["nodes"]
        keep = ("uuid", "provision_state", "power_state", "maintenance", "maintenance_reason", "last_error")
        api = self.cloud.home / "api"
        return {
            "stacks": sorted((s["stack_name"], s["stack_status"], s["updated_time"]) for s in stacks),
            "events": len(events),
            "nodes": [{k: n.get(k) for k in keep} for n in nodes],
            "files": sorted(str(p.relative_to(api)) for p in api.rglob("*")) if api.exists() else [],
        }

    def tracebacks(self) -> int:
        return self.log.read_text(errors="replace").count("Traceback")


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "TRIPLEO_"))}
    env["TRIPLEO_HOME"] = str(home)
    return env


def _enroll_one_node(home: Path) -> None:
    spec = {
        "name": "corpus-node",
        "pm_type": "fake",
        "pm_addr": "corpus-node",
        "pm_password": "corpus-bmc-secret",
        "mac": ["52:54:00:c0:55:01"],
    }
    (home / "nodes.json").write_text(json.dumps({"nodes": [spec]}))
    previous = os.environ.get("TRIPLEO_HOME")
    os.environ["TRIPLEO_HOME"] = str(home)
    try:
        enroll(Conductor(open_database()), load_nodes(home / "nodes.json"))
    finally:
        if previous is None:
            os.environ.pop("TRIPLEO_HOME", None)
        else:
            os.environ["TRIPLEO_HOME"] = previous


@contextmanager
def corpus_server(home: Path, *extra: str) -> Iterator[Corpus]:
    """``tripleo undercloud serve --backend noop`` (tokens required) on free ports, its stdout and stderr
    in ``home/../serve.log``, with the corpus stack created and one node enrolled."""
    home.mkdir(parents=True, exist_ok=True)
    _enroll_one_node(home)
    keystone, heat, ironic = free_ports(3)
    log = home.parent / f"{home.name}-serve.log"
    args = [TRIPLEO, "undercloud", "serve", "--backend", "noop", *extra]
    args += ["--keystone-port", str(keystone), "--heat-port", str(heat), "--ironic-port", str(ironic)]
    with log.open("w") as out:
        proc = subprocess.Popen(args, env=_clean_env(home), stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        for port in (keystone, heat, ironic):
            _wait_listening(port, proc)
        cloud = Undercloud(home, keystone, heat, ironic)
        token = cloud.token()
        template = {
            "heat_template_version": "wallaby",
            "resources": {"r": {"type": "OS::Heat::RandomString"}},
        }
        body = json.dumps({"stack_name": "corpus", "template": template}).encode()
        headers = [("X-Auth-Token", token.encode()), ("Content-Type", b"application/json")]
        created = send(heat, "POST", "/v1/admin/stacks", headers, body)
        assert created.status == 201, created.body
        sid = created.json()["stack"]["id"]
        corpus = Corpus(cloud, log, token, sid, "")
        deadline = time.monotonic() + 60
        events = f"/v1/admin/stacks/corpus/{sid}/events"
        # done once the stack's own CREATE_COMPLETE event is there (nothing is recorded after it)
        while not any(
            (e["resource_name"], e["resource_status"]) == ("corpus", "CREATE_COMPLETE")
            for e in corpus.get("heat", events)["events"]
        ):
            assert time.monotonic() < deadline, "the corpus stack did not complete in 60 s"
            time.sleep(0.1)
        corpus.node = corpus.get("ironic", "/v1/nodes")["nodes"][0]["uuid"]
        yield corpus
    finally:
        stop(proc)
