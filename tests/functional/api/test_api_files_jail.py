"""Issue 22, acceptance 1 and 2: the undercloud API reads no file of its own for a client, and a YAML
alias bomb costs it nothing.

A canary file with a random secret sits in the server's TRIPLEO_HOME (beside the admin password), with a
template that would print it. Each way of naming a file a request did not send (``get_file`` absolute,
relative with ``..``, a ``file://`` URL; a template resource ``type`` absolute and relative; an environment
``resource_registry`` entry; a nested template sent in ``files`` whose own ``get_file`` names a local path)
is posted to stack create, validate and update of a real ``tripleo undercloud serve``, with tokens and
under ``--noauth``: each is a 400 whose message is the same for an existing and a missing path, and not one
byte of the secret reaches a response, a stack's outputs, resources, files or events, any file under
TRIPLEO_HOME (tripleo.sqlite included) or the server's log.
"""

from __future__ import annotations

import functools
import os
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from apikit import TRIPLEO, Undercloud, free_ports, stop, wait_until

HOT = {"heat_template_version": "wallaby"}
UP = "../../../../"  # from a request's directory ($TRIPLEO_HOME/api/stacks/NAME/ID/) to TRIPLEO_HOME


@contextmanager
def _serve(home: Path, log: Path, *extra: str) -> Iterator[Undercloud]:
    """``tripleo undercloud serve --backend noop`` with its output in ``log`` (read while it runs)."""
    keystone, heat, ironic = free_ports(3)
    ports = ["--keystone-port", str(keystone), "--heat-port", str(heat), "--ironic-port", str(ironic)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "TRIPLEO_"))}
    env["TRIPLEO_HOME"] = str(home)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [TRIPLEO, "undercloud", "serve", "--backend", "noop", *ports, *extra],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        for port in (keystone, heat, ironic):
            wait_until(functools.partial(_listening, port, proc), 30, f"the server on port {port}")
        yield Undercloud(home, keystone, heat, ironic, noauth="--noauth" in extra, pid=proc.pid)
    finally:
        stop(proc)


def _listening(port: int, proc: subprocess.Popen[Any]) -> bool:
    assert proc.poll() is None, f"tripleo undercloud serve exited with {proc.returncode}"
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Jail:
    """A server, its canary secret and the calls the tests make."""

    def __init__(self, cloud: Undercloud, log: Path, secret: str) -> None:
        self.cloud, self.log, self.secret = cloud, log, secret
        self.home = cloud.home
        self.headers = {"Content-Type": "application/json"}
        if not cloud.noauth:
            self.headers["X-Auth-Token"] = cloud.token()
        self.canaries = {self.home / "canary.txt", self.home / "canary.yaml"}

    def post(self, route: str, body: dict[str, Any], method: str = "POST") -> requests.Response:
        reply = requests.request(
            method, f"{self.cloud.heat_url}{route}", json=body, headers=self.headers, timeout=60
        )
        self.clean(reply.text)
        return reply

    def get(self, route: str) -> requests.Response:
        reply = requests.get(f"{self.cloud.heat_url}{route}", headers=self.headers, timeout=60)
        self.clean(reply.text)
        return reply

    def clean(self, text: str) -> None:
        assert self.secret not in text, "the canary reached a response"

    def check_everywhere(self) -> None:
        """No byte of the secret in any stack's views, any file of TRIPLEO_HOME, or the server's log."""
        for stack in self.get("/stacks").json()["stacks"]:
            base = f"/stacks/{stack['stack_name']}/{stack['id']}"
            for sub in (
                "",
                "/outputs",
                "/resources?nested_depth=5",
                "/files",
                "/events",
                "/template",
                "/environment",
            ):
                self.get(base + sub)
        needle = self.secret.encode()
        for path in self.home.rglob("*"):
            if path.is_file() and path not in self.canaries:
                assert needle not in path.read_bytes(), f"the canary is in {path.relative_to(self.home)}"
        assert needle not in self.log.read_bytes(), "the canary is in the server's log"


@pytest.fixture(scope="module", params=["tokens", "noauth"])
def jail(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jail]:
    home = tmp_path_factory.mktemp("jail")
    secret = f"canary-{secrets.token_hex(16)}"
    (home / "canary.txt").write_text(secret + "\n")
    (home / "canary.yaml").write_text(
        "heat_template_version: wallaby\n"
        f"outputs:\n  o: {{value: {secret}}}\n  f: {{value: {{get_file: canary.txt}}}}\n"
    )
    extra = ("--noauth",) if request.param == "noauth" else ()
    log = tmp_path_factory.mktemp("log") / "server.log"
    with _serve(home, log, *extra) as cloud:
        yield Jail(cloud, log, secret)


