"""Inspection: ask the driver what the hardware is, fill the node's properties and ports.

A field the BMC does not report keeps its imported value and is named in ``extra.inspection.not_inspected``
(and in the command's output), so an operator knows which numbers came from the node file.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from sqlalchemy.orm import Session

from tripleo.baremetal import states
from tripleo.baremetal.conductor import Conductor, now
from tripleo.baremetal.drivers import Driver, Inventory
from tripleo.baremetal.node import Node, format_capabilities, parse_capabilities
from tripleo.errors import OperationError
from tripleo.storage.baremetal_models import NodeRow, PortRow

__all__ = ["INSPECTED_FIELDS", "inspect", "introspect", "not_inspected"]

INSPECTED_FIELDS = ("cpus", "memory_mb", "local_gb", "cpu_arch", "macs")
# Nodes ``introspect --all-manageable`` takes: manageable ones, those whose inspection or cleaning failed
# (a retry), and those an interrupted run left inspecting or cleaning (recovered when locked).
ALL_MANAGEABLE = frozenset(
    {states.MANAGEABLE, states.INSPECT_FAILED, states.CLEAN_FAILED, states.INSPECTING, states.CLEANING}
)


def not_inspected(node: Node) -> list[str]:
    """The fields the last inspection could not read (their values are the imported ones)."""
    found = node.extra.get("inspection", {}).get("not_inspected", [])
    return [str(f) for f in found]


def inspect(conductor: Conductor, ident: str) -> Node:
    """``manageable`` (or ``inspect failed``) -> ``inspecting`` -> ``manageable`` with what was found."""
    node_uuid = conductor.resolve(ident)
    with conductor.locked(node_uuid, "inspection"):
        return _inspect_locked(conductor, node_uuid)


def introspect(conductor: Conductor, ident: str, *, provide: bool = False) -> Node:
    """Inspect one node (after a failed or interrupted attempt too), then optionally make it available."""
    node_uuid = conductor.resolve(ident)
    with conductor.locked(node_uuid, "introspection") as node:
        if node.provision_state in (states.CLEAN_FAILED, states.ENROLL):
            node = conductor.manage_locked(node_uuid, node)
        node = _inspect_locked(conductor, node_uuid)
        if provide:
            node = conductor.provide_locked(node_uuid)
        return node


def _inspect_locked(conductor: Conductor, node_uuid: str) -> Node:
    inventory: Inventory = conductor.run(node_uuid, "inspect", lambda driver: _read(driver))

    def apply(session: Session, row: NodeRow) -> None:
        missing = _apply(session, row, inventory)
        extra = dict(row.extra or {})
        extra["inspection"] = {"finished_at": now().isoformat(timespec="seconds"), "not_inspected": missing}
        row.extra = extra

    try:
        conductor.update(node_uuid, apply)
    except OperationError as exc:
        conductor.move(node_uuid, "fail", last_error=exc.message)
        raise
    return conductor.move(node_uuid, "done")


def _read(driver: Driver) -> Inventory:
    return driver.inspect.inspect()


def _apply(session: Session, row: NodeRow, inventory: Inventory) -> list[str]:
    """Merge the inventory into the row; return the fields it lacked."""
    props: dict[str, Any] = dict(row.properties or {})
    missing = []
    for field in INSPECTED_FIELDS[:-1]:
        value = getattr(inventory, field)
        if value is None:
            missing.append(field)
        else:
            props[field] = value
    if inventory.capabilities:
        try:
            caps = parse_capabilities(props.get("capabilities"))
        except ValueError:
            caps = {}
        caps.update(inventory.capabilities)
        props["capabilities"] = format_capabilities(caps)
    row.properties = props
    if inventory.macs is None:
        missing.append("macs")
    else:
        _ports(session, row, inventory)
    return missing


def _ports(session: Session, row: NodeRow, inventory: Inventory) -> None:
    """One port per inspected MAC (existing ports stay; a MAC of another node is an error)."""
    have = {p.address: p for p in row.ports}
    for mac in inventory.macs or ():
        network = inventory.physical_networks.get(mac)
        port = have.get(mac)
        if port is not None:
            if network and not port.physical_network:
                port.physical_network = network
            continue
        owner = session.query(PortRow).filter(PortRow.address == mac).first()
        if owner is not None:
            other = owner.node.name or owner.node_uuid
            raise OperationError(f"node {row.name or row.uuid}: inspection found MAC {mac} of node {other}")
        row.ports.append(
            PortRow(
                uuid=str(uuidlib.uuid4()),
                address=mac,
                physical_network=network,
                pxe_enabled=not have and not row.ports,
            )
        )
