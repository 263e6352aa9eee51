"""OpenStack-style output: ``-f table|json|yaml|value`` and ``-c COLUMN``."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
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


def emit_list(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], fmt: str, wanted: Sequence[str] = ()
) -> None:
    """Print a list of rows in the chosen format."""
    cols = _pick(columns, wanted)
    data = [{c: row.get(c) for c in cols} for row in rows]
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=False))
    elif fmt == "yaml":
        click.echo(yaml.safe_dump(data, sort_keys=False, default_flow_style=False), nl=False)
    elif fmt == "value":
        for row in data:
            click.echo(" ".join(_cell(row[c]) for c in cols))
    else:
        table = prettytable.PrettyTable(cols)
        table.align = "l"
        for row in data:
            table.add_row([_cell(row[c]) for c in cols])
        click.echo(table.get_string())


def emit_one(item: Mapping[str, Any], fmt: str, wanted: Sequence[str] = ()) -> None:
    """Print one object (field/value pairs) in the chosen format."""
    cols = _pick(list(item), wanted)
    data = {c: item[c] for c in cols}
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=False))
    elif fmt == "yaml":
        click.echo(yaml.safe_dump(data, sort_keys=False, default_flow_style=False), nl=False)
    elif fmt == "value":
        for c in cols:
            click.echo(_cell(data[c]))
    else:
        table = prettytable.PrettyTable(["Field", "Value"])
        table.align = "l"
        for c in cols:
            table.add_row([c, _cell(data[c])])
        click.echo(table.get_string())