def _cases(home: Path) -> dict[str, Any]:
    """name -> a function of (path, exists) giving the request's template, environment and files."""

    def get_file(ref: str) -> dict[str, Any]:
        return {"template": {**HOT, "outputs": {"o": {"value": {"get_file": ref}}}}}

    def typed(ref: str) -> dict[str, Any]:
        return {"template": {**HOT, "resources": {"r": {"type": ref}}}}

    def registry(ref: str) -> dict[str, Any]:
        return {
            "template": {**HOT, "resources": {"r": {"type": "OS::Canary::Nested"}}},
            "environment": {"resource_registry": {"OS::Canary::Nested": ref}},
        }

    def nested(ref: str) -> dict[str, Any]:
        inner = f"heat_template_version: wallaby\noutputs:\n  o: {{value: {{get_file: '{ref}'}}}}\n"
        return {
            "template": {**HOT, "resources": {"r": {"type": "file:///client/nested.yaml"}}},
            "files": {"file:///client/nested.yaml": inner},
        }

    return {
        "get_file-absolute": (get_file, lambda name: str(home / name), "txt"),
        "get_file-relative": (get_file, lambda name: UP + name, "txt"),
        "get_file-url": (get_file, lambda name: f"file://{home / name}", "txt"),
        "type-absolute": (typed, lambda name: str(home / name), "yaml"),
        "type-relative": (typed, lambda name: UP + name, "yaml"),
        "type-url": (typed, lambda name: f"file://{home / name}", "yaml"),
        "registry-absolute": (registry, lambda name: str(home / name), "yaml"),
        "registry-url": (registry, lambda name: f"file://{home / name}", "yaml"),
        "registry-relative": (registry, lambda name: UP + name, "yaml"),
        "nested-get_file-absolute": (nested, lambda name: str(home / name), "txt"),
        "nested-get_file-relative": (nested, lambda name: "../" * 6 + name, "txt"),
    }


CASES = list(_cases(Path("/")))


def _refused(jail: Jail, reply: requests.Response) -> str:
    assert reply.status_code == 400, reply.text
    body = reply.json()
    assert body["error"]["type"] == "StackValidationFailed", body
    message: str = body["error"]["message"]
    assert "not in the request's files" in message or "No content found for get_file path" in message
    assert str(jail.home) not in message.replace(str(jail.home / "canary"), "").replace(
        str(jail.home / "absent"), ""
    )
    return message


def _both(jail: Jail, case: str) -> list[tuple[str, dict[str, Any]]]:
    """The request for the canary and for a path that does not exist, with the reference each uses."""
    build, ref, suffix = _cases(jail.home)[case]
    return [(ref(f"{stem}.{suffix}"), build(ref(f"{stem}.{suffix}"))) for stem in ("canary", "absent")]


def _same_message(messages: list[tuple[str, str]]) -> None:
    (ref_a, one), (ref_b, other) = messages
    assert one.replace(ref_a, "PATH") == other.replace(ref_b, "PATH"), (one, other)


@pytest.mark.parametrize("case", CASES)
def test_create_reads_nothing_but_the_request(jail: Jail, case: str) -> None:
    messages = []
    for i, (ref, body) in enumerate(_both(jail, case)):
        name = f"c-{case}-{i}".replace("_", "-")
        messages.append((ref, _refused(jail, jail.post("/stacks", {"stack_name": name, **body}))))
        assert jail.get(f"/stacks/{name}").status_code == 404
    _same_message(messages)
    jail.check_everywhere()


@pytest.mark.parametrize("case", CASES)
def test_validate_reads_nothing_but_the_request(jail: Jail, case: str) -> None:
    messages = [(ref, _refused(jail, jail.post("/validate", body))) for ref, body in _both(jail, case)]
    _same_message(messages)
    jail.check_everywhere()


