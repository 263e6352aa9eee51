"""``tripleo lab ...``: the virtual lab (virtual bare metal, network segments and BMCs on this host)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from tripleo.cli.output import emit_list, format_options
from tripleo.errors import UsageError
from tripleo.lab import ConfigDrive, Lab, Route, default_config, load_config

STATUS_COLUMNS = ("name", "power", "pm_port", "ctlplane_ip", "boot_device", "profile", "networks", "macs")


@click.group()
def lab() -> None:
    """The virtual lab: nodes, networks and BMCs on this host (needs root)."""


@lab.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Lab config (YAML: networks, nodes).",
)
@click.option(
    "--nodes",
    type=int,
    help="Number of nodes in the default lab (node-0 of the controller role, the rest of the compute role).",
)
@click.option(
    "--controllers",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="How many of the default lab's nodes take the controller role (roles_data tag), from node-0.",
)
@click.option(
    "--machines",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="How many of the default lab's last nodes are QEMU machines with their own Debian (an image built "
    "once by mmdebstrap) instead of namespace nodes.",
)
@click.option(
    "--networks-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="network_data.yaml the default lab's networks come from (default: the project's).",
)
@click.option(
    "--roles-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="roles_data.yaml the default lab's nodes are wired from: the role tagged controller, then the one "
    "tagged compute (default: the project's).",
)
@click.option(
    "--name",
    help="The lab's name: the prefix of its bridges, namespaces, veths, nftables table and daemon "
    "(default: tl, or a --config file's name). Labs with different names run side by side.",
)
def up(
    config_file: Path | None,
    nodes: int | None,
    controllers: int,
    machines: int,
    networks_file: Path | None,
    roles_file: Path | None,
    name: str | None,
) -> None:
    """Create the lab's networks and nodes (powered off) and start their BMCs.

    Writes $TRIPLEO_HOME/lab/instackenv.json for `overcloud node import` and network-environment.yaml (its
    subnets) for `overcloud deploy -e`. Without --config the subnets and BMC ports move out of the way of
    labs already up. Running it again changes nothing.
    """
    if config_file is not None and nodes is not None:
        raise UsageError("--config and --nodes exclude each other")
    if config_file is not None and (controllers != 1 or machines):
        raise UsageError("--config excludes --controllers and --machines (a node's kind is in the file)")
    if config_file is not None and (networks_file or roles_file):
        raise UsageError("--config excludes --networks-file and --roles-file")
    if config_file is not None:
        config = load_config(config_file)
    else:
        config = default_config(nodes or 3, controllers, networks_file=networks_file, roles_file=roles_file,
                                machines=machines)  # fmt: skip
    if name is not None:
        config = config.named(name)
    the_lab = Lab()
    path = the_lab.up(config, movable=config_file is None)
    placed = the_lab.config()
    ctlplane = placed.network("ctlplane").cidr
    click.echo(f"lab up: {placed.name}: {len(placed.nodes)} nodes, {len(placed.networks)} networks "
               f"(ctlplane {ctlplane}, BMCs from port {placed.bmc_port_base})")  # fmt: skip
    click.echo(f"instackenv: {path}")
    click.echo(f"network environment: {the_lab.paths.network_environment}")


@lab.command()
@click.option("--name", help="The lab to remove (default: the one of this TRIPLEO_HOME, else tl).")
def down(name: str | None) -> None:
    """Remove every namespace, bridge, veth, process, firewall rule and file of the lab (of no other)."""
    report = Lab().down(name)
    click.echo(
        f"lab down: {report.daemons} daemon(s), {report.namespaces} namespace(s), "
        f"{report.links} interface(s) removed"
    )


@lab.command()
@format_options
def status(fmt: str, columns: tuple[str, ...]) -> None:
    """Show every node: power state, BMC port, ctlplane address, NICs."""
    rows = [s.to_dict() for s in Lab().status()]
    emit_list(rows, STATUS_COLUMNS, fmt, columns)


@lab.command(context_settings={"ignore_unknown_options": True})
@click.argument("node")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def console(node: str, command: tuple[str, ...]) -> None:
    """Open a root shell inside NODE (or run COMMAND there: `tripleo lab console node-0 -- hostname`)."""
    argv = Lab().console_argv(node, command)
    sys.stdout.flush()
    os.execvp(argv[0], argv)


@lab.command()
@click.argument("node")
@click.option("--address", required=True, help="ctlplane address with prefix, e.g. 192.168.24.10/24.")
@click.option("--hostname", help="Hostname (default: the node's name).")
@click.option("--route", "routes", multiple=True, metavar="CIDR=GATEWAY", help="Extra route (repeatable).")
def provision(node: str, address: str, hostname: str | None, routes: tuple[str, ...]) -> None:
    """Write a config drive to NODE's disk (the lab's SSH key for root); applied at its next power on."""
    parsed = []
    for text in routes:
        dest, sep, gateway = text.partition("=")
        if not sep:
            raise UsageError(f"--route {text}: expected CIDR=GATEWAY")
        parsed.append(Route(dest, gateway))
    the_lab = Lab()
    key = the_lab.public_key()
    drive = ConfigDrive(hostname or node, (key,), address, tuple(parsed))
    the_lab.write_config_drive(node, drive)
    click.echo(f"{node}: config drive written ({address})")


@lab.command()
@click.argument("node")
def wipe(node: str) -> None:
    """Erase NODE's disk (its own /etc, /var, /root, ... and config drive). The node must be off."""
    Lab().wipe_disk(node)
    click.echo(f"{node}: disk wiped")
