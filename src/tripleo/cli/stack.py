"""``tripleo stack ...``: the undercloud's Heat."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click
import yaml

from tripleo import engine
from tripleo.cli.output import emit_list, format_options

F = TypeVar("F", bound=Callable[..., Any])


def template_options(func: F) -> F:
    """``-t TEMPLATE``, ``-e ENV`` (repeatable, in order) and ``--parameter K=V`` (repeatable)."""
    func = click.option(
        "--parameter", "parameters", multiple=True, metavar="KEY=VALUE", help="Parameter value (repeatable)."
    )(func)
    func = click.option(
        "-e",
        "--environment",
        "environments",
        multiple=True,
        metavar="ENV",
        help="Environment file (repeatable).",
    )(func)
    func = click.option(
        "-t", "--template", required=True, metavar="TEMPLATE", help="Top-level template file."
    )(func)
    func = click.option(
        "--strict", is_flag=True, help="Fail when a required parameter has no value (as create would)."
    )(func)
    return func


@click.group()
def stack() -> None:
    """Validate, preview and (later) run Heat-style stacks."""


def _tree(
    template: str, environments: tuple[str, ...], parameters: tuple[str, ...], preview: bool, strict: bool
) -> Any:
    params = engine.parse_parameter_args(parameters)
    top = engine.load_tree(template, environments, params, preview=preview, require_values=strict)
    return engine.summarise(top, preview=preview)


@stack.command("validate")
@template_options
@format_options
def validate(
    template: str,
    environments: tuple[str, ...],
    parameters: tuple[str, ...],
    strict: bool,
    fmt: str,
    columns: tuple[str, ...],
) -> None:
    """Parse, merge, validate and expand the whole nested tree without touching anything."""
    summary = _tree(template, environments, parameters, preview=False, strict=strict)
    if fmt == "json":
        click.echo(json.dumps(summary, indent=2))
        return
    if fmt == "yaml":
        click.echo(yaml.safe_dump(summary, sort_keys=False), nl=False)
        return
    emit_list(summary["resources"], ["path", "type", "implementation"], fmt, columns)
    click.echo(
        f"valid: {summary['resource_count']} resources, {summary['nested_stack_count']} nested stacks, "
        f"depth {summary['max_depth']}",
        err=fmt == "value",
    )


@stack.command("preview")
@template_options
@format_options
def preview(
    template: str,
    environments: tuple[str, ...],
    parameters: tuple[str, ...],
    strict: bool,
    fmt: str,
    columns: tuple[str, ...],
) -> None:
    """As validate, plus every resource's resolved properties and every output that can be computed."""
    summary = _tree(template, environments, parameters, preview=True, strict=strict)
    if fmt == "json":
        click.echo(json.dumps(summary, indent=2, default=str))
        return
    if fmt == "yaml":
        click.echo(yaml.safe_dump(json.loads(json.dumps(summary, default=str)), sort_keys=False), nl=False)
        return
    emit_list(summary["resources"], ["path", "type", "implementation", "properties"], fmt, columns)
    for name, value in summary["outputs"].items():
        click.echo(f"output {name}: {json.dumps(value, default=str)}")
