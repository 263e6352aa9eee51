"""``tripleo overcloud node ...`` and ``tripleo overcloud profiles ...``, as python-tripleoclient has them.

Commands on several nodes run them in parallel and print one line per node; every node that failed is one
``ERROR:`` line on stderr, and the exit code is 1. A node file with problems prints one line per problem
and exits 2 without changing anything.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

import click

from tripleo import baremetal
from tripleo.baremetal import ALL_MANAGEABLE, Conductor, ImportProblems, Node, Outcome, ProfileShortage
from tripleo.cli.baremetal import conductor
from tripleo.cli.output import emit_list, format_options
from tripleo.errors import UsageError

PROFILE_COLUMNS = ("uuid", "name", "provision_state", "current_profile", "possible_profiles")
MATCH_COLUMNS = ("role", "node", "profile", "reason")


def register(group: click.Group) -> None:
    """Add ``node`` and ``profiles`` to the ``overcloud`` group."""
    group.add_command(node)
    group.add_command(profiles)


def _fail(lines: Sequence[str], code: int) -> NoReturn:
    for line in lines:
        click.echo(f"ERROR: {line}", err=True)
    sys.exit(code)


def _describe(node: Node) -> str:
    text = f"{node.label}: {node.provision_state}"
    props = node.properties
    if "inspection" in node.extra:
        found = [f"{k} {props[k]}" for k in ("cpus", "memory_mb", "local_gb", "cpu_arch") if k in props]
        text += f" ({', '.join(found)}, {len(node.ports)} ports)"
        missing = baremetal.not_inspected(node)
        if missing:
            text += f"; not inspected, imported values kept: {', '.join(missing)}"
    return text


def _report(outcomes: Sequence[Outcome]) -> None:
    for outcome in outcomes:
        if outcome.node is not None:
            click.echo(_describe(outcome.node))
    errors = [str(o.error) for o in outcomes if o.error is not None]
    if errors:
        _fail(errors, 1)


def _batch(cond: Conductor, idents: Sequence[str], action: Callable[[str], Node]) -> None:
    if not idents:
        raise UsageError("name at least one NODE")
    _report(cond.each(list(dict.fromkeys(idents)), action))


@click.group()
def node() -> None:
    """Enroll, inspect and prepare bare-metal nodes."""


@node.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--validate-only", is_flag=True, help="Check the file and every BMC; change nothing.")
@click.option("--introspect", "do_introspect", is_flag=True, help="Inspect the nodes after enrolling.")
@click.option("--provide", is_flag=True, help="Make the nodes available after enrolling (and inspecting).")
def node_import(file: Path, validate_only: bool, do_introspect: bool, provide: bool) -> None:
    """Enroll the nodes of FILE (instackenv.json, or the same in YAML), then make them manageable."""
    cond = conductor()
    try:
        specs = baremetal.load_nodes(file)
        baremetal.validate_import(cond, specs, str(file))
    except ImportProblems as exc:
        _fail([str(p) for p in exc.problems], 2)
    if validate_only:
        click.echo(f"{file}: {len(specs)} nodes are valid and their BMCs answer")
        return
    enrolled = baremetal.enroll(cond, specs)
    created = sum(1 for e in enrolled if e.created)
    click.echo(f"{file}: {created} nodes enrolled, {len(enrolled) - created} updated")
    uuids = [e.node.uuid for e in enrolled]
    if do_introspect:
        _report(cond.each(uuids, lambda u: baremetal.introspect(cond, u, provide=provide)))
    elif provide:
        _report(cond.each(uuids, lambda u: _manage_then_provide(cond, u)))
    else:
        _report(cond.each(uuids, lambda u: _manage_if_enrolled(cond, u)))


def _manage_if_enrolled(cond: Conductor, node_uuid: str) -> Node:
    current = cond.get(node_uuid)
    if current.provision_state != baremetal.states.ENROLL:
        return current
    return cond.manage(node_uuid)


def _manage_then_provide(cond: Conductor, node_uuid: str) -> Node:
    current = _manage_if_enrolled(cond, node_uuid)
    if current.provision_state == baremetal.states.AVAILABLE:
        return current
    if current.provision_state != baremetal.states.MANAGEABLE:
        cond.manage(node_uuid)
    return cond.provide(node_uuid)


@node.command("introspect")
@click.argument("nodes", nargs=-1, metavar="[NODE]...")
@click.option(
    "--all-manageable", is_flag=True, help="Every manageable node (and failed or interrupted ones)."
)
@click.option("--provide", is_flag=True, help="Make the nodes available afterwards.")
def node_introspect(nodes: tuple[str, ...], all_manageable: bool, provide: bool) -> None:
    """Inspect nodes: CPUs, memory, disk, NICs (one port per MAC) and capabilities, from the BMC or lab."""
    if bool(nodes) == all_manageable:
        raise UsageError("name NODEs or give --all-manageable (not both)")
    cond = conductor()
    idents = list(nodes)
    if all_manageable:
        idents = [n.uuid for n in cond.nodes() if n.provision_state in ALL_MANAGEABLE and not n.maintenance]
        if not idents:
            click.echo("no manageable nodes")
            return
    _batch(cond, idents, lambda ident: baremetal.introspect(cond, ident, provide=provide))


@node.command("provide")
@click.argument("nodes", nargs=-1, metavar="NODE...")
def node_provide(nodes: tuple[str, ...]) -> None:
    """Clean (power off, erase) manageable nodes and make them available."""
    cond = conductor()
    _batch(cond, nodes, cond.provide)


@node.command("manage")
@click.argument("nodes", nargs=-1, metavar="NODE...")
def node_manage(nodes: tuple[str, ...]) -> None:
    """Make nodes manageable (from enroll this checks the BMC)."""
    cond = conductor()
    _batch(cond, nodes, cond.manage)


@node.command("delete")
@click.argument("nodes", nargs=-1, metavar="NODE...")
def node_delete(nodes: tuple[str, ...]) -> None:
    """Remove nodes (and their ports) from the inventory; never deployed ones."""
    cond = conductor()
    if not nodes:
        raise UsageError("name at least one NODE")
    outcomes = cond.each(list(dict.fromkeys(nodes)), cond.delete)
    for outcome in outcomes:
        if outcome.node is not None:
            click.echo(f"{outcome.node.label}: deleted")
    errors = [str(o.error) for o in outcomes if o.error is not None]
    if errors:
        _fail(errors, 1)


@click.group()
def profiles() -> None:
    """Which nodes serve which role (profile:<name> capabilities)."""


@profiles.command("list")
@format_options
def profiles_list(fmt: str, columns: tuple[str, ...]) -> None:
    """Every node with its current and possible profiles."""
    rows = [
        {
            "uuid": n.uuid,
            "name": n.name,
            "provision_state": n.provision_state,
            "current_profile": n.profile,
            "possible_profiles": n.possible_profiles,
        }
        for n in conductor().nodes()
    ]
    emit_list(rows, PROFILE_COLUMNS, fmt, columns)


@profiles.command("match")
@click.option(
    "--role", "roles", multiple=True, metavar="ROLE=COUNT[:PROFILE]", help="e.g. Compute=2 (repeat)."
)
@click.option(
    "--control-scale", type=int, help="Count of the role tagged controller in roles_data (as --role R=N)."
)
@click.option(
    "--compute-scale", type=int, help="Count of the role tagged compute in roles_data (as --role R=N)."
)
@click.option(
    "--roles-file", type=click.Path(path_type=Path), help="roles_data.yaml (default: the project's)."
)
@click.option("--dry-run", is_flag=True, help="Explain the choices, change nothing.")
@format_options
def profiles_match(
    roles: tuple[str, ...],
    control_scale: int | None,
    compute_scale: int | None,
    roles_file: Path | None,
    dry_run: bool,
    fmt: str,
    columns: tuple[str, ...],
) -> None:
    """Give nodes the profiles of the roles' counts, explaining each choice; fail if a role is short.

    A role's profile is its roles_data ``profile`` unless ROLE=COUNT:PROFILE names one."""
    from tripleo.network.model import load_roles_data

    known = load_roles_data(roles_file)
    profiles = {r.name: r.profile for r in known if r.profile}
    counts = [baremetal.parse_role(r, profiles) for r in roles]
    for flag, tag, scale in (("--control-scale", "controller", control_scale),
                             ("--compute-scale", "compute", compute_scale)):  # fmt: skip
        if scale is not None:
            tagged = [r.name for r in known if tag in r.tags]
            if not tagged:
                raise UsageError(f"{flag}: no role of roles_data is tagged {tag}")
            counts.append(baremetal.parse_role(f"{tagged[0]}={scale}", profiles))
    if not counts:
        raise UsageError("give role counts: --role Controller=1 --role Compute=2")
    try:
        choices = baremetal.match_profiles(conductor(), counts, dry_run=dry_run)
    except ProfileShortage as exc:
        _fail(exc.problems, 1)
    rows = [{"role": c.role, "node": c.node, "profile": c.profile, "reason": c.reason} for c in choices]
    emit_list(rows, MATCH_COLUMNS, fmt, columns)
