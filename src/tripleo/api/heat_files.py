"""Turn a Heat request's template, ``files`` map and environments into files on disk for the stack service.

python-heatclient sends the top template as parsed JSON, every nested template, ``get_file`` target and
environment in ``files`` keyed by absolute ``file://`` URLs (nested templates and environments already
parsed and re-serialised with every reference rewritten to such a URL), and the environments' order in
``environment_files``. The stack service reads paths, so each request is written under its own directory
of ``$TRIPLEO_HOME/api/stacks/<name>/``, with every ``file://`` reference pointing inside it. The stack
service then reads only under that directory (:func:`request_dirs` for
:func:`tripleo.engine.template.confine.confined`): a ``get_file``, template ``type`` or registry entry
naming any other path (absolute, relative, ``..``, a link) is refused as a file that was not sent, so the
server never reads a client's path from its own disk. Documents are parsed by :mod:`tripleo.boundedyaml`.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tripleo.api.http import ApiError
from tripleo.boundedyaml import YamlLimitError, heat_load

__all__ = ["Materialized", "materialize", "request_dirs", "stack_root"]

_SCHEME = "file://"


@dataclass(frozen=True)
class Materialized:
    """What one request wrote: the template path (None when the request reuses the stack's) and the
    environment paths in merge order."""

    root: Path
    template: str | None
    environments: list[str]

    def shown(self, message: str) -> str:
        """An engine message naming files as the client sent them (``file://`` URLs, ``template``), not
        as this request's directory holds them (absolute or relative to the working directory)."""
        pattern = re.compile(rf"\S*{re.escape(self.root.name)}/(files(?=/)|template\.yaml|environment\.yaml)")
        names = {"files": _SCHEME, "template.yaml": "template", "environment.yaml": "environment"}
        return pattern.sub(lambda m: names[m.group(1)], message)


def stack_root(home: Path, name: str) -> Path:
    return home / "api" / "stacks" / name


def request_dirs(home: Path, name: str, paths: Iterable[str | None]) -> list[Path]:
    """The request directories of stack ``name`` that hold ``paths`` (a template and environments a
    request sent, or an update reuses from the stack's earlier requests): what the stack service may read
    for the operation. A path elsewhere adds nothing (it is then refused as not sent)."""
    top = os.path.realpath(stack_root(home, name))
    out: list[Path] = []
    for path in paths:
        if path is None:
            continue
        rel = os.path.relpath(os.path.realpath(path), top)
        first = rel.split(os.sep, 1)[0]
        if rel != "." and first not in ("..", "") and Path(top, first) not in out:
            out.append(Path(top, first))
    return out


def _local(root: Path, key: str) -> Path:
    """Where the file sent under ``key`` (a ``file://`` URL or a relative name) is written.

    :raises ApiError: a key that would escape the request's directory.
    """
    path = key[len(_SCHEME) :] if key.startswith(_SCHEME) else key
    norm = posixpath.normpath("/" + path.lstrip("/"))
    if not path or ".." in path.split("/"):
        raise ApiError(400, f'files: key "{key}" is not a plain file name or file:// URL')
    base = root / "files" if key.startswith(_SCHEME) else root
    return base / norm.lstrip("/")


def _rewrite(value: Any, root: Path) -> Any:
    """Every ``file://`` string in a parsed document, pointed at its copy under ``root`` (one with ``..``
    stays as it is: it names no file the request can send, and is refused where it is used)."""
    if isinstance(value, str) and value.startswith(_SCHEME):
        if ".." in value.split("/"):
            return value
        return str(_local(root, value))
    if isinstance(value, dict):
        return {k: _rewrite(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, root) for v in value]
    return value


def _document(text: str, what: str | None = None) -> Any:
    """A template or environment sent as text (YAML or JSON), or None when it is not a mapping.

    :raises ApiError: 400 for a document past :mod:`tripleo.boundedyaml`'s limits, when ``what`` names
        the field (a ``files`` value is kept as text then: the engine refuses it if it is used).
    """
    try:
        data = heat_load(text)
    except YamlLimitError as exc:
        if what is not None:
            raise ApiError(400, f"{what}: {exc}") from None
        return None
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(text, encoding="utf-8")


def _template_text(template: Any, root: Path) -> str:
    if isinstance(template, str):
        parsed = _document(template, "template")
        if parsed is None:
            raise ApiError(400, "template: expected a Heat template (a YAML or JSON mapping)")
        template = parsed
    if not isinstance(template, dict):
        raise ApiError(400, "template: expected a Heat template (a YAML or JSON mapping)")
    return json.dumps(_rewrite(template, root), indent=1)


def materialize(
    home: Path,
    name: str,
    template: Any,
    files: Mapping[str, Any],
    environment: Mapping[str, Any],
    environment_files: list[Any],
) -> Materialized:
    """Write one request's documents to a fresh directory; ``template`` None keeps the stack's own.

    :raises ApiError: 400 for a file map, environment list or template the stack service cannot use.
    """
    root = stack_root(home, name) / uuid.uuid4().hex
    for key, content in files.items():
        if not isinstance(content, str):
            raise ApiError(400, f'files: the content of "{key}" must be a string')
        doc = _document(content) if _SCHEME in content else None
        text = json.dumps(_rewrite(doc, root), indent=1) if doc is not None else content
        _write(_local(root, key), text)
    envs: list[str] = []
    if environment:
        path = root / "environment.yaml"
        _write(path, json.dumps(_rewrite(dict(environment), root), indent=1))
        envs.append(str(path))
    for key in environment_files:
        if not isinstance(key, str) or key not in files:
            raise ApiError(400, f"environment_files: {key!r} is not a key of files")
        envs.append(str(_local(root, key)))
    top = None
    if template is not None:
        path = root / "template.yaml"
        _write(path, _template_text(template, root))
        top = str(path)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return Materialized(root, top, envs)
