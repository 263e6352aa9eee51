"""``tripleo stack ...``: the undercloud's Heat."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
import yaml

from tripleo.cli.output import emit_list, emit_one, format_options

if TYPE_CHECKING:
    from tripleo.resources.service import StackRecord

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


def _engine() -> Any:
    from tripleo import engine  # imported on use: `stack update` of an unchanged stack never needs it

    return engine


def _tree(
    template: str, environments: tuple[str, ...], parameters: tuple[str, ...], preview: bool, strict: bool
) -> Any:
    params = _engine().parse_parameter_args(parameters)
    top = _engine().load_tree(template, environments, params, preview=preview, require_values=strict)
    summary = _engine().summarise(top, preview=preview)
    if not preview:
        return summary
    from tripleo.resources.secrets import mask

    secrets = {v for v in _engine().hidden_values(top) if len(v) >= 4}
    return mask(summary, secrets)  # resolved properties and outputs may carry hidden values


def _emit_tree(summary: Any, fmt: str, columns: tuple[str, ...], preview: bool) -> None:
    """Print ``_tree``'s summary: the whole of it as JSON or YAML, else the resources (with their resolved
    properties and then the outputs in a preview; the counts after a validate)."""
    if fmt == "json":
        click.echo(json.dumps(summary, indent=2, default=str if preview else None))
        return
    if fmt == "yaml":
        data = json.loads(json.dumps(summary, default=str)) if preview else summary
        click.echo(yaml.safe_dump(data, sort_keys=False), nl=False)
        return
    shown = (
        ["path", "type", "implementation", "properties"] if preview else ["path", "type", "implementation"]
    )
    emit_list(summary["resources"], shown, fmt, columns)
    if preview:
        for name, value in summary["outputs"].items():
            click.echo(f"output {name}: {json.dumps(value, default=str)}")
        return
    click.echo(
        f"valid: {summary['resource_count']} resources, {summary['nested_stack_count']} nested stacks, "
        f"depth {summary['max_depth']}",
        err=fmt == "value",
    )


def _tree_command(name: str, preview: bool, doc: str) -> Callable[..., None]:
    """``stack validate`` and ``stack preview``: the whole nested tree, expanded, touching nothing."""

    @stack.command(name, help=doc)
    @template_options
    @format_options
    def command(
        template: str,
        environments: tuple[str, ...],
        parameters: tuple[str, ...],
        strict: bool,
        fmt: str,
        columns: tuple[str, ...],
    ) -> None:
        summary = _tree(template, environments, parameters, preview=preview, strict=strict)
        _emit_tree(summary, fmt, columns, preview=preview)

    return command


validate = _tree_command(
    "validate", False, "Parse, merge, validate and expand the whole nested tree without touching anything."
)
preview = _tree_command(
    "preview",
    True,
    "As validate, plus every resource's resolved properties and every output that can be computed.",
)


def run_options(func: F) -> F:
    """``--backend``, ``--workers``, ``--timeout`` for create/update/delete."""
    func = click.option(
        "--timeout", type=float, default=60.0, show_default=True, help="Stack timeout (minutes)."
    )(func)
    func = click.option(
        "--resource-timeout",
        type=float,
        default=600.0,
        show_default=True,
        help="Per-resource timeout (seconds).",
    )(func)
    func = click.option("--workers", type=click.IntRange(1, 256), default=8, show_default=True)(func)
    func = click.option(
        "--backend",
        type=click.Choice(["real", "noop"]),
        default="real",
        show_default=True,
        help="noop: servers, ports and networks are no-ops with plausible attributes (planning, benchmarks).",
    )(func)
    return func


def stack_service() -> Any:
    """The stack service on the state database, with the lab's provisioner for servers."""
    from tripleo.resources.service import StackService
    from tripleo.storage import open_database

    def provisioner() -> Any:
        from tripleo.cli.baremetal_lab import LabProvisioner

        return LabProvisioner()

    return StackService(open_database(), provisioner=provisioner)


def progress_printer() -> Any:
    """Progress lines on stderr, each with the seconds since the command started."""
    import time

    started = time.perf_counter()

    def say(message: str) -> None:
        click.echo(f"[{time.perf_counter() - started:6.1f} s] {message}", err=True)

    return say


def _options(backend: str, workers: int, resource_timeout: float, timeout: float) -> Any:
    from tripleo.resources.service import Options

    return Options(
        backend=backend,
        workers=workers,
        resource_timeout=resource_timeout,
        stack_timeout=timeout * 60,
        progress=progress_printer(),
    )


def _report(outcome: Any) -> None:
    counts = ", ".join(f"{v} {k}" for k, v in sorted(outcome.counts.items())) or "nothing to do"
    reason = f" ({outcome.reason})" if outcome.reason else ""
    click.echo(f"Stack {outcome.name} {outcome.status}{reason}: {counts} in {outcome.seconds:.2f} s")


@stack.command("create")
@click.argument("name")
@template_options
@run_options
def create(
    name: str,
    template: str,
    environments: tuple[str, ...],
    parameters: tuple[str, ...],
    strict: bool,
    backend: str,
    workers: int,
    resource_timeout: float,
    timeout: float,
) -> None:
    """Create stack NAME (run it again after a failure or a crash: it resumes)."""
    params = _engine().parse_parameter_args(parameters)
    outcome = stack_service().create(
        name, template, environments, params, _options(backend, workers, resource_timeout, timeout)
    )
    _report(outcome)


