"""Bad requests: each a clear 4xx in the service's error shape, nothing changed, never a 500 or a
traceback (malformed JSON, unknown fields, wrong types, bodies over the limit, unknown stacks and nodes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from apikit import Undercloud, free_ports, serve_process, wait_until
from sqlalchemy import update

from tripleo.storage import Database
from tripleo.storage.stack_models import StackRow

LIMIT = 65536
TEMPLATE = {
    "heat_template_version": "wallaby",
    "resources": {"r": {"type": "OS::Heat::RandomString"}},
    "outputs": {"v": {"value": {"get_attr": ["r", "value"]}, "description": "the value"}},
}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Undercloud]:
    home = tmp_path_factory.mktemp("bad")
    with serve_process(home, "--backend", "noop", "--max-body", str(LIMIT)) as cloud:
        cloud.tripleo  # noqa: B018 - the CLI runs in the same home
        yield cloud


@pytest.fixture(scope="module")
def token(small: Undercloud) -> dict[str, str]:
    return {"X-Auth-Token": small.token(), "Content-Type": "application/json"}


def _heat_error(reply: requests.Response, status: int, kind: str | None = None) -> str:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"code", "title", "explanation", "error"} and body["code"] == status
    assert "Traceback" not in reply.text
    if kind is not None:
        assert body["error"]["type"] == kind, body
    message: str = body["error"]["message"]
    return message


def _names(cloud: Undercloud) -> list[str]:
    return cloud.tripleo("stack", "list", "-f", "value", "-c", "name").stdout.split()


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b'{"stack_name": ', 400, "malformed JSON"),
        (b"[1, 2]", 400, "expected a JSON object"),
        (b"", 400, "needs a JSON body"),
        (
            json.dumps({"stack_name": "s", "template": TEMPLATE, "colour": "red"}).encode(),
            400,
            'unknown field "colour"',
        ),
        (json.dumps({"stack_name": 7, "template": TEMPLATE}).encode(), 400, '"stack_name" must be a string'),
        (
            json.dumps({"stack_name": "s", "template": TEMPLATE, "parameters": []}).encode(),
            400,
            '"parameters" must be an object',
        ),
        (
            json.dumps({"stack_name": "s", "template": TEMPLATE, "timeout_mins": "x"}).encode(),
            400,
            "an integer",
        ),
        (json.dumps({"stack_name": "../etc", "template": TEMPLATE}).encode(), 400, "starting with a letter"),
        (json.dumps({"stack_name": "s"}).encode(), 400, '"template" is required'),
        (
            json.dumps({"stack_name": "s", "template": TEMPLATE, "template_url": "http://x"}).encode(),
            400,
            "template_url",
        ),
        (
            json.dumps({"stack_name": "s", "template": TEMPLATE, "files": {"file:///../x": "a"}}).encode(),
            400,
            "files",
        ),
        (
            json.dumps(
                {
                    "stack_name": "s",
                    "template": {
                        "heat_template_version": "wallaby",
                        "resources": {"r": {"type": "OS::Nope"}},
                    },
                }
            ).encode(),
            400,
            'Unknown resource type "OS::Nope"',
        ),
        (
            json.dumps({"stack_name": "s", "template": TEMPLATE, "environment_files": ["e.yaml"]}).encode(),
            400,
            "not a key of files",
        ),
        (
            json.dumps({"stack_name": "s", "template": TEMPLATE, "environment": "a: [b"}).encode(),
            400,
            "not YAML",
        ),
        (
            json.dumps({"stack_name": "s", "template": TEMPLATE, "environment": "- x"}).encode(),
            400,
            "a mapping",
        ),
        (b"{" + b" " * LIMIT + b"}", 413, "over the limit"),
    ],
)
def test_bad_create_changes_nothing(
    small: Undercloud, token: dict[str, str], data: bytes, status: int, words: str
) -> None:
    reply = requests.post(f"{small.heat_url}/stacks", data=data, headers=token, timeout=10)
    assert words in _heat_error(reply, status)
    assert _names(small) == []
    assert not any((small.home / "api" / "stacks").glob("*/*")) if (small.home / "api").exists() else True


def test_chunked_body_over_the_limit(small: Undercloud, token: dict[str, str]) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"stack_name": "big", "files": {"a": "'
        for _ in range(LIMIT // 1024 + 2):
            yield b"x" * 1024
        yield b'"}}'

    reply = requests.post(f"{small.heat_url}/stacks", data=chunks(), headers=token, timeout=10)
    assert "over the limit" in _heat_error(reply, 413)


def test_unknown_stack_project_and_bad_queries(small: Undercloud, token: dict[str, str]) -> None:
    created = requests.post(
        f"{small.heat_url}/stacks", json={"stack_name": "ok", "template": TEMPLATE}, headers=token, timeout=10
    )
    assert created.status_code == 201, created.text
    sid = created.json()["stack"]["id"]
    stack_url = f"{small.heat_url}/stacks/ok/{sid}"

    def status() -> str:
        return str(requests.get(stack_url, headers=token, timeout=10).json()["stack"]["stack_status"])

    wait_until(lambda: status() == "CREATE_COMPLETE", 30, "stack ok CREATE_COMPLETE")
    again = requests.post(
        f"{small.heat_url}/stacks", json={"stack_name": "ok", "template": TEMPLATE}, headers=token, timeout=10
    )
    assert "already exists" in _heat_error(again, 409, "StackExists")

    base = small.heat_url
    cases: list[tuple[str, str, int, str]] = [
        ("GET", f"{base}/stacks/nope", 404, "StackNotFound"),
        ("GET", f"{base}/stacks/nope/events", 404, "StackNotFound"),
        ("GET", f"{base}/stacks/ok/00000000-0000-4000-8000-000000000000", 404, "StackNotFound"),
        ("DELETE", f"{base}/stacks/nope", 404, "StackNotFound"),
        ("GET", f"{base}/stacks/ok/{sid}/outputs/nope", 404, "NotFound"),
        ("GET", f"{base}/stacks/ok/{sid}/resources/nope", 404, "EntityNotFound"),
        ("GET", f"{base}/stacks/ok/{sid}/resources?nested_depth=-1", 400, "BadRequest"),
        ("GET", f"{base}/stacks/ok/{sid}/events?marker=999999", 404, "EntityNotFound"),
        ("GET", f"{base}/stacks/ok/{sid}/events?sort_dir=sideways", 400, "BadRequest"),
        ("GET", f"http://127.0.0.1:{small.heat}/v1/demo/stacks", 403, "Forbidden"),
        ("GET", f"{base}/no/such/route", 404, "NotFound"),
        ("POST", f"{base}/stacks/ok/{sid}", 405, "MethodNotAllowed"),
    ]
    for method, url, status, kind in cases:
        _heat_error(requests.request(method, url, headers=token, timeout=10), status, kind)

    updates: list[tuple[Any, str]] = [
        ({"template": TEMPLATE, "stack_name": 3}, "must be a string"),
        ({"parameters": {"a": 1}}, '"template" is required'),
        (
            {"template": {"heat_template_version": "wallaby", "resources": {"r": {"type": "OS::Nope"}}}},
            "OS::Nope",
        ),
    ]
    for body, words in updates:
        reply = requests.put(f"{base}/stacks/ok/{sid}", json=body, headers=token, timeout=10)
        assert words in _heat_error(reply, 400)
    shown = requests.get(f"{base}/stacks/ok/{sid}", headers=token, timeout=10).json()["stack"]
    assert shown["stack_status"] == "CREATE_COMPLETE"  # none of the refused updates touched it
    assert [o["description"] for o in shown["outputs"]] == ["the value"]


def test_ironic_bad_requests(small: Undercloud, token: dict[str, str]) -> None:
    base = small.ironic_url
    cases: list[tuple[str, str, Any, int, str]] = [
        ("GET", "/v1/nodes/nope", None, 404, "could not be found"),
        ("PUT", "/v1/nodes/nope/states/power", {"target": "power on"}, 404, "could not be found"),
        ("GET", "/v1/nodes?fields=uuid,colour", None, 400, "colour"),
        ("GET", "/v1/ports/nope", None, 404, "could not be found"),
        ("GET", "/v1/chassis", None, 404, "no such"),
    ]
    for method, path, body, status, words in cases:
        reply = requests.request(method, base + path, json=body, headers=token, timeout=10)
        assert reply.status_code == status, reply.text
        fault = json.loads(reply.json()["error_message"])
        assert words in fault["faultstring"] and "Traceback" not in reply.text
    raw = requests.put(base + "/v1/nodes/nope/states/power", data=b"{", headers=token, timeout=10)
    assert raw.status_code == 400 and "malformed JSON" in raw.text
    odd = requests.get(
        base + "/v1/nodes", headers={**token, "X-OpenStack-Ironic-API-Version": "one"}, timeout=10
    )
    assert odd.status_code == 400 and "Invalid value" in odd.text


def test_noop_home_untouched_by_refusals(small: Undercloud) -> None:
    stacks = small.home / "api" / "stacks"
    leftovers = [p for p in stacks.glob("*/*") if p.parent.name != "ok"] if stacks.exists() else []
    assert leftovers == []
    assert Path(small.home / "undercloud-admin-password").exists()


def test_redirect_keeps_the_query_and_lists_page(small: Undercloud, token: dict[str, str]) -> None:
    ids = []
    for name in ("page-a", "page-b"):
        reply = requests.post(
            f"{small.heat_url}/stacks",
            json={"stack_name": name, "template": TEMPLATE},
            headers=token,
            timeout=10,
        )
        assert reply.status_code == 201, reply.text
        ids.append(reply.json()["stack"]["id"])
    moved = requests.get(
        f"{small.heat_url}/stacks/page-a/events?limit=1&nested_depth=1",
        headers=token,
        timeout=10,
        allow_redirects=False,
    )
    assert moved.status_code == 302
    assert (
        moved.headers["Location"] == f"{small.heat_url}/stacks/page-a/{ids[0]}/events?limit=1&nested_depth=1"
    )
    followed = requests.get(moved.headers["Location"], headers=token, timeout=10).json()["events"]
    assert len(followed) == 1 and any(link["rel"] == "root_stack" for link in followed[0]["links"])

    def names(query: str) -> list[str]:
        reply = requests.get(f"{small.heat_url}/stacks{query}", headers=token, timeout=10)
        return [s["stack_name"] for s in reply.json()["stacks"] if s["stack_name"].startswith("page-")]

    assert names("") == ["page-b", "page-a"]  # newest first, as Heat
    assert names("?sort_dir=asc") == ["page-a", "page-b"]
    assert names(f"?sort_dir=asc&marker={ids[0]}") == ["page-b"]
    assert names("?stack_name=page-a") == ["page-a"]


def test_serve_refuses_bad_options_in_one_line(small: Undercloud) -> None:
    taken = str(small.heat)  # in use by the running server
    free = [str(p) for p in free_ports(2)]
    for args, words in [
        (["--heat-port", taken, "--keystone-port", free[0], "--ironic-port", free[1]], f"127.0.0.1:{taken}"),
        (["--bind", "0.0.0.0"], "the catalog must name one address"),
        (["--bind", "example.org"], "expected an IP address"),
        (["--heat-port", "7000", "--ironic-port", "7000"], "three different ports"),
    ]:
        proc = small.tripleo("undercloud", "serve", *args, code=2)
        assert words in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_create_cut_short_resumes_through_the_api(small: Undercloud, token: dict[str, str]) -> None:
    body = {"stack_name": "cut", "template": TEMPLATE}
    first = requests.post(f"{small.heat_url}/stacks", json=body, headers=token, timeout=10)
    assert first.status_code == 201, first.text
    url = first.json()["stack"]["links"][0]["href"]

    def status() -> str:
        return str(requests.get(url, headers=token, timeout=10).json()["stack"]["stack_status"])

    wait_until(lambda: status() == "CREATE_COMPLETE", 30, "stack cut CREATE_COMPLETE")
    # what a server killed during the create leaves: CREATE_IN_PROGRESS, and no live lock holder
    db = Database(f"sqlite:///{small.home / 'tripleo.sqlite'}")
    with db.transaction() as session:
        session.execute(update(StackRow).where(StackRow.name == "cut").values(status="IN_PROGRESS"))
    again = requests.post(f"{small.heat_url}/stacks", json=body, headers=token, timeout=10)
    assert again.status_code == 201 and again.json()["stack"]["id"] == first.json()["stack"]["id"]
    wait_until(lambda: status() == "CREATE_COMPLETE", 30, "the resumed create")
    done = requests.post(f"{small.heat_url}/stacks", json=body, headers=token, timeout=10)
    assert "already exists" in _heat_error(done, 409, "StackExists")
