"""``tripleo baremetal node ...``: the node inventory, as python-ironicclient's ``openstack baremetal``."""

from __future__ import annotations

from collections.abc import Callable

import click

from tripleo.baremetal import Conductor, Node, states
from tripleo.cli.baremetal_lab import LabProvisioner
from tripleo.cli.output import emit_list, emit_one, format_options
from tripleo.storage import open_database

LIST_COLUMNS = ("uuid", "name", "instance_uuid", "power_state", "provision_state", "maintenance", "profile")


def conductor(power_timeout: float = 60.0) -> Conductor:
    """The conductor of this TRIPLEO_HOME / TRIPLEO_DB_URL, with the lab's primitives for lab nodes."""
    return Conductor(open_database(), provisioner=LabProvisioner(), power_timeout=power_timeout)


def list_row(node: Node) -> dict[str, object]:
    return {
        "uuid": node.uuid,
        "name": node.name,
        "instance_uuid": node.instance_uuid,
        "power_state": node.power_state,
        "provision_state": node.provision_state,
        "maintenance": node.maintenance,
        "profile": node.profile,
    }


@click.group()
def baremetal() -> None:
    """Bare-metal nodes: inventory, power (the undercloud's Ironic)."""


@baremetal.group()
def node() -> None:
    """Enrolled nodes."""


@node.command("list")
@format_options
def node_list(fmt: str, columns: tuple[str, ...]) -> None:
    """Every node with its power and provision state."""
    emit_list([list_row(n) for n in conductor().nodes()], LIST_COLUMNS, fmt, columns)


@node.command("show")
@click.argument("node_ident", metavar="NODE")
@format_options
def node_show(node_ident: str, fmt: str, columns: tuple[str, ...]) -> None:
    """Every field of NODE (name or UUID); passwords show as ******."""
    emit_one(conductor().get(node_ident).to_dict(), fmt, columns)


@node.group()
def power() -> None:
    """Power a node on or off (waits until the BMC reports it)."""


_TIMEOUT = click.option(
    "--power-timeout", type=float, default=60.0, show_default=True, help="Seconds to wait for the BMC."
)


def _power_command(name: str, state: str, doc: str) -> Callable[..., None]:
    """``baremetal node power on|off``: ask the node's BMC, print the power state it reports after."""

    @power.command(name, help=doc)
    @click.argument("node_ident", metavar="NODE")
    @_TIMEOUT
    def command(node_ident: str, power_timeout: float) -> None:
        result = conductor(power_timeout).power(node_ident, state)
        click.echo(f"{result.label}: {result.power_state}")

    return command


power_on = _power_command("on", states.POWER_ON, "Power NODE on.")
power_off = _power_command("off", states.POWER_OFF, "Power NODE off (hard).")


@node.group()
def maintenance() -> None:
    """Maintenance mode: the scheduler and `profiles match` leave such nodes alone."""


@maintenance.command("set")
@click.argument("node_ident", metavar="NODE")
@click.option("--reason", help="Why (shown by `baremetal node show`).")
def maintenance_set(node_ident: str, reason: str | None) -> None:
    """Put NODE in maintenance."""
    result = conductor().set_maintenance(node_ident, True, reason)
    click.echo(f"{result.label}: maintenance on")


@maintenance.command("unset")
@click.argument("node_ident", metavar="NODE")
def maintenance_unset(node_ident: str) -> None:
    """Take NODE out of maintenance."""
    result = conductor().set_maintenance(node_ident, False)
    click.echo(f"{result.label}: maintenance off")
