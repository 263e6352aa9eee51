"""``tripleo overcloud deploy | status | delete`` (python-tripleoclient's ``openstack overcloud ...``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tripleo.cli.output import emit_list, emit_one, format_options
from tripleo.cli.stack import progress_printer

__all__ = ["register"]

_PLAN_OPTIONS = [
    click.option(
        "--templates", type=click.Path(path_type=Path, file_okay=False),
        help="Template directory with overcloud.j2.yaml (default: the project's templates/).",
    ),
    click.option("-e", "--environment", "environments", multiple=True, metavar="ENV",
                 help="Environment (repeatable)."),
    click.option("--parameter", "parameters", multiple=True, metavar="KEY=VALUE",
                 help="Parameter (repeatable)."),
    click.option("--roles-file", type=click.Path(path_type=Path),
                 help="roles_data.yaml (default: the project's)."),
    click.option(
        "-n", "--networks-file", "--network-data", "network_data", type=click.Path(path_type=Path),
        help="network_data.yaml (default: the project's).",
    ),
]  # fmt: skip


def _plan_options(func: Any) -> Any:
    """The options every plan command takes: templates, environments, parameters, roles and networks."""
    for option in reversed(_PLAN_OPTIONS):
        func = option(func)
    return func


_HOST_COLUMNS = ["name", "role", "node", "ctlplane", "addresses", "services"]


def _service() -> Any:
    from tripleo.cli.stack import stack_service

    return stack_service()


@click.command("deploy")
@click.option("--stack", default="overcloud", show_default=True, help="Stack name.")
@_plan_options
@click.option("--stack-only", is_flag=True, help="Write the config-download project but do not run it.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the stack plan and the config plan (per node and step, with diffs); change nothing.",
)
@click.option("--force", is_flag=True, help="Run every step on the hosts of the plan, whatever has changed.")
@click.option(
    "--limit",
    "limit",
    multiple=True,
    metavar="HOST",
    help="Configure only this host (name, short name or node; repeatable or comma-separated).",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output of --dry-run.",
)
@click.option(
    "--deployed-servers",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Deploy onto machines the operator installed, listed in FILE (hostname, role, ctlplane, SSH access, "
    "NICs), configured over SSH instead of bare-metal nodes.",
)
@click.option("--workers", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Stack timeout (minutes).")
@click.option(
    "--step-timeout",
    type=click.FloatRange(1, 86400),
    default=1800.0,
    show_default=True,
    help="Seconds one config-download task (a deploy step on all its hosts) may run before the deploy fails.",
)
def deploy_cmd(
    stack: str, templates: Path | None, environments: tuple[str, ...], parameters: tuple[str, ...],
    roles_file: Path | None, network_data: Path | None, stack_only: bool, dry_run: bool, force: bool,
    limit: tuple[str, ...], fmt: str, deployed_servers: Path | None, workers: int, timeout: float,
    step_timeout: float,
) -> None:  # fmt: skip
    """Deploy the overcloud on available nodes: stack, networks, config download (re-run: it converges).

    Only what changed runs: each node keeps the digest of what it applied per step, and a step runs on a node
    only when its digest differs (or with --force).
    """
    from tripleo.engine import parse_parameter_args
    from tripleo.resources.service import Options
    from tripleo.storage import open_database
    from tripleo.workflows.overcloud import deploy
    from tripleo.workflows.record import host_summary
    from tripleo.workflows.request import DEFAULT_TEMPLATES, DeployRequest

    say = progress_printer()
    request = DeployRequest(
        stack=stack,
        templates=templates or DEFAULT_TEMPLATES,
        environments=environments,
        parameters=parse_parameter_args(parameters),
        roles_file=roles_file,
        network_data=network_data,
        options=Options(workers=workers, stack_timeout=timeout * 60, progress=None if dry_run else say),
        config_download=not stack_only,
        force=force,
        limit=tuple(name for item in limit for name in item.split(",") if name),
        step_timeout=step_timeout,
        deployed_servers=deployed_servers,
    )
    if dry_run:
        _dry_run(request, fmt)
        return
    result = deploy(_service(), open_database(), request, say)
    emit_list([_host_row(host_summary(h)) for h in result.hosts], _HOST_COLUMNS, "table")
    click.echo(f"config download: {result.project}")
    for name, endpoints in sorted(result.endpoints.items()):
        click.echo(f"endpoint {name}: " + ", ".join(f"{k} {v}" for k, v in sorted(endpoints.items())))
    if result.overcloudrc:
        click.echo(f"overcloudrc: {result.overcloudrc}")
    for note in result.notes:
        click.echo(f"note: {note}")
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    verb = "Overcloud Deployed" if not stack_only else "Overcloud stack deployed, config download written"
    click.echo(f"{verb} ({timings})")


def _dry_run(request: Any, fmt: str) -> None:
    from tripleo.storage import open_database
    from tripleo.workflows.configplan import describe
    from tripleo.workflows.dryrun import plan_deploy

    planned = plan_deploy(_service(), open_database(), request)
    if fmt == "json":
        emit_one(planned.to_dict(), "json")
        return
    counts = ", ".join(f"{v} {k}" for k, v in sorted(planned.counts.items()))
    click.echo(f"Stack plan ({planned.stack}): {counts or 'nothing'}")
    for path, action in planned.stack_plan:
        click.echo(f"  {action:<9} {path}")
    click.echo("Config plan:")
    for row in describe(planned.config):
        click.echo(f"  {row}")
    for note in planned.notes:
        click.echo(f"note: {note}")
    for _, text in sorted(planned.diffs.items()):
        click.echo(text, nl=False)


@click.command("failures")
@click.option("--stack", default="overcloud", show_default=True)
@click.option(
    "-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def failures_cmd(stack: str, fmt: str) -> None:
    """The last deploy's failed hosts: the task and the tail of its output (Puppet's, for a step)."""
    from tripleo.workflows.record import failures

    data = failures(_service(), stack)
    if fmt == "json":
        emit_one(data, "json")
        return
    reason = f" ({data['reason']})" if data["reason"] else ""
    click.echo(f"stack {stack}: {data['deployment_status']}{reason}")
    if not data["failures"]:
        click.echo("no task failed")
    for item in data["failures"]:
        click.echo(f"{item['host']}: task {item['task']!r}: {item['message']}")
        for line in item["tail"]:
            click.echo(f"    {line}")


def _host_row(summary: dict[str, Any]) -> dict[str, Any]:
    """A host summary as a table row (ctlplane has its own column)."""
    addresses = {k: v for k, v in summary["addresses"].items() if k != "ctlplane"}
    return {**summary, "addresses": addresses}


@click.command("status")
@click.option("--stack", default="overcloud", show_default=True)
@click.option(
    "--cluster/--no-cluster",
    default=True,
    show_default=True,
    help="Ask the hosts who holds each VIP and what their clustered services say (one SSH round trip).",
)
@format_options
def status_cmd(stack: str, cluster: bool, fmt: str, columns: tuple[str, ...]) -> None:
    """The overcloud's stack state, its hosts with their addresses per network, the VIPs, and the cluster:
    each VIP's holder and each clustered service's members (Galera, RabbitMQ, HAProxy's backends)."""
    from tripleo.workflows.clusterview import cluster_view
    from tripleo.workflows.record import status

    data = status(_service(), stack)
    if cluster and any(h.get("probes") for h in data["hosts"]):
        data["cluster"] = cluster_view(data["hosts"], data["vips"])
    if fmt in ("json", "yaml"):
        emit_one(data, fmt)
        return
    why = data.get("deployment_reason") or (f"at {data['phase']}" if data.get("phase") else "")
    reason = f" ({why})" if why else ""
    click.echo(f"stack {stack}: {data['stack_status']}; deployment: {data['deployment_status']}{reason}")
    if data["hosts"]:
        emit_list([_host_row(h) for h in data["hosts"]], _HOST_COLUMNS, fmt, columns)
    for network, vip in sorted(data["vips"].items()):
        click.echo(f"VIP {network}: {vip}")
    for name, endpoints in sorted((data.get("endpoints") or {}).items()):
        click.echo(f"endpoint {name}: " + ", ".join(f"{k} {v}" for k, v in sorted(endpoints.items())))
    for note in data.get("notes") or []:
        click.echo(f"note: {note}")
    if "cluster" in data:
        _echo_cluster(data["vips"], data["cluster"])


def _echo_cluster(vips: dict[str, str], view: dict[str, Any]) -> None:
    from tripleo.workflows.clusterview import UNREACHABLE, vip_lines

    for line in vip_lines(vips, view["vip_holders"]):
        click.echo(line)
    for probe, answers in sorted(view["probes"].items()):
        for host, values in sorted(answers.items()):
            said = values if values == UNREACHABLE else " ".join(f"{k}={v}" for k, v in values.items()) or "-"
            click.echo(f"{probe} {host.split('.')[0]}: {said}")


@click.command("delete")
@click.option("--stack", default="overcloud", show_default=True)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_cmd(stack: str, yes: bool) -> None:
    """Delete the overcloud: stack, servers (nodes back to available), addresses, config download."""
    from tripleo.resources.service import Options
    from tripleo.storage import open_database
    from tripleo.workflows.overcloud import delete

    if not yes:
        click.confirm(
            f"Delete overcloud {stack}? Its nodes are powered off and returned to available", abort=True
        )
    final, freed = delete(_service(), open_database(), stack, Options(progress=progress_printer()))
    click.echo(f"Overcloud {stack} deleted ({final}, {freed} addresses freed)")


@click.command("templates")
@_plan_options
@click.option(
    "--output-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep the rendered plan here (templates/ and passwords.yaml), e.g. for `stack preview`.",
)
@format_options
def validate_templates(
    templates: Path | None, environments: tuple[str, ...], parameters: tuple[str, ...],
    roles_file: Path | None, network_data: Path | None, output_dir: Path | None, fmt: str,
    columns: tuple[str, ...],
) -> None:  # fmt: skip
    """Render the plan and check every role's services offline (nothing else changes): a row per service."""
    from tripleo.engine import parse_parameter_args
    from tripleo.workflows.request import DEFAULT_TEMPLATES, DeployRequest, check_layouts, prepare_request
    from tripleo.workflows.services import network_plan, prepare

    request = DeployRequest(
        templates=templates or DEFAULT_TEMPLATES, environments=environments,
        parameters=parse_parameter_args(parameters), roles_file=roles_file, network_data=network_data,
    )  # fmt: skip
    prepared = prepare_request(request, scratch=True)
    check_layouts(prepared, network_plan(prepared), environments)
    if output_dir is not None:
        prepare(request.templates, request.stack, environments, request.parameters, roles_file=roles_file,
                networks_file=network_data, plan_dir=output_dir)  # fmt: skip
    rows = [
        {"role": s.role, "service": s.name,
         "ports": " ".join(f"{n}:{p}/{proto}" for n, proto, p, _ in s.firewall),
         "frontends": " ".join(f"{f.name}:{f.port}" for f in s.frontends), "template": s.file}
        for s in prepared.services
    ]  # fmt: skip
    emit_list(rows, ["role", "service", "ports", "frontends", "template"], fmt, columns)


def register(group: click.Group) -> None:
    """Add ``deploy``, ``status`` and ``delete`` to the ``overcloud`` group (``validate templates`` is
    added with the ``validate`` group, by :mod:`tripleo.cli.overcloud_network`)."""
    group.add_command(deploy_cmd)
    group.add_command(status_cmd)
    group.add_command(delete_cmd)
    group.add_command(failures_cmd)
