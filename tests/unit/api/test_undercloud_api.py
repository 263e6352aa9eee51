"""Unit tests of the undercloud API's pure parts: microversions, body checks, a request's files written
to disk, tokens, and Heat's shapes (events of the stack itself, nested stack names)."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tripleo.api.heat_files import materialize
from tripleo.api.heat_shapes import Links, event_body, required_by, stack_ids, stamp
from tripleo.api.http import ApiError, check_fields
from tripleo.api.ironic import MAX_VERSION, MIN_VERSION, negotiate
from tripleo.api.keystone import Endpoint, TokenStore, admin_password, password_file
from tripleo.errors import InputError


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, MIN_VERSION),
        ("", MIN_VERSION),
        ("latest", MAX_VERSION),
        ("1.46", (1, 46)),
        ("baremetal 1.31", (1, 31)),
        (" 1.1 ", (1, 1)),
    ],
)
def test_negotiate(header: str | None, expected: tuple[int, int]) -> None:
    assert negotiate(header) == expected


@pytest.mark.parametrize(("header", "status"), [("1.0", 406), ("1.999", 406), ("2.1", 400), ("one", 400)])
def test_negotiate_refuses(header: str, status: int) -> None:
    with pytest.raises(ApiError) as caught:
        negotiate(header)
    assert caught.value.status == status and header.strip() in caught.value.message


SPEC = {"name": ((str,), "a string"), "count": ((int,), "an integer"), "flag": ((bool,), "a boolean")}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"nam": "x"}, 'unknown field "nam"'),
        ({"count": True}, '"count" must be an integer, got a boolean'),
        ({"count": "3"}, "got a string"),
        ({"name": {}}, "got an object"),
        ({"flag": 1}, "got a number"),
    ],
)
def test_check_fields_refuses(body: dict[str, Any], words: str) -> None:
    with pytest.raises(ApiError) as caught:
        check_fields(body, SPEC)
    assert caught.value.status == 400 and words in caught.value.message


def test_check_fields_accepts_nulls_and_right_types() -> None:
    check_fields({"name": None, "count": 3, "flag": False}, SPEC)


def test_materialize_points_every_file_url_inside_the_request(tmp_path: Path) -> None:
    nested = {"heat_template_version": "wallaby", "resources": {"x": {"type": "file:///src/deep.yaml"}}}
    env = {"resource_registry": {"My::Node": "file:///src/node.yaml"}}
    files = {
        "file:///src/node.yaml": json.dumps(nested),
        "file:///src/deep.yaml": "heat_template_version: wallaby\n",
        "file:///src/script.sh": "echo file:///not/a/doc\n",
        "file:///src/env.yaml": json.dumps(env),
    }
    template = {"heat_template_version": "wallaby", "resources": {"n": {"type": "My::Node"}}}
    done = materialize(tmp_path, "s1", template, files, {}, ["file:///src/env.yaml"])
    root = done.root
    assert root.parent == tmp_path / "api" / "stacks" / "s1"
    node = json.loads((root / "files/src/node.yaml").read_text())
    assert node["resources"]["x"]["type"] == str(root / "files/src/deep.yaml")
    assert (root / "files/src/script.sh").read_text() == "echo file:///not/a/doc\n"  # not a document: as sent
    assert done.environments == [str(root / "files/src/env.yaml")]
    written_env = json.loads(Path(done.environments[0]).read_text())
    assert written_env["resource_registry"]["My::Node"] == str(root / "files/src/node.yaml")
    assert done.template == str(root / "template.yaml")
    message = f"{root}/files/src/node.yaml: resources.x: bad; {root}/template.yaml: oops"
    assert done.shown(message) == "file:///src/node.yaml: resources.x: bad; template: oops"


@pytest.mark.parametrize(
    ("files", "env_files", "words"),
    [
        ({"file:///a/../../etc/passwd": "x"}, [], "not a plain file name"),
        ({"a.yaml": 3}, [], "must be a string"),
        ({}, ["file:///e.yaml"], "not a key of files"),
    ],
)
def test_materialize_refuses(tmp_path: Path, files: dict[str, Any], env_files: list[str], words: str) -> None:
    with pytest.raises(ApiError) as caught:
        materialize(tmp_path, "s", {"heat_template_version": "wallaby"}, files, {}, env_files)
    assert caught.value.status == 400 and words in caught.value.message


def test_materialize_refuses_a_template_that_is_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ApiError, match="expected a Heat template"):
        materialize(tmp_path, "s", "- a list", {}, {}, [])


def test_tokens_issue_expire_and_revoke() -> None:
    store = TokenStore("pw", [Endpoint("orchestration", "heat", "http://127.0.0.1:8006/v1/admin")])
    token, body = store.issue(["password"])
    assert store.valid(token) and not store.valid("other") and not store.valid(None)
    assert body["token"]["project"]["id"] == "admin"
    assert body["token"]["catalog"][0]["endpoints"][0]["url"] == "http://127.0.0.1:8006/v1/admin"
    assert store.check_password("pw") and not store.check_password("pw ")
    assert store.revoke(token) and not store.valid(token)
    short = TokenStore("pw", [], lifetime=0)
    expired, _ = short.issue(["password"])
    assert not short.valid(expired)


def test_stamp_is_heat_style() -> None:
    when = dt.datetime(2026, 12, 6, 1, 2, 3, 456789, tzinfo=dt.UTC)
    assert (
        stamp(when) == "2026-12-06T01:02:03Z" and stamp(when.replace(tzinfo=None)) == "2026-12-06T01:02:03Z"
    )
    assert stamp(None) is None


def test_nested_stack_names_and_ids_are_stable() -> None:
    links = Links("http://h/v1/admin", "oc", "0b5f3a2c-6d1e-4a7b-9c8d-1e2f3a4b5c6d")
    assert links.nested("") == ("oc", links.id)
    name, sid = links.nested("Compute/0")
    assert name == "oc-Compute-0" and sid == links.nested("Compute/0")[1] != links.id
    assert links.stack("Compute/0") == f"http://h/v1/admin/stacks/oc-Compute-0/{sid}"


def test_stack_events_are_named_after_the_stack() -> None:
    links = Links("http://h/v1/admin", "oc", "0b5f3a2c-6d1e-4a7b-9c8d-1e2f3a4b5c6d")
    when = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)
    stack_event = SimpleNamespace(
        id=7, path="", action="CREATE", status="COMPLETE", reason="", physical_id="", time=when
    )
    body = event_body(stack_event, links, nested=False)  # type: ignore[arg-type]
    assert (body["resource_name"], body["physical_resource_id"], body["id"]) == ("oc", links.id, "7")
    stack_link = next(link["href"] for link in body["links"] if link["rel"] == "stack")
    assert stack_link.rsplit("/", 1)[-1] == body["physical_resource_id"]  # what heatclient's --wait checks
    nested = SimpleNamespace(
        id=8,
        path="Compute/0/Server",
        action="CREATE",
        status="COMPLETE",
        reason="r",
        physical_id="p",
        time=when,
    )
    body = event_body(nested, links, nested=True)  # type: ignore[arg-type]
    assert body["resource_name"] == "Server" and body["resource_status"] == "CREATE_COMPLETE"
    assert {link["rel"] for link in body["links"]} == {"self", "resource", "stack", "root_stack"}
    assert "/stacks/oc-Compute-0/" in next(link["href"] for link in body["links"] if link["rel"] == "stack")


def test_required_by_is_per_nested_stack() -> None:
    rows = [
        SimpleNamespace(path="A", stack_path="", requires=[]),
        SimpleNamespace(path="B", stack_path="", requires=["A"]),
        SimpleNamespace(path="G/0/X", stack_path="G/0", requires=["Y"]),
    ]
    assert required_by(rows) == {"A": ["B"], "G/0/Y": ["X"]}  # type: ignore[arg-type]


def test_a_nested_stack_id_is_its_owner_physical_id() -> None:
    rows = [
        SimpleNamespace(path="G", stack_path="", physical_id="g-id"),
        SimpleNamespace(path="G/0", stack_path="G", physical_id="g0-id"),
        SimpleNamespace(path="G/0/X", stack_path="G/0", physical_id="x-id"),
        SimpleNamespace(path="Lone", stack_path="", physical_id="lone-id"),
    ]
    ids = stack_ids(rows)  # type: ignore[arg-type]
    assert ids == {"G": "g-id", "G/0": "g0-id"}
    links = Links("http://h/v1/admin", "oc", "0b5f3a2c-6d1e-4a7b-9c8d-1e2f3a4b5c6d", ids)
    assert links.nested("G/0") == ("oc-G-0", "g0-id")


def test_admin_password_file(tmp_path: Path) -> None:
    first = admin_password(tmp_path)
    path = password_file(tmp_path)
    assert len(first) >= 24 and stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    assert admin_password(tmp_path) == first and stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("\n")
    with pytest.raises(InputError, match="is empty"):
        admin_password(tmp_path)


def test_expired_tokens_are_forgotten() -> None:
    store = TokenStore("pw", [], lifetime=0)
    for _ in range(3):
        store.issue(["password"])
    assert len(store._tokens) == 1  # only the latest, itself already expired
