"""Confined reads (tripleo.engine.template.confine): while the API builds a stack from a request, every
file the engine reads must lie in the request's directory, for every way of naming one; the answer for
a file outside is the same whether or not it exists. Outside a confinement (the CLI) local files are read
as ever."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tripleo import engine
from tripleo.engine.template.confine import NOT_SENT, admitted, confined, confining, is_confined
from tripleo.engine.template.template import load_template
from tripleo.engine.template.yamlfile import load_yaml_file
from tripleo.errors import TemplateError

SECRET = "canary-7f3a9c1e"
HOT = "heat_template_version: wallaby\n"


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """A request directory beside a directory of the server's own files (a secret and a template)."""
    request = tmp_path / "home" / "api" / "stacks" / "s" / "req"
    (request / "files").mkdir(parents=True)
    server = tmp_path / "server"
    server.mkdir()
    (server / "secret.txt").write_text(SECRET)
    (server / "nested.yaml").write_text(HOT + f"outputs: {{o: {{value: {SECRET}}}}}\n")
    return {"request": request, "server": server, "tmp": tmp_path}


def _tree(request: Path, template: str, env: str | None = None) -> Any:
    (request / "template.yaml").write_text(template)
    envs = []
    if env is not None:
        (request / "environment.yaml").write_text(env)
        envs.append(str(request / "environment.yaml"))
    with confined(request):
        return engine.load_tree(str(request / "template.yaml"), envs)


def _refusal(request: Path, template: str, env: str | None = None) -> str:
    with pytest.raises(TemplateError) as err:
        _tree(request, template, env)
    text = str(err.value)
    assert SECRET not in text
    return text


def _forms(layout: dict[str, Path]) -> dict[str, tuple[str, str]]:
    """Each way of naming the server's files from the request: (existing, missing)."""
    server, request = layout["server"], layout["request"]
    up = "/".join([".."] * len(request.relative_to(layout["tmp"]).parts))
    return {
        "absolute": (f"{server}/secret.txt", f"{server}/absent.txt"),
        "relative": (f"{up}/server/secret.txt", f"{up}/server/absent.txt"),
        "url": (f"file://{server}/secret.txt", f"file://{server}/absent.txt"),
    }


@pytest.mark.parametrize("form", ["absolute", "relative", "url"])
def test_get_file_outside_the_request_is_not_read(layout: dict[str, Path], form: str) -> None:
    existing, missing = _forms(layout)[form]
    template = HOT + "outputs: {o: {value: {get_file: '%s'}}}\n"
    one = _refusal(layout["request"], template % existing)
    other = _refusal(layout["request"], template % missing)
    assert "No content found for get_file path" in one
    assert one.replace(existing, "P") == other.replace(missing, "P")


def test_a_link_in_the_request_to_a_file_outside_is_not_followed(layout: dict[str, Path]) -> None:
    request = layout["request"]
    (request / "link.txt").symlink_to(layout["server"] / "secret.txt")
    (request / "dir").symlink_to(layout["server"])
    for name in ("link.txt", "dir/secret.txt"):
        _refusal(request, HOT + f"outputs: {{o: {{value: {{get_file: {name}}}}}}}\n")
    (request / "nested.yaml").symlink_to(layout["server"] / "nested.yaml")
    _refusal(request, HOT + "resources: {r: {type: nested.yaml}}\n")


@pytest.mark.parametrize("form", ["absolute", "relative"])
def test_a_template_type_outside_the_request_is_not_loaded(layout: dict[str, Path], form: str) -> None:
    existing, missing = (p.replace("secret.txt", "nested.yaml") for p in _forms(layout)[form])
    missing = missing.replace("absent.txt", "absent.yaml")
    template = HOT + "resources: {r: {type: '%s'}}\n"
    one = _refusal(layout["request"], template % existing)
    other = _refusal(layout["request"], template % missing)
    assert f'Resource type "{existing}": {NOT_SENT}' in one
    assert one.replace(existing, "P") == other.replace(missing, "P")


