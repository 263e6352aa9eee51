"""OpenStack-style output: ``-f table|json|yaml|value`` and ``-c COLUMN``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import click
import prettytable
import yaml

from tripleo.errors import UsageError

__all__ = ["emit_list", "emit_one", "format_options"]

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("table", "json", "yaml", "value")


def format_options(func: F) -> F:
    """Add ``-f/--format`` and ``-c/--column`` to a command."""
    func = click.option(
        "-c", "--column", "columns", multiple=True, help="Column to show (repeat for several)."
    )(func)
    func = click.option(
        "-f", "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True
    )(func)
    return func


def _cell(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return "" if value is None else str(value)


def _pick(columns: Sequence[str], wanted: Sequence[str]) -> list[str]:
    unknown = [c for c in wanted if c not in columns]
    if unknown:
        raise UsageError(f"-c {unknown[0]}: no such column (have: {', '.join(columns)})")
    return list(wanted) if wanted else list(columns)


def _emit_whole(data: Any, fmt: str) -> bool:
    """Print ``data`` whole as JSON or YAML; False for the formats the caller prints row by row."""
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=False))
    elif fmt == "yaml":
        click.echo(yaml.safe_dump(data, sort_keys=False, default_flow_style=False), nl=False)
    else:
        return False
    return True


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    table = prettytable.PrettyTable(list(header))
    table.align = "l"
    for row in rows:
        table.add_row(list(row))
    return table.get_string()


def emit_list(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], fmt: str, wanted: Sequence[str] = ()
) -> None:
    """Print a list of rows in the chosen format."""
    cols = _pick(columns, wanted)
    data = [{c: row.get(c) for c in cols} for row in rows]
    if _emit_whole(data, fmt):
        return
    if fmt == "value":
        for row in data:
            click.echo(" ".join(_cell(row[c]) for c in cols))
    else:
        click.echo(_table(cols, ([_cell(row[c]) for c in cols] for row in data)))


def emit_one(item: Mapping[str, Any], fmt: str, wanted: Sequence[str] = ()) -> None:
    """Print one object (field/value pairs) in the chosen format."""
    cols = _pick(list(item), wanted)
    data = {c: item[c] for c in cols}
    if _emit_whole(data, fmt):
        return
    if fmt == "value":
        for c in cols:
            click.echo(_cell(data[c]))
    else:
        click.echo(_table(["Field", "Value"], ([c, _cell(data[c])] for c in cols)))
