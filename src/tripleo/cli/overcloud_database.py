"""``tripleo overcloud database recover``: a clustered store back after a full outage (issue 24).

The services come from the last deploy's record: every service whose template gives ``cluster_recovery``
commands (Galera's), on the hosts running it, in bootstrap order.
"""

from __future__ import annotations

import click

from tripleo.errors import InputError

__all__ = ["register"]


@click.group("database")
def database() -> None:
    """The overcloud's clustered databases."""


@database.command("recover")
@click.option("--stack", default="overcloud", show_default=True)
@click.option("--dry-run", is_flag=True, help="Gather every member's position and say what would be done.")
def recover_cmd(stack: str, dry_run: bool) -> None:
    """Bootstrap the cluster again from the member that committed the most (the others join it), or, when
    a member still runs in a primary component, only start the others."""
    from tripleo.cli.stack import stack_service
    from tripleo.workflows.record import status
    from tripleo.workflows.recovery import recover

    hosts = status(stack_service(), stack)["hosts"]
    services = sorted({name for h in hosts for name in (h.get("recovery") or {})})
    if not services:
        raise InputError(f"stack {stack}: no deployed service has cluster recovery commands")
    for service in services:
        members = [h for h in hosts if service in (h.get("recovery") or {})]
        decision = recover(members, members[0]["recovery"][service], dry_run=dry_run)
        verb = "would be" if dry_run else "was"
        if decision.bootstrap is None and not decision.join and not decision.stop:
            click.echo(f"{service}: nothing to do ({decision.reason})")
            continue
        click.echo(f"{service}: {decision.reason}")
        if decision.bootstrap is not None:
            how = "would bootstrap" if dry_run else "bootstrapped"
            click.echo(f"{service}: {how} from {decision.bootstrap}")
        if decision.stop:
            click.echo(f"{service}: {', '.join(decision.stop)} {verb} stopped first")
        if decision.join:
            click.echo(f"{service}: {', '.join(decision.join)} {'would join' if dry_run else 'joined'}")


def register(group: click.Group) -> None:
    group.add_command(database)
