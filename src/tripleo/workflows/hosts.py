"""The overcloud's hosts as config download sees them, rendered from the completed stack (deploy phase 3).

Every server of the stack gets its addresses on its role's networks (the stack's IPAM, owned by
``<stack>/<node>``), its NIC config (the VIPs on the primary role's first node) and firewall rules, the
network plan for ``validate network``, and its hieradata, Puppet and containers from the stack's
``RoleData``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tripleo.config import Host
from tripleo.config.hieradata import (
    NodeView,
    all_nodes,
    host_manifest,
    network_host_name,
    node_hieradata,
    placement,
)
from tripleo.config.rings import RingSpec, rings_hieradata
from tripleo.config.roledata import RoleData, Service, parse_role_data
from tripleo.errors import OperationError
from tripleo.network.environment import Plan
from tripleo.network.ipam import PlannedAllocator, StackAllocator, release_stack_addresses
from tripleo.network.model import CTLPLANE
from tripleo.network.netenv import Allocator, NodeResult, Report, resolved_config, validate, write_plan
from tripleo.network.vips import with_vips
from tripleo.resources.service import StackResource, StackService
from tripleo.storage import Database, stack_paths
from tripleo.workflows.capacity import DEPLOYED_TYPE, SERVER_TYPE, server_slot
from tripleo.workflows.containers import host_container_steps, image_resolver
from tripleo.workflows.nic_heat import HeatNicRenderer
from tripleo.workflows.request import DeployRequest, Progress, fail_on
from tripleo.workflows.services import Prepared, network_plan
from tripleo.workflows.wiring import lab_wiring, wired_specs

__all__ = ["Server", "host_entries", "render", "servers", "vips_of"]


@dataclass(frozen=True)
class Server:
    """A deployed server of the stack: where it runs and which role group it belongs to."""

    path: str
    role: str
    index: int
    name: str
    physical_id: str
    node: str
    ctlplane: str


def servers(rows: Sequence[StackResource], db: Database, roles: set[str]) -> list[Server]:
    """The stack's complete servers (from its resource rows), by role and index, each with its node.

    :raises OperationError: a server's path is not ``<Role>/<index>/...`` with a role of roles_data.
    """
    from tripleo.baremetal import Conductor

    conductor = Conductor(db)
    by_path = {row.path: row for row in rows}
    out = []
    for row in rows:
        if row.status != "COMPLETE" or row.action == "DELETE":
            continue
        if row.implementation == DEPLOYED_TYPE:  # its stack (deployed-server.yaml) has its address
            parent = by_path.get(row.stack_path)
            if parent is None or parent.status != "COMPLETE":
                continue
            out.append(_deployed(row, parent, roles))
            continue
        if row.implementation != SERVER_TYPE:
            continue
        slot = server_slot(row.path)
        if slot is None or row.path.count("/") < 2 or slot[0] not in roles:
            raise OperationError(
                f"server {row.path}: expected <Role>/<index>/..., with a role of roles_data "
                f"({', '.join(sorted(roles))})"
            )
        node_uuid = str((row.data or {}).get("node_uuid") or "")
        node = conductor.get(node_uuid) if node_uuid else None
        attrs = row.attributes or {}
        out.append(
            Server(
                path=row.path,
                role=slot[0],
                index=slot[1],
                name=str(attrs.get("name") or row.name),
                physical_id=row.physical_id,
                node=node.label if node else row.physical_id,
                ctlplane=str(attrs.get("first_address") or ""),
            )
        )
    return sorted(out, key=lambda s: (s.role, s.index))


def _deployed(row: StackResource, parent: StackResource, roles: set[str]) -> Server:
    """A deployed server (OS::Heat::DeployedServer in a role's server template): the template's outputs give
    its name and ctlplane address; its node is its short host name."""
    slot = server_slot(parent.path)
    if slot is None or slot[0] not in roles:
        raise OperationError(f"server {row.path}: expected <Role>/<index>/..., with a role of roles_data "
                             f"({', '.join(sorted(roles))})")  # fmt: skip
    attrs = parent.attributes or {}
    name = str(attrs.get("name") or (row.attributes or {}).get("name") or row.name)
    return Server(path=row.path, role=slot[0], index=slot[1], name=name, physical_id=row.physical_id,
                  node=name.split(".")[0], ctlplane=str(attrs.get("first_address") or ""))  # fmt: skip


def host_entries(plan: Plan, servers: Sequence[Server], results: Mapping[str, NodeResult]) -> list[str]:
    """/etc/hosts lines for every server on every network, as TripleO writes them: the ctlplane address
    answers to the server's own name, another network's to ``<short>.<network>.<domain>`` (``internalapi``:
    no underscore in a host name)."""
    lower = {n.name: n.name_lower for n in plan.networks}
    lines = []
    for server in servers:
        short = server.name.partition(".")[0]
        for network, address in sorted(results[server.node].addresses.items()):
            name = network_host_name(server.name, lower.get(network, network.lower()))
            alias = short if network == CTLPLANE else ".".join(name.split(".")[:2])
            lines.append(f"{address.ip} {name} {alias}")
    return lines


def vips_of(report: Report) -> dict[str, str]:
    """The report's VIPs as text, by network name (what the project and the deploy record keep)."""
    return {k: str(v) for k, v in report.vips.items()}


def _node_views(plan: Plan, servers: Sequence[Server], results: Mapping[str, NodeResult]) -> list[NodeView]:
    lower = {n.name: n.name_lower for n in plan.networks}
    return [
        NodeView(s.name, s.role, s.index,
                 {lower.get(k, k): str(v.ip) for k, v in results[s.node].addresses.items()},
                 tuple(results[s.node].spec.nics))
        for s in servers
    ]  # fmt: skip


def _service_extras(services: Sequence[Service]) -> dict[str, Any]:
    """What a host's services ask of it beyond Puppet: the init scripts started at power-on (a containerized
    service's containers restart by themselves), status's probes and the full-outage recovery commands."""
    return {
        "boot": tuple({"name": name, "status": status, "service": s.name}
                      for s in services if s.container is None for name, status in s.boot),
        "probes": tuple({"name": name, "command": command} for s in services for name, command in s.probes),
        "recovery": {s.name: dict(s.recovery) for s in services if s.recovery},
    }  # fmt: skip


def _ring_members(views: Sequence[NodeView], placed: Mapping[str, Sequence[Service]]
                  ) -> dict[str, tuple[RingSpec, list[str]]]:  # fmt: skip
    """Each service that declares rings: its spec and the addresses of its nodes on the ring's network."""
    out: dict[str, tuple[RingSpec, list[str]]] = {}
    for view in sorted(views, key=lambda v: (v.role, v.index)):
        for service in placed[view.name]:
            if service.rings is not None and service.rings.network in view.addresses:
                entry = out.setdefault(service.name, (service.rings, []))
                entry[1].append(view.addresses[service.rings.network])
    return out


def _hosts(plan: Plan, report: Report, servers: Sequence[Server], roles: Mapping[str, RoleData],
           views: Sequence[NodeView], vips: Mapping[str, str], cloud_name: str,
           templates: Path, rings: tuple[Path, str, bool]) -> list[Host]:  # fmt: skip
    """Each server as config download sees it: addresses, NIC config (the VIPs on the primary role's first
    node, unless a service of that role moves them: then they float on every node of the role), firewall,
    hieradata, the Puppet of the services that run on it and the containers of those that run in containers
    (images in the undercloud registry, checked before any node changes)."""
    results = {r.spec.name: r for r in report.nodes}
    primary = plan.primary_role()
    holders = [s for s in servers if primary is not None and s.role == primary.name]
    placed = placement(roles, views)
    managed = any(s.vip_manager for h in holders for s in placed[h.name])
    vip_node = min(holders, key=lambda s: s.index).node if holders and not managed else None
    floating = tuple(f"{v}/{v.max_prefixlen}" for v in report.vips.values()) if managed else ()
    containerized = any(s.container is not None for services in placed.values() for s in services)
    resolve, registry = image_resolver(templates) if containerized else (None, "")
    state, stack, write = rings
    shared = all_nodes(roles, views, placed, vips, {
        **rings_hieradata(_ring_members(views, placed), state, stack, write),
        "tripleo::cloud_name": cloud_name,
        "tripleo::hosts_entries": host_entries(plan, servers, results),
    })  # fmt: skip
    hosts = []
    for server, view in zip(servers, views, strict=True):
        result, services = results[server.node], placed[view.name]
        config = resolved_config(result)
        files: dict[str, Any] = node_hieradata(view, roles, services, vips)
        files["all_nodes"] = shared
        hosts.append(
            Host(
                name=server.name, role=server.role, node=server.node, ctlplane=server.ctlplane,
                addresses={k: str(v) for k, v in result.addresses.items()}, hieradata=files,
                network_config=with_vips(config, result.addresses, report.vips)
                if server.node == vip_node else config,
                floating_addresses=floating if server in holders else (),
                **_service_extras(services),
                firewall=result.firewall or "",
                manifest=host_manifest(services),
                services=tuple(s.name for s in services),
                packages=tuple(sorted({p for s in services for p in s.packages})),
                containers=host_container_steps(services, server.name, resolve, registry) if resolve else {},
            )
        )  # fmt: skip
    return hosts


def render(service: StackService, db: Database, req: DeployRequest, prepared: Prepared, base: Plan,
           progress: Progress, outputs: Mapping[str, Any] | None = None, network_dir: Path | None = None,
           planned: PlannedAllocator | None = None
           ) -> tuple[list[Host], Report, dict[str, RoleData]]:  # fmt: skip
    """Phase 3 and the project's hosts: the nodes' networks, hieradata and Puppet from the completed stack;
    the addresses of nodes that left the stack are freed. A dry run gives the ``outputs`` its stack would
    have, a ``network_dir`` for the network plan and ``planned``, its IPAM (nothing is written to the IPAM).

    :returns: the hosts, the network report (addresses, VIPs) and the services' role_data by role.
    :raises OperationError: the nodes' network checks failed, or a server's path is not a role's.
    :raises InputError: an image of a containerized service was never built.
    """
    rows = service.resources(req.stack, nested_depth=64)
    found = servers(rows, db, {r.name for r in base.roles})
    wiring = lab_wiring([s.node for s in found])
    specs = wired_specs(base, [(s.node, s.role, s.index) for s in found], wiring)
    specs = [replace(spec, nics=req.deployed_nics.get(spec.name, spec.nics)) for spec in specs]
    plan = network_plan(prepared, specs)
    kept, ctlplane = [s.node for s in found], {s.node: s.ctlplane for s in found}
    allocator: Allocator
    if planned is not None:
        departed = planned.depart(kept)
        planned.ctlplane, allocator = ctlplane, planned
    else:
        departed = release_stack_addresses(db, req.stack, keep=kept, vips=False)
        allocator = StackAllocator(db, req.stack, ctlplane)
    if departed:
        progress(f"freed {departed} addresses of nodes that left the stack")
    report = validate(plan, HeatNicRenderer(req.environments), allocator)
    fail_on(report, "rendering the nodes' networks")
    network_dir = network_dir or stack_paths(req.stack).network
    write_plan(report, network_dir, lambda node: wiring[node].netns if node in wiring else None)
    if outputs is None:
        outputs = service.get(req.stack).outputs or {}
    roles = parse_role_data(outputs.get("RoleData"))
    views = _node_views(plan, found, {r.spec.name: r for r in report.nodes})
    vips = {n.name_lower: str(report.vips[n.name]) for n in plan.networks if n.name in report.vips}
    cloud_name = str(outputs.get("CloudName") or req.stack)
    rings = (stack_paths(req.stack).plan / "rings", req.stack, planned is None)  # a dry run builds no ring
    hosts = _hosts(plan, report, found, roles, views, vips, cloud_name, req.templates, rings)
    return hosts, report, roles