@stack.command("update")
@click.argument("name")
@template_options
@run_options
@click.option("--dry-run", is_flag=True, help="Print the plan (added / updated / replaced / deleted) only.")
@format_options
def update(
    name: str,
    template: str,
    environments: tuple[str, ...],
    parameters: tuple[str, ...],
    strict: bool,
    backend: str,
    workers: int,
    resource_timeout: float,
    timeout: float,
    dry_run: bool,
    fmt: str,
    columns: tuple[str, ...],
) -> None:
    """Update stack NAME to a new template, environments or parameters."""
    params = _engine().parse_parameter_args(parameters)
    from tripleo.resources.unchanged import NO_CHANGES, quick_unchanged

    if not dry_run and quick_unchanged(name, template, environments, params, backend):
        click.echo(f"Stack {name} UPDATE_COMPLETE ({NO_CHANGES}): nothing to do in 0.00 s")
        return
    opts = _options(backend, workers, resource_timeout, timeout)
    outcome = stack_service().update(name, template, environments, params, opts, dry_run=dry_run)
    if dry_run:
        rows = [{"resource": path, "action": action} for path, action in outcome.plan]
        emit_list(rows, ["resource", "action"], fmt, columns)
        return
    _report(outcome)


@stack.command("delete")
@click.argument("name")
@run_options
def delete(name: str, backend: str, workers: int, resource_timeout: float, timeout: float) -> None:
    """Delete stack NAME and every resource it made."""
    _report(stack_service().delete(name, _options(backend, workers, resource_timeout, timeout)))


_STACK_COLUMNS = ["name", "id", "status", "backend", "created_at", "updated_at"]


def _stack_row(row: StackRecord) -> dict[str, Any]:
    return {
        "name": row.name,
        "id": row.id,
        "status": f"{row.action}_{row.status}",
        "status_reason": row.reason,
        "backend": row.backend,
        "template": row.template,
        "environments": row.environments,
        "parameters": row.parameters,
        "outputs": row.outputs,
        "created_at": row.created_at.isoformat(timespec="seconds"),
        "updated_at": row.updated_at.isoformat(timespec="seconds"),
    }


@stack.command("list")
@format_options
def list_(fmt: str, columns: tuple[str, ...]) -> None:
    """List stacks."""
    emit_list([_stack_row(r) for r in stack_service().stacks()], _STACK_COLUMNS, fmt, columns)


@stack.command("show")
@click.argument("name")
@format_options
def show(name: str, fmt: str, columns: tuple[str, ...]) -> None:
    """Show one stack."""
    from tripleo.resources.secrets import mask

    service = stack_service()
    row = mask(_stack_row(service.get(name)), service.secrets(name))  # hidden parameters print as ******
    row["resource_count"] = service.resource_count(row["id"])
    emit_one(row, fmt, columns)


@stack.group("resource")
def resource() -> None:
    """Resources of a stack."""


@resource.command("list")
@click.argument("name")
@click.option("--nested-depth", type=click.IntRange(0), default=0, show_default=True)
@format_options
def resource_list(name: str, nested_depth: int, fmt: str, columns: tuple[str, ...]) -> None:
    """List resources (down to --nested-depth levels of nested stacks)."""
    rows = [
        {
            "resource_name": r.path,
            "physical_resource_id": r.physical_id,
            "resource_type": r.type,
            "resource_status": f"{r.action}_{r.status}",
            "updated_time": r.updated_at.isoformat(timespec="seconds"),
        }
        for r in stack_service().resources(name, nested_depth)
    ]
    cols = ["resource_name", "physical_resource_id", "resource_type", "resource_status", "updated_time"]
    emit_list(rows, cols, fmt, columns)


@stack.group("event")
def event() -> None:
    """Events of a stack."""


@event.command("list")
@click.argument("name")
@format_options
def event_list(name: str, fmt: str, columns: tuple[str, ...]) -> None:
    """List events (every resource transition, oldest first)."""
    rows = [
        {
            "time": e.time.isoformat(timespec="milliseconds"),
            "resource_name": e.path,
            "resource_status": f"{e.action}_{e.status}",
            "resource_status_reason": e.reason,
            "physical_resource_id": e.physical_id,
        }
        for e in stack_service().events(name)
    ]
    emit_list(rows, ["time", "resource_name", "resource_status", "resource_status_reason"], fmt, columns)


@stack.group("output")
def output() -> None:
    """Outputs of a stack."""


@output.command("show")
@click.argument("name")
@click.argument("output_name", required=False)
@click.option("--all", "show_all", is_flag=True, help="Every output.")
@format_options
def output_show(
    name: str, output_name: str | None, show_all: bool, fmt: str, columns: tuple[str, ...]
) -> None:
    """Show one output (or --all)."""
    from tripleo.errors import UsageError
    from tripleo.resources.secrets import mask

    service = stack_service()
    outputs = mask(service.get(name).outputs or {}, service.secrets(name))  # hidden values print as ******
    if show_all or output_name is None:
        if not show_all:
            raise UsageError("give an OUTPUT name or --all")
        emit_one({k: outputs[k] for k in sorted(outputs)}, fmt, columns)
        return
    if output_name not in outputs:
        raise UsageError(f'stack {name} has no output "{output_name}" (have: {", ".join(sorted(outputs))})')
    emit_one({"output_key": output_name, "output_value": outputs[output_name]}, fmt, columns)