def test_update_reads_nothing_but_the_request(jail: Jail) -> None:
    body = {"stack_name": "up", "template": {**HOT, "outputs": {"o": {"value": "fine"}}}}
    created = jail.post("/stacks", body)
    assert created.status_code == 201, created.text
    ident = created.json()["stack"]["id"]
    wait_until(
        lambda: jail.get(f"/stacks/up/{ident}").json()["stack"]["stack_status"] == "CREATE_COMPLETE", 60, "up"
    )
    for case in ("get_file-relative", "type-absolute", "registry-relative"):
        messages = []
        for ref, update in _both(jail, case):
            for method in ("PUT", "PATCH"):
                messages.append((ref, _refused(jail, jail.post(f"/stacks/up/{ident}", update, method))))
        _same_message([messages[0], messages[2]])
        assert messages[0][1] == messages[1][1]
    shown = jail.get(f"/stacks/up/{ident}").json()["stack"]
    assert shown["stack_status"] == "CREATE_COMPLETE" and shown["outputs"][0]["output_value"] == "fine"
    jail.check_everywhere()


def test_what_the_request_sends_is_used(jail: Jail) -> None:
    """The jail is no wall for what was sent: nested templates, get_file targets, environments."""
    nested = "heat_template_version: wallaby\noutputs: {o: {value: {get_file: d.txt}}}\n"
    files = {
        "file:///client/nested.yaml": nested,
        "file:///client/d.txt": "sent by the client",
        "file:///client/env.yaml": "resource_registry: {OS::Client::Nested: nested.yaml}\n",
    }
    body = {
        "stack_name": "sent",
        "template": {
            **HOT,
            "resources": {"r": {"type": "OS::Client::Nested"}},
            "outputs": {"o": {"value": {"get_attr": ["r", "o"]}}},
        },
        "files": files,
        "environment_files": ["file:///client/env.yaml"],
    }
    reply = jail.post("/validate", {k: v for k, v in body.items() if k != "stack_name"})
    assert reply.status_code == 200, reply.text
    created = jail.post("/stacks", body)
    assert created.status_code == 201, created.text
    ident = created.json()["stack"]["id"]
    wait_until(
        lambda: jail.get(f"/stacks/sent/{ident}").json()["stack"]["stack_status"] != "CREATE_IN_PROGRESS",
        60,
        "sent",
    )
    stack = jail.get(f"/stacks/sent/{ident}").json()["stack"]
    assert stack["stack_status"] == "CREATE_COMPLETE", stack
    assert stack["outputs"][0]["output_value"] == "sent by the client"


# -- acceptance 2: the alias bomb ------------------------------------------------------------------------


def _bomb(indent: str = "") -> str:
    """Six nested anchors of ten aliases each (a million strings from about 500 bytes)."""
    lines = [f'{indent}l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{indent}l{n}: &l{n} [{','.join([f'*l{n - 1}'] * 10)}]" for n in range(1, 6)]
    return "\n".join(lines) + "\n"


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_an_alias_bomb_is_refused_at_once_and_costs_nothing(jail: Jail) -> None:
    template = "heat_template_version: wallaby\nparameters:\n  p:\n    type: json\n    default:\n"
    bodies = {
        "template": {"template": template + _bomb("      ")},
        "environment": {"template": HOT, "environment": "parameter_defaults:\n" + _bomb("  ")},
        "files-type": {
            "template": {**HOT, "resources": {"r": {"type": "file:///b/bomb.yaml"}}},
            "files": {"file:///b/bomb.yaml": template + _bomb("      ")},
        },
        "files-url": {  # a value naming a file:// URL is parsed when the request is written
            "template": {**HOT, "resources": {"r": {"type": "file:///b/bomb.yaml"}}},
            "files": {"file:///b/bomb.yaml": f"# file:///b/x\n{template}{_bomb('      ')}"},
        },
    }
    assert len(_bomb()) < 600
    stop = threading.Event()
    others: list[float] = []

    def another_client() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            reply = jail.get("/stacks")
            assert reply.status_code == 200
            others.append(time.perf_counter() - start)
            time.sleep(0.05)

    before = _rss(jail.cloud.pid)
    watcher = threading.Thread(target=another_client)
    watcher.start()
    try:
        for where, body in bodies.items():
            for _ in range(3):
                start = time.perf_counter()
                reply = jail.post("/validate", body)
                took = time.perf_counter() - start
                assert reply.status_code == 400, (where, reply.text)
                assert "YAML aliases expand to more than" in reply.json()["error"]["message"], reply.text
                assert took < 1.0, f"{where}: {took:.2f} s"
    finally:
        stop.set()
        watcher.join()
    grown = _rss(jail.cloud.pid) - before
    assert grown < 50 * 1024 * 1024, f"the server grew {grown / 1e6:.0f} MB"
    assert others and max(others) < 1.0, f"another client waited {max(others):.2f} s"
