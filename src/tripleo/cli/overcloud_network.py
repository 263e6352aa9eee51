"""``tripleo overcloud netenv validate|render`` and ``tripleo overcloud validate network``.

Thin: parse arguments, build the plan (tripleo.network), render Heat NIC templates with the engine
(:mod:`tripleo.workflows.nic_heat`), print. Exit 1 when a check fails, 2 for unreadable input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tripleo.cli.output import emit_list, format_options
from tripleo.errors import OperationError, UsageError
from tripleo.network.checks import CHECKS
from tripleo.network.measure import default_probe, load_network_plan, measure
from tripleo.network.netenv import IpamAllocator, Report, validate, write_plan
from tripleo.storage import open_database, tripleo_home
from tripleo.workflows.nic_heat import HeatNicRenderer

if TYPE_CHECKING:
    from tripleo.workflows.services import Prepared

__all__ = ["register"]

_PLAN_OPTIONS = [
    click.option("-e", "--environment", "environments", multiple=True, help="Environment file (repeatable)."),
    click.option(
        "--roles-file", type=click.Path(path_type=Path), help="roles_data.yaml (default: the project's)."
    ),
    click.option(
        "--network-data", type=click.Path(path_type=Path), help="network_data.yaml (default: the project's)."
    ),
]


def _plan_options(func: Any) -> Any:
    for option in reversed(_PLAN_OPTIONS):
        func = option(func)
    return func


def _check_rows(report: Report) -> list[dict[str, Any]]:
    rows = [
        {"check": f.check, "subject": f.subject, "status": "FAIL", "detail": f.message}
        for f in report.findings
    ]
    failed = {f.check for f in report.findings}
    for name in CHECKS:
        if name not in failed:
            rows.append({"check": name, "subject": "", "status": "ok", "detail": ""})
    return rows


def _matrix_rows(report: Report) -> list[dict[str, Any]]:
    return [
        {
            "source": f.source,
            "target": f.target.node,
            "network": f.target.network,
            "address": str(f.target.address),
            "required": report.expected(f),
            "proof": f.reachable,
            "reason": f.reason,
        }
        for f in report.flows
    ]


def _report_json(report: Report) -> dict[str, Any]:
    return {
        "valid": report.ok,
        "checks": _check_rows(report),
        "nodes": [
            {
                "name": r.spec.name,
                "role": r.spec.role,
                "addresses": {k: str(v) for k, v in r.addresses.items()},
                "network_config": r.config,
            }
            for r in report.nodes
        ],
        "vips": {k: str(v) for k, v in report.vips.items()},
        "matrix": _matrix_rows(report),
    }


def _emit(report: Report, fmt: str, columns: Sequence[str]) -> None:
    if fmt == "json":
        click.echo(json.dumps(_report_json(report), indent=2))
        return
    emit_list(_check_rows(report), ["check", "subject", "status", "detail"], fmt, columns)
    if fmt == "table" and report.flows:
        rows = _matrix_rows(report)
        click.echo(f"isolation proof: {sum(r['proof'] for r in rows)} of {len(rows)} flows reachable")
        emit_list(rows, ["source", "target", "network", "address", "required", "proof"], fmt)


def _fail_if_invalid(report: Report) -> None:
    if not report.ok:
        raise OperationError(f"{len(report.findings)} network check(s) failed: {report.findings[0].message}")


def _load(environments: Sequence[str], roles_file: Path | None, network_data: Path | None) -> Prepared:
    """The checked plan (rendered in a scratch directory), whose network plan takes each role's services
    and their ports from the project's service templates (:func:`tripleo.workflows.services.network_plan`)."""
    from tripleo.workflows.request import DEFAULT_TEMPLATES
    from tripleo.workflows.services import scratch_prepare

    return scratch_prepare(DEFAULT_TEMPLATES, environments, roles_file=roles_file, networks_file=network_data)


@click.group()
def netenv() -> None:
    """Check a network environment offline and render per-node NIC configs and firewall rules."""


@netenv.command("validate")
@_plan_options
@format_options
def validate_cmd(
    environments: tuple[str, ...], roles_file: Path | None, network_data: Path | None, fmt: str,
    columns: tuple[str, ...],
) -> None:  # fmt: skip
    """Overlaps, gateways, pools, VLANs, MTUs, VIPs, NIC configs and the isolation proof."""
    from tripleo.workflows.services import network_plan

    plan = network_plan(_load(environments, roles_file, network_data))
    report = validate(plan, HeatNicRenderer(environments))
    _emit(report, fmt, columns)
    _fail_if_invalid(report)


