"""Acceptance 4 of issue 22: the project's corpus of bad requests (``tests/data/api_bad_requests``, one
YAML file per service) against a real ``tripleo undercloud serve`` with tokens required. Each request gets
its status in the service's own error body and changes nothing (stacks, the corpus stack's events, nodes,
files under ``$TRIPLEO_HOME/api``); after the whole corpus the server's log holds no traceback."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from badkit import SERVICES, Corpus, corpus_server, drop_upload, error_message, send

DATA = Path(__file__).resolve().parents[2] / "data" / "api_bad_requests"
KEYS = {"name", "request", "auth", "headers", "json", "raw", "raw_bytes", "drop", "status", "kind", "message"}
LIMIT = 65536
_PLACEHOLDER = re.compile(r"\{\{(\w+)(?: ([^}]*))?\}\}")


def _cases() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for service in SERVICES:
        for case in yaml.safe_load((DATA / f"{service}.yaml").read_text()):
            out.append((service, case))
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    with corpus_server(tmp_path_factory.mktemp("corpus") / "home", "--max-body", str(LIMIT)) as running:
        yield running


def expand(text: str, corpus: Corpus) -> str:
    """The placeholders of README.md beside the corpus, filled in."""

    def one(match: re.Match[str]) -> str:
        name, arg = match.group(1), match.group(2) or ""
        fixed = {
            "stack": f"corpus/{corpus.stack_id}",
            "stack_id": corpus.stack_id,
            "node": corpus.node,
            "password": corpus.cloud.password,
            "token": corpus.token,
        }
        if name in fixed:
            return fixed[name]
        if name == "nest":
            return "[" * int(arg) + "]" * int(arg)
        if name == "digits":
            return "9" * int(arg)
        if name == "repeat":
            count, _, piece = arg.partition(" ")
            return piece * int(count)
        raise AssertionError(f"unknown placeholder {match.group(0)}")

    return _PLACEHOLDER.sub(one, text)


def _expand_value(value: Any, corpus: Corpus) -> Any:
    if isinstance(value, str):
        return expand(value, corpus)
    if isinstance(value, dict):
        return {expand(k, corpus): _expand_value(v, corpus) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_value(v, corpus) for v in value]
    return value


def _request(
    service: str, case: dict[str, Any], corpus: Corpus
) -> tuple[str, str, list[tuple[str, bytes]], bytes | None]:
    method, _, path = case["request"].partition(" ")
    headers: list[tuple[str, bytes]] = [("Accept", b"application/json")]
    auth = case.get("auth", "none" if service == "keystone" else "token")
    if auth == "token":
        headers.append(("X-Auth-Token", corpus.token.encode()))
    elif auth == "bogus":
        headers.append(("X-Auth-Token", b"gAAAAA-not-a-token"))
    for name, value in (case.get("headers") or {}).items():
        headers.append((name, value if isinstance(value, bytes) else expand(value, corpus).encode()))
    body: bytes | None = None
    if "json" in case:
        body = json.dumps(_expand_value(case["json"], corpus)).encode()
    elif "raw" in case:
        body = expand(case["raw"], corpus).encode()
    elif "raw_bytes" in case:
        body = case["raw_bytes"]
    if body is not None:
        headers.append(("Content-Type", b"application/json"))
    return method, expand(path, corpus), headers, body


def test_the_corpus_is_well_formed() -> None:
    assert len(CASES) >= 80
    for service in SERVICES:
        names = [c["name"] for s, c in CASES if s == service]
        assert len(names) == len(set(names)), f"{service}.yaml: names repeat"
        assert len(names) >= 15, f"{service}.yaml: only {len(names)} cases"
    for service, case in CASES:
        where = f"{service}.yaml: {case.get('name')}"
        assert set(case) <= KEYS, f"{where}: unknown keys {sorted(set(case) - KEYS)}"
        assert case.get("name") and case.get("request"), where
        assert case.get("drop") or isinstance(case.get("status"), int), f"{where}: no status"
        if case.get("status", 200) >= 400:
            assert case.get("message") or case.get("kind"), f"{where}: say what the error must say"
        assert sum(k in case for k in ("json", "raw", "raw_bytes")) <= 1, where


@pytest.mark.parametrize(("service", "case"), CASES, ids=[f"{s}-{c['name']}" for s, c in CASES])
def test_bad_request(corpus: Corpus, service: str, case: dict[str, Any]) -> None:
    before, logged = corpus.state(), corpus.tracebacks()
    method, path, headers, body = _request(service, case, corpus)
    if case.get("drop"):
        assert body is not None
        drop_upload(corpus.port(service), path, headers, body)
        time.sleep(0.3)  # the server notices the closed connection
    else:
        reply = send(corpus.port(service), method, path, headers, body)
        shown = f"{case['request']} -> {reply.status}: {reply.body[:600]!r}"
        assert reply.status == case["status"], shown
        if reply.status >= 400:
            message = error_message(service, reply, case.get("kind"))
            assert case.get("message", "") in message, shown
            assert "\n" not in message, shown
    assert corpus.state() == before, f"{case['name']} changed the undercloud"
    assert corpus.tracebacks() == logged, corpus.log.read_text()[-3000:]


def test_after_the_corpus_the_log_has_no_traceback(corpus: Corpus) -> None:
    assert corpus.tracebacks() == 0, corpus.log.read_text()[-3000:]
    assert [s[0] for s in corpus.state()["stacks"]] == ["corpus"]