@pytest.mark.parametrize("form", ["absolute", "relative"])
def test_a_registry_entry_outside_the_request_is_not_loaded(layout: dict[str, Path], form: str) -> None:
    existing, missing = (p.replace("secret.txt", "nested.yaml") for p in _forms(layout)[form])
    missing = missing.replace("absent.txt", "absent.yaml")
    template = HOT + "resources: {r: {type: OS::Test::Nested}}\n"
    env = "resource_registry: {OS::Test::Nested: '%s'}\n"
    one = _refusal(layout["request"], template, env % existing)
    other = _refusal(layout["request"], template, env % missing)
    assert f'(resource_registry: "{existing}"): {NOT_SENT}' in one
    assert one.replace(existing, "P") == other.replace(missing, "P")


def test_a_cached_file_is_not_served_to_a_confined_reader(layout: dict[str, Path]) -> None:
    nested = str(layout["server"] / "nested.yaml")
    assert load_template(nested).outputs["o"].value == SECRET  # the CLI's read fills both caches
    assert load_yaml_file(nested)["outputs"]["o"]["value"] == SECRET
    with confined(layout["request"]):
        with pytest.raises(TemplateError, match=NOT_SENT):
            load_template(nested)
        with pytest.raises(TemplateError, match=NOT_SENT):
            load_yaml_file(nested)


def test_what_the_request_sent_is_read(layout: dict[str, Path]) -> None:
    request = layout["request"]
    (request / "files" / "nested.yaml").write_text(HOT + "outputs: {o: {value: {get_file: data.txt}}}\n")
    (request / "files" / "data.txt").write_text("sent")
    top = _tree(
        request,
        HOT + "resources: {r: {type: files/nested.yaml}}\noutputs: {o: {value: {get_attr: [r, o]}}}\n",
    )
    nested = top.resources["r"].nested
    assert nested is not None and nested.outputs["o"] == "sent"


def test_a_nested_template_sent_cannot_read_outside_either(layout: dict[str, Path]) -> None:
    request = layout["request"]
    server = layout["server"]
    (request / "nested.yaml").write_text(
        HOT + f"outputs: {{o: {{value: {{get_file: {server}/secret.txt}}}}}}\n"
    )
    text = _refusal(request, HOT + "resources: {r: {type: nested.yaml}}\n")
    assert "nested.yaml" in text and "No content found" in text


def test_a_tree_keeps_its_confinement_in_other_threads(layout: dict[str, Path]) -> None:
    """The executor builds nested stacks as resources complete, in a worker thread with a fresh context."""
    request, server = layout["request"], layout["server"]
    (request / "template.yaml").write_text(HOT + f"resources: {{r: {{type: {server}/nested.yaml}}}}\n")
    with confined(request):
        top = engine.load_top(str(request / "template.yaml"))
    caught: list[BaseException] = []

    def build() -> None:
        assert not is_confined()
        try:
            res = top.resources["r"]
            top.make_child(res, {})
        except TemplateError as exc:
            caught.append(exc)

    worker = threading.Thread(target=build)
    worker.start()
    worker.join()
    assert caught and NOT_SENT in str(caught[0])


def test_confining_carries_the_roots_into_a_thread(layout: dict[str, Path]) -> None:
    seen: list[Any] = []
    work = confining([layout["request"]], lambda: (is_confined(), admitted(str(layout["server"]))))
    worker = threading.Thread(target=lambda: seen.append(work()))
    worker.start()
    worker.join()
    assert seen == [(True, None)] and not is_confined()


def test_unconfined_the_cli_reads_local_files(layout: dict[str, Path]) -> None:
    server = layout["server"]
    main = server / "main.yaml"
    main.write_text(
        HOT
        + "resources: {r: {type: nested.yaml}}\n"
        + "outputs: {f: {value: {get_file: secret.txt}}, n: {value: {get_attr: [r, o]}}}\n"
    )
    top = engine.load_tree(str(main))
    assert top.outputs["f"] == SECRET
    assert admitted("/etc/hostname") == "/etc/hostname"