_NODE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)=(?P<role>[A-Za-z0-9]+)$")


def _entries(specs: Sequence[str]) -> list[tuple[str, str, int]]:
    """NAME=ROLE arguments as (name, role, index within the role)."""
    out: list[tuple[str, str, int]] = []
    for spec in specs:
        match = _NODE.match(spec)
        if not match:
            raise UsageError(f"--node {spec!r}: expected NAME=ROLE")
        out.append((match["name"], match["role"], sum(1 for _, r, _ in out if r == match["role"])))
    return out


@netenv.command("render")
@_plan_options
@click.option("--node", "node_specs", multiple=True, required=True, help="NAME=ROLE (repeatable).")
@click.option("--lab", "use_lab", is_flag=True, help="Take NIC names and cabling from the running lab.")
@click.option("--output-dir", type=click.Path(path_type=Path), help="Default: $TRIPLEO_HOME/network.")
def render_cmd(
    environments: tuple[str, ...], roles_file: Path | None, network_data: Path | None,
    node_specs: tuple[str, ...], use_lab: bool, output_dir: Path | None,
) -> None:  # fmt: skip
    """Give NAME=ROLE nodes addresses (IPAM), render their NIC configs, firewall rules and the proof."""
    from tripleo.workflows.wiring import lab_wiring, wired_specs

    entries = _entries(node_specs)
    wiring = lab_wiring([name for name, _, _ in entries], required=True) if use_lab else {}
    for name, _, _ in entries:
        if use_lab and name not in wiring:
            raise UsageError(f"--node {name}: no such lab node")
    from tripleo.workflows.services import network_plan

    prepared = _load(environments, roles_file, network_data)
    plan = network_plan(prepared, wired_specs(network_plan(prepared), entries, wiring))
    report = validate(plan, HeatNicRenderer(environments), IpamAllocator(open_database(), plan.enabled()))
    if not report.ok:
        _emit(report, "table", ())
        _fail_if_invalid(report)
    path = write_plan(
        report,
        output_dir or tripleo_home() / "network",
        lambda n: wiring[n].netns if n in wiring else None,
    )
    click.echo(f"rendered {len(report.nodes)} nodes; network plan: {path}")


@click.command("network")
@click.option(
    "--stack", default="overcloud", show_default=True, help="The deployed stack whose plan to measure."
)
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(path_type=Path),
    help="Default: the stack's ($TRIPLEO_HOME/network/<stack>/network-plan.json), else netenv render's.",
)
@format_options
def validate_network(stack: str, plan_file: Path | None, fmt: str, columns: tuple[str, ...]) -> None:
    """Ping from every node to every address and compare with the isolation proof."""
    if plan_file is None:
        plan_file = tripleo_home() / "network" / stack / "network-plan.json"
        if not plan_file.exists():
            plan_file = tripleo_home() / "network" / "network-plan.json"
    plan = load_network_plan(plan_file)
    results = measure(plan, default_probe(plan["nodes"]))
    cols = ["source", "target", "network", "address", "proof", "measured", "match"]
    if fmt == "json":
        click.echo(json.dumps([m.to_dict() for m in results], indent=2))
    else:
        emit_list([m.to_dict() for m in results], cols, fmt, columns)
    wrong = [m for m in results if not m.match]
    if wrong:
        first = wrong[0]
        raise OperationError(
            f"{len(wrong)} of {len(results)} flows differ from the proof, e.g. {first.source} -> "
            f"{first.target} "
            f"{first.network} {first.address}: proof {first.proof}, measured {first.measured}"
        )


def register(group: click.Group) -> None:
    """Add ``netenv`` and ``validate network`` to the ``overcloud`` group."""
    group.add_command(netenv)
    validate_group = group.commands.get("validate")
    if not isinstance(validate_group, click.Group):
        validate_group = click.Group("validate", help="Check an overcloud plan or a deployed overcloud.")
        group.add_command(validate_group)
    validate_group.add_command(validate_network)
    from tripleo.cli.overcloud_deploy import validate_templates

    validate_group.add_command(validate_templates)
