"""The parse cache on disk: a template parsed once is read back by the next process, and a changed file
is parsed again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tripleo.engine.template import template as tmpl


def test_parsed_templates_come_back_from_disk_until_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tmpl, "_DISK", [])
    monkeypatch.setattr(tmpl, "_CACHE", {})
    path = tmp_path / "t.yaml"
    path.write_text("heat_template_version: wallaby\noutputs: {o: {value: {get_param: OS::stack_name}}}\n")
    tmpl.use_parse_cache(str(tmp_path / "cache"))
    first = tmpl.load_template(str(path))
    assert len(os.listdir(tmp_path / "cache")) == 1
    monkeypatch.setattr(tmpl, "_CACHE", {})  # a new process
    parsed: list[str] = []
    monkeypatch.setattr(tmpl, "template_from_data", lambda *a, **k: parsed.append("x"))
    again = tmpl.load_template(str(path))
    assert parsed == [] and again.version is first.version and set(again.outputs) == {"o"}
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tmpl, "_DISK", [str(tmp_path / "cache")])
    monkeypatch.setattr(tmpl, "_CACHE", {})
    path.write_text("heat_template_version: wallaby\noutputs: {p: {value: 1}}\n")
    os.utime(path, ns=(1, 1))
    assert set(tmpl.load_template(str(path)).outputs) == {"p"}
