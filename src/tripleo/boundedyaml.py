"""YAML loading with bounds checked before any Python object is built: input size, nesting depth, alias
uses and the number of nodes aliases expand to.

A YAML alias is a reference: a 500-byte document of six nested anchors used ten times each names a
million nodes, and anything that walks the loaded data (the template parser, ``json.dumps``, printing)
pays for every one of them. PyYAML composes a document into a node graph first (libyaml's composer when
it is there), where an alias is the same node object again, so the graph is as small as the text. The
graph is measured here with each node's expanded size counted once per use, and refused past the limits,
before the constructor turns it into dicts and lists. Every reader of YAML in tripleo loads through this
module (``docs/decisions.md`` says why the limits are what they are).

libyaml (PyYAML's C parser) refuses some documents PyYAML's pure-Python parser takes:
tripleo-heat-templates of Train and Ussuri, which the Heat of those releases loaded, have flow mappings
such as ``HOSTNAME: {get_attr:[Controller, name]}``, no space after the colon. A document libyaml refuses
is composed again by the pure parser (slower, but only for those documents), with the same bounds and the
same constructor; when both refuse it, the pure parser's error is the one reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tripleo.errors import InputError

__all__ = [
    "LIMITS",
    "HeatLoader",
    "Limits",
    "SafeLoader",
    "YamlLimitError",
    "heat_load",
    "load_file",
    "safe_load",
]

SafeLoader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class HeatLoader(SafeLoader):  # type: ignore[misc]
    """Safe loader that keeps ``2015-04-30`` a string, as Heat's template loader does."""


class _PureHeatLoader(yaml.SafeLoader):
    """:class:`HeatLoader` with PyYAML's pure-Python parser, for what libyaml refuses."""


def _as_string(loader: Any, node: Any) -> str:
    return str(node.value)


HeatLoader.add_constructor("tag:yaml.org,2002:timestamp", _as_string)
_PureHeatLoader.add_constructor("tag:yaml.org,2002:timestamp", _as_string)

# each libyaml loader and the pure-Python one that composes again what it refuses (none without libyaml)
_PURE: dict[type[Any], type[Any]] = (
    {SafeLoader: yaml.SafeLoader, HeatLoader: _PureHeatLoader} if SafeLoader is not yaml.SafeLoader else {}
)


@dataclass(frozen=True)
class Limits:
    """What one YAML document may be.

    :param max_bytes: characters of text.
    :param max_depth: nesting of sequences and mappings, aliases expanded.
    :param max_aliases: alias uses (``*name``).
    :param max_alias_nodes: nodes the aliases add when each is replaced by a copy of what it names.
    """

    max_bytes: int = 8 * 1024 * 1024
    max_depth: int = 100
    max_aliases: int = 10_000
    max_alias_nodes: int = 50_000


LIMITS = Limits()


class YamlLimitError(yaml.MarkedYAMLError):
    """A document past one of the :class:`Limits` (a YAML error, so every ``except yaml.YAMLError`` of a
    caller handles it); renders as one line with the position of the node at fault."""

    def __str__(self) -> str:
        mark = self.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        return f"{self.problem}{where}"


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


class _Measure:
    """One walk of a composed node graph: expanded size and height of each distinct node (memoised by
    identity, so shared nodes are visited once), alias uses and what they add."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.size: dict[int, int] = {}
        self.height: dict[int, int] = {}
        self.aliases = 0
        self.added = 0

    def refuse(self, node: yaml.Node, problem: str) -> None:
        raise YamlLimitError(problem=problem, problem_mark=node.start_mark)

    def use(self, node: yaml.Node, depth: int, open_: set[int]) -> bool:
        """Account for one occurrence of ``node`` at ``depth``; True when it still has to be walked."""
        key = id(node)
        if key in open_:
            self.refuse(node, "a YAML alias refers to a node that contains it (recursive data)")
        limits = self.limits
        if key in self.size:
            self.aliases += 1
            self.added += self.size[key]
            if self.aliases > limits.max_aliases:
                self.refuse(node, f"more than {limits.max_aliases} YAML aliases")
            if self.added > limits.max_alias_nodes:
                self.refuse(node, f"YAML aliases expand to more than {limits.max_alias_nodes} nodes")
            if depth + self.height[key] - 1 > limits.max_depth:
                self.refuse(node, f"YAML nested deeper than {limits.max_depth} levels")
            return False
        if depth > limits.max_depth:
            self.refuse(node, f"YAML nested deeper than {limits.max_depth} levels")
        return True

    def walk(self, root: yaml.Node) -> None:
        """:raises YamlLimitError: the first limit the graph is past."""
        open_: set[int] = set()
        pending: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
        while pending:
            node, depth, leaving = pending.pop()
            key = id(node)
            kids = _children(node)
            if leaving:
                open_.discard(key)
                self.size[key] = 1 + sum(self.size[id(k)] for k in kids)
                self.height[key] = 1 + max((self.height[id(k)] for k in kids), default=0)
                continue
            if not self.use(node, depth, open_):
                continue
            if not kids:
                self.size[key], self.height[key] = 1, 1
                continue
            open_.add(key)
            pending.append((node, depth, True))
            pending.extend((kid, depth + 1, False) for kid in reversed(kids))


def _compose(text: str | bytes, loader_class: type[Any]) -> tuple[Any, yaml.Node | None]:
    """The loader and the node graph of ``text``: libyaml's when it takes the document, else the pure
    parser's (the loader is returned to construct with and be disposed of by the caller).

    :raises yaml.YAMLError: the pure parser's error, when both refuse the document.
    """
    loader = loader_class(text)
    try:
        return loader, loader.get_single_node()
    except yaml.YAMLError:
        loader.dispose()
        if loader_class not in _PURE:
            raise
    except BaseException:
        loader.dispose()
        raise
    loader = _PURE[loader_class](text)
    try:
        return loader, loader.get_single_node()
    except BaseException:
        loader.dispose()
        raise


def _load(text: str | bytes, loader_class: type[Any], limits: Limits) -> Any:
    if len(text) > limits.max_bytes:
        raise YamlLimitError(problem=f"YAML document larger than {limits.max_bytes} bytes")
    loader = None
    try:
        loader, node = _compose(text, loader_class)
        if node is None:
            return None
        _Measure(limits).walk(node)
        return loader.construct_document(node)
    except RecursionError:
        raise YamlLimitError(problem=f"YAML nested deeper than {limits.max_depth} levels") from None
    finally:
        if loader is not None:
            loader.dispose()


def safe_load(text: str | bytes, *, limits: Limits = LIMITS) -> Any:
    """``yaml.safe_load`` of one document within ``limits``.

    :raises yaml.YAMLError: malformed YAML, or :class:`YamlLimitError` past a limit.
    """
    return _load(text, SafeLoader, limits)


def heat_load(text: str | bytes, *, limits: Limits = LIMITS) -> Any:
    """One template or environment document within ``limits``, as Heat loads it (dates stay strings).

    :raises yaml.YAMLError: malformed YAML, or :class:`YamlLimitError` past a limit.
    """
    return _load(text, HeatLoader, limits)


def load_file(path: Path, what: str) -> Any:
    """A YAML data file (roles or network data, a lab config, an image set...), as :func:`safe_load` reads
    it, with the operator's one-line errors.

    :raises InputError: ``cannot read <what>: <reason>`` or ``invalid YAML: <the parser's words>``, naming
        the file.
    """
    try:
        return safe_load(path.read_text())
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", file=str(path)) from exc
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {' '.join(str(exc).split())}", file=str(path)) from exc
