"""``overcloud node import``: check a node file completely, then enroll every node in one transaction.

Nothing changes unless the whole file is good (fields, MACs, duplicates, clashes with enrolled nodes, BMCs
that answer). Importing the same file twice enrolls nothing new: a node whose name and BMC match an
enrolled node updates that node instead.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tripleo.baremetal import states
from tripleo.baremetal.conductor import Conductor
from tripleo.baremetal.enroll import ImportProblems, NodeSpec, check_existing, probe
from tripleo.baremetal.node import Node
from tripleo.storage.baremetal_models import NodeRow, PortRow

__all__ = ["Enrolled", "enroll", "validate"]


@dataclass(frozen=True)
class Enrolled:
    node: Node
    created: bool


def _bmc(row: NodeRow) -> tuple[str, ...]:
    info = row.driver_info or {}
    return (str(info.get("pm_addr")), str(info.get("pm_port", "")), str(info.get("pm_system_id", "")))


def validate(
    conductor: Conductor, specs: Sequence[NodeSpec], file: str | None = None, reach: bool = True
) -> None:
    """Check the nodes against the inventory and (``reach``) ask every BMC for its power state.

    :raises ImportProblems: every problem found.
    """
    with conductor.db.transaction() as session:
        rows = session.scalars(select(NodeRow)).all()
        names = {r.name: (r.uuid, _bmc(r)) for r in rows if r.name}
        macs = {p.address: (r.name or r.uuid) for r in rows for p in r.ports}
    problems = check_existing(specs, names, macs, file)
    if reach:

        def power_state(spec: NodeSpec) -> object:
            return conductor.drivers(
                spec.driver, spec.driver_info, conductor.provisioner
            ).power.get_power_state()

        problems += probe(specs, power_state, file, conductor.workers)
    if problems:
        raise ImportProblems(sorted(problems, key=lambda p: _order(p.path)))


def _order(path: str | None) -> tuple[int, str]:
    parts = (path or "").split(".")
    index = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1
    return index, path or ""


def enroll(conductor: Conductor, specs: Sequence[NodeSpec]) -> list[Enrolled]:
    """Create (``enroll`` state) or update every node, all in one transaction."""
    results = []
    with conductor.db.transaction() as session:
        for spec in specs:
            row = (
                session.scalars(select(NodeRow).where(NodeRow.name == spec.name)).first()
                if spec.name
                else None
            )
            created = row is None
            if row is None:
                row = NodeRow(
                    uuid=spec.uuid or str(uuidlib.uuid4()),
                    name=spec.name,
                    provision_state=states.ENROLL,
                    maintenance=False,
                    instance_info={},
                    extra={},
                    properties={},
                    driver=spec.driver,
                    driver_info={},
                )
                session.add(row)
            row.driver = spec.driver
            row.driver_info = dict(spec.driver_info)
            row.properties = {**(row.properties or {}), **spec.properties}
            _ports(session, row, spec)
            session.flush()
            results.append(Enrolled(Node.from_row(row), created))
    return results


def _ports(session: Session, row: NodeRow, spec: NodeSpec) -> None:
    have = {p.address: p for p in row.ports}
    for port in spec.ports:
        existing = have.get(port.address)
        if existing is None:
            row.ports.append(
                PortRow(
                    uuid=str(uuidlib.uuid4()),
                    address=port.address,
                    physical_network=port.physical_network,
                    pxe_enabled=port.pxe_enabled,
                )
            )
        elif port.physical_network:
            existing.physical_network = port.physical_network
