"""``tripleo overcloud container list``: the containers tripleo runs on the overcloud's nodes."""

from __future__ import annotations

import click

from tripleo.cli.output import emit_list, format_options

COLUMNS = ("host", "name", "image", "status", "health", "started", "config_hash")


@click.group("container")
def container() -> None:
    """The overcloud's containers (services deployed with environments/containers.yaml)."""


@container.command("list")
@click.option("--stack", default="overcloud", show_default=True)
@format_options
def list_cmd(stack: str, fmt: str, columns: tuple[str, ...]) -> None:
    """Each node's containers: image, status, health (the checks tripleo runs), start and config hash."""
    from tripleo.cli.stack import stack_service
    from tripleo.workflows.containers import container_list
    from tripleo.workflows.record import status

    hosts = status(stack_service(), stack)["hosts"]
    emit_list(container_list(hosts), COLUMNS, fmt, columns)


def register(group: click.Group) -> None:
    group.add_command(container)
