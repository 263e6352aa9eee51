"""The undercloud API's bounds on what a request carries (issue 22): JSON depth, numbers and text a body
may hold, the files map's keys, ``timeout_mins``; Keystone's token renewal and scopes; ``--noauth`` only on
loopback; an internal error logged once without the request's values."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.requests import Request
from starlette.types import Message

from tripleo.api.heat_request import MAX_TIMEOUT_MINS, check_request
from tripleo.api.http import MAX_DEPTH, ApiError, JSONResponse, internal_error, read_json
from tripleo.api.keystone import ADMIN, Refused, TokenStore, _authenticate
from tripleo.api.server import ServeOptions
from tripleo.cli.main import cli
from tripleo.errors import InputError


def _request(chunks: list[bytes], disconnect: bool = False) -> Request:
    pending = list(chunks)

    async def receive() -> Message:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending) or disconnect}
        return {"type": "http.disconnect"}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""}
    return Request(scope, receive)


def _read(raw: bytes | list[bytes], limit: int = 1 << 20, disconnect: bool = False) -> dict[str, Any]:
    chunks = raw if isinstance(raw, list) else [raw]
    return asyncio.run(read_json(_request(chunks, disconnect), limit))


def _refused(raw: bytes | list[bytes], disconnect: bool = False) -> ApiError:
    with pytest.raises(ApiError) as caught:
        _read(raw, disconnect=disconnect)
    assert caught.value.status == 400 and "\n" not in caught.value.message
    return caught.value


def test_read_json_bounds_depth_before_parsing() -> None:
    at_limit = b'{"a": ' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}"
    assert isinstance(_read(at_limit)["a"], list)
    over = b'{"a": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}"
    assert "nested deeper than" in _refused(over).message
    assert "nested deeper than" in _refused(b'{"a": ' + b"[" * 10_000 + b"]" * 10_000 + b"}").message
    # brackets inside strings (escaped quotes too) are text, not nesting
    text = '{"a": "' + '[{\\"' * 5000 + '"}'
    assert _read(text.encode())["a"].startswith('[{"')


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'{"a": NaN}', "NaN is not a JSON number"),
        (b'{"a": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"a": 1e400}', "out of range"),
        (b'{"a": ' + b"9" * 5000 + b"}", "malformed JSON"),
        (b'{"a\\u0000": 1}', "NUL character"),
        (b'{"a": ["x\\u0000y"]}', "NUL character"),
        (b'{"a": "\\ud800"}', "unpaired surrogate"),
        (b'{"a": "\\udc00x"}', "unpaired surrogate"),
        (b"\xff\xfe{}", "malformed JSON"),
        (b"[]", "expected a JSON object"),
    ],
)
def test_read_json_refuses_what_storage_or_responses_cannot_hold(raw: bytes, words: str) -> None:
    assert words in _refused(raw).message


def test_read_json_keeps_paired_surrogates_and_text() -> None:
    assert _read(b'{"a": "\\ud83d\\ude00 \\u00e9"}') == {"a": "\U0001f600 \u00e9"}


def test_a_dropped_upload_is_a_400_not_a_traceback() -> None:
    assert "closed the connection" in _refused([b'{"template": '], disconnect=True).message


def test_json_response_renders_dates_and_any_string() -> None:
    when = dt.datetime(2018, 8, 31, 1, 2, 3)
    body = JSONResponse({"v": dt.date(2018, 8, 31), "s": "\ud800", "t": when}).body
    assert json.loads(body) == {"v": "2018-08-31", "s": "\ud800", "t": "2018-08-31T01:02:03"}
    assert body.isascii()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"timeout_mins": 0}, "must be 1-"),
        ({"timeout_mins": -5}, "must be 1-"),
        ({"timeout_mins": int("9" * 400)}, "-bit number"),
        ({"timeout_mins": MAX_TIMEOUT_MINS + 1}, "must be 1-"),
        ({"files": {"a\tb": "x"}}, "control character"),
        ({"files": {"n" * 300: "x"}}, "over 255 bytes"),
        ({"files": {"é" * 130: "x"}}, "over 255 bytes"),
        ({"files": {"/".join(["p" * 50] * 120): "x"}}, "characters long"),
        ({"files": {"a/b": "x", "a/b/c": "y"}}, "both a file and the directory"),
        ({"files": {"file:///a/b/c": "x", "file:///a/b": "y"}}, "both a file and the directory"),
        ({"files": {"files": "x", "file:///etc/x": "y"}}, "both a file and the directory"),
        ({"files": {"file:///a//b": "x", "file:///a/./b": "y"}}, "name the same file"),
        ({"files": {"template.yaml": "x"}}, "the request's own template.yaml"),
        ({"files": {"environment.yaml/x": "x"}}, "the request's own environment.yaml"),
        ({"files": {"file:///../../etc/passwd": "x"}}, '".." component'),
        ({"files": {"file:///": "x"}}, "names no file"),
        ({"files": {"a": 1}}, "must be a string"),
        ({"files": {"a": "x"}, "environment_files": ["b"]}, "not a key of files"),
        ({"environment_files": [7]}, "not a key of files"),
    ],
)
def test_check_request_refuses_before_anything_is_written(body: dict[str, Any], words: str) -> None:
    with pytest.raises(ApiError) as caught:
        check_request(body)
    assert caught.value.status == 400 and words in caught.value.message, caught.value.message
    assert len(caught.value.message) < 400


def test_check_request_accepts_what_heatclient_sends() -> None:
    files = {
        "file:///home/stack/t/overcloud.yaml": "{}",
        "file:///home/stack/t/puppet/role.yaml": "{}",
        "file:///home/stack/t/puppet/services/x.yaml": "{}",
        "relative/name.yaml": "x",
    }
    check_request({"files": files, "environment_files": ["relative/name.yaml"], "timeout_mins": 240})


def _auth(methods: list[str], **extra: Any) -> dict[str, Any]:
    return {"auth": {"identity": {"methods": methods, **extra}}}


def _password(password: str = "pw", domain: Any = None) -> dict[str, Any]:
    user = {"name": ADMIN, "domain": {"name": "Default"} if domain is None else domain, "password": password}
    return {"user": user}


def test_a_renewed_token_keeps_its_original_expiry() -> None:
    store = TokenStore("pw", [], lifetime=3600)
    first, body = store.issue(["password"])
    original = store.expiry(first)
    assert original is not None
    methods, expires = _authenticate(store, _auth(["token"], token={"id": first}))
    assert methods == ["token"] and expires == original
    renewed, renewed_body = store.issue(methods, expires)
    assert store.expiry(renewed) == original
    assert renewed_body["token"]["expires_at"] == body["token"]["expires_at"]
    # and a renewal of the renewal keeps it too: a token cannot be kept alive forever
    _, again = _authenticate(store, _auth(["token"], token={"id": renewed}))
    assert again == original


def test_a_token_that_expired_cannot_be_renewed() -> None:
    store = TokenStore("pw", [], lifetime=0)
    token, _ = store.issue(["password"])
    with pytest.raises(Refused):
        _authenticate(store, _auth(["token"], token={"id": token}))


@pytest.mark.parametrize(
    "scope",
    [
        {"project": {"name": "other", "domain": {"name": "Default"}}},
        {"project": {"id": "someone-elses"}},
        {"project": {"name": ADMIN, "domain": {"id": "another-domain"}}},
        {"domain": {"name": "Default"}},
        {"system": {"all": True}},
    ],
)
def test_a_scope_without_a_role_is_refused(scope: dict[str, Any]) -> None:
    store = TokenStore("pw", [])
    body = _auth(["password"], password=_password())
    body["auth"]["scope"] = scope
    with pytest.raises(Refused):
        _authenticate(store, body)


@pytest.mark.parametrize(
    "scope",
    [None, "unscoped", {"project": {"id": ADMIN}}, {"project": {"name": ADMIN, "domain": {"id": "default"}}}],
)
def test_the_admin_project_scope_is_issued(scope: Any) -> None:
    body = _auth(["password"], password=_password())
    if scope is not None:
        body["auth"]["scope"] = scope
    assert _authenticate(TokenStore("pw", []), body) == (["password"], None)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (_auth(["password"], password=_password(domain="Default")), "is not of type 'object'"),
        (_auth(["password"], password={"user": {"password": "pw"}}), "id or name in user"),
        (_auth(["password"], password={"user": {"name": ADMIN, "password": "pw"}}), "domain in user"),
        (_auth(["password"], password={"user": {"name": ADMIN, "domain": {}, "password": 7}}), "'string'"),
        (_auth(["password"], password="pw"), "is not of type 'object'"),
        (_auth(["token"], token="abc"), "is not of type 'object'"),
        (_auth(["token"]), "'token' is a required property"),
        ({"auth": {"identity": {"methods": ["password"], "password": _password()}, "scope": 7}}, "'object'"),
        (
            {
                "auth": {
                    "identity": {"methods": ["password"], "password": _password()},
                    "scope": {"project": []},
                }
            },
            "'object'",
        ),
        ({"auth": []}, "is not of type 'object'"),
        ({}, "'auth' is a required property"),
    ],
)
def test_keystone_refuses_bodies_not_in_its_shape(body: dict[str, Any], words: str) -> None:
    with pytest.raises(ApiError) as caught:
        _authenticate(TokenStore("pw", []), body)
    assert caught.value.status == 400 and words in caught.value.message, caught.value.message


@pytest.mark.parametrize(("bind", "ok"), [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True),
                                          ("192.0.2.10", False), ("2001:db8::1", False)])  # fmt: skip
def test_noauth_serves_on_loopback_only(bind: str, ok: bool) -> None:
    opts = ServeOptions(bind=bind, noauth=True)
    if ok:
        opts.check()
    else:
        with pytest.raises(InputError, match="--noauth with --bind"):
            opts.check()
    ServeOptions(bind=bind, noauth=False).check()  # with tokens, any address


def test_noauth_on_a_public_address_is_exit_2_and_one_line(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("TRIPLEO_HOME", str(tmp_path))
    result = CliRunner().invoke(cli, ["undercloud", "serve", "--noauth", "--bind", "192.0.2.10"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "loopback" in lines[0] and "Traceback" not in result.output


def test_an_internal_error_is_logged_once_without_its_message(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("tripleo.api.test")
    secret = "hunter" + str(2)
    try:
        raise ValueError(f"the password is {secret}")
    except ValueError as exc:
        with caplog.at_level(logging.ERROR, logger="tripleo.api.test"):
            error = internal_error(log, "POST", "/v3/auth/tokens", exc)
    assert error.status == 500 and secret not in error.message
    assert len(caplog.records) == 1
    text = caplog.text
    assert "ValueError" in text and "test_api_limits.py" in text and secret not in text


def _query(query: str) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/v1/nodes",
        "root_path": "",
        "scheme": "http",
        "server": ("127.0.0.1", 6385),
        "headers": [(b"host", b"127.0.0.1:6385")],
        "query_string": query.encode(),
    }
    return Request(scope)


def test_ironic_pages_as_ironic() -> None:
    from tripleo.api.ironic import _page

    items = [f"n{i}" for i in range(5)]
    page, after = _page(_query("limit=2&provision_state=enroll"), items, str, "Node")
    assert page == ["n0", "n1"]
    assert after == {"next": "http://127.0.0.1:6385/v1/nodes?provision_state=enroll&limit=2&marker=n1"}
    assert _page(_query("limit=2&marker=n3"), items, str, "Node") == (["n4"], {})
    assert _page(_query("sort_dir=desc&marker=n3"), items, str, "Node")[0] == ["n2", "n1", "n0"]
    for query, status, words in [
        ("limit=-1", 400, "Limit must be positive"),
        ("limit=0", 400, "Limit must be positive"),
        ("limit=ten", 400, "Invalid input for field/attribute limit"),
        ("limit=" + "9" * 5000, 400, "Invalid input for field/attribute limit"),
        ("sort_dir=up", 400, "Invalid sort direction"),
        ("marker=n9", 404, "Node n9 could not be found."),
    ]:
        with pytest.raises(ApiError) as caught:
            _page(_query(query), items, str, "Node")
        assert (caught.value.status, words in caught.value.message) == (status, True), caught.value.message
