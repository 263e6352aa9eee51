"""``netenv validate``: check a plan, give every node its addresses, render and check its NIC config, and
prove isolation from the rendered configs (plan, then report; nothing on any host changes).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tripleo.errors import InputError, OperationError
from tripleo.network.checks import Finding, needs_vip, plan_checks
from tripleo.network.environment import NodeSpec, Plan, subnet_of
from tripleo.network.firewall import Binding, render_ruleset
from tripleo.network.ipam import allocate_port, allocate_vip, sync_networks
from tripleo.network.model import IPAddress, Network
from tripleo.network.nicconfig import (
    DEFAULT_MTU,
    Device,
    layer3,
    nic_numbers,
    parse_network_config,
    resolve_nics,
    walk,
)
from tripleo.network.proof import Flow, HostView, Target, matrix
from tripleo.network.render import NicRenderer, NicRequest, NodeContext, is_jinja, render_jinja
from tripleo.storage import Database

__all__ = [
    "Allocator",
    "IpamAllocator",
    "MemoryAllocator",
    "NodeResult",
    "Report",
    "allocate_vips",
    "resolved_config",
    "validate",
    "write_plan",
]

Interface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


class Allocator(Protocol):
    """Hands out addresses: in memory for an offline check, or the database's IPAM for a deployment."""

    def allocate(self, network: Network, owner: str, name: str, fixed: str | None) -> IPAddress: ...


class MemoryAllocator:
    """Pool order, never twice, never the gateway: what IPAM would give a fresh deployment."""

    def __init__(self) -> None:
        self._used: dict[str, set[IPAddress]] = {}

    def allocate(self, network: Network, owner: str, name: str, fixed: str | None) -> IPAddress:
        sub = network.subnet
        used = self._used.setdefault(network.name, set())
        if fixed is not None:
            addr = ipaddress.ip_address(fixed)
            used.add(addr)
            return addr
        for pool in sub.pools:
            value = int(pool.start)
            while value <= int(pool.end):
                addr = ipaddress.ip_address(value)
                if addr not in used and addr != sub.gateway and addr != sub.cidr.network_address:
                    used.add(addr)
                    return addr
                value += 1
        raise OperationError(f"network {network.name}: no free address left for {owner} port {name}")


class IpamAllocator:
    """Addresses from the database's IPAM (persistent: a re-run gives every node the same addresses)."""

    def __init__(self, db: Database, networks: Sequence[Network]) -> None:
        self.db = db
        sync_networks(db, networks)

    def allocate(self, network: Network, owner: str, name: str, fixed: str | None) -> IPAddress:
        if owner == "vip":
            port = allocate_vip(self.db, network.name, name=name, fixed_ip=fixed)
        else:
            port = allocate_port(self.db, network.name, owner=owner, name=name, fixed_ip=fixed)
        return ipaddress.ip_address(port.ip)


@dataclass
class NodeResult:
    """A node's addresses, its rendered NIC config (nicN as the template wrote it) and its firewall rules."""

    spec: NodeSpec
    addresses: dict[str, Interface] = field(default_factory=dict)
    config: Any = None
    devices: tuple[Device, ...] | None = None
    firewall: str | None = None


@dataclass
class Report:
    """The outcome of ``netenv validate``: failed checks, per-node results, VIPs and the proof."""

    plan: Plan
    findings: list[Finding]
    nodes: list[NodeResult]
    vips: dict[str, IPAddress]
    flows: list[Flow]
    required: dict[tuple[str, str], bool]

    @property
    def ok(self) -> bool:
        return not self.findings

    def expected(self, flow: Flow) -> bool:
        return self.required.get((flow.source, str(flow.target.address)), False)


def _allocate(
    plan: Plan, allocator: Allocator, failed: set[str]
) -> tuple[list[NodeResult], dict[str, IPAddress]]:
    results = []
    for spec in plan.nodes:
        role = plan.role(spec.role)
        result = NodeResult(spec)
        for net in plan.role_networks(role):
            if net.name in failed:
                continue
            listed = plan.predictable.get(role.name, {}).get(net.name_lower, ())
            fixed = listed[spec.index] if spec.index < len(listed) else None
            addr = allocator.allocate(net, spec.name, net.name_lower, fixed)
            result.addresses[net.name] = ipaddress.ip_interface(f"{addr}/{net.cidr.prefixlen}")
        results.append(result)
    return results, allocate_vips(plan, allocator, skip=failed)


def allocate_vips(plan: Plan, allocator: Allocator, skip: Collection[str] = ()) -> dict[str, IPAddress]:
    """The VIP of each enabled network that needs one (a network of the primary role), by network name: the
    plan's fixed VIP when it sets one, else the allocator's pick (``<network>_virtual_ip``, owner ``vip``).

    :param skip: networks left out (their checks failed).
    :raises OperationError: the allocator has no address left.
    """
    vips: dict[str, IPAddress] = {}
    for net in plan.enabled():
        if net.name not in skip and needs_vip(plan, net):
            fixed = (plan.vips.get(net.name) or (None,))[0]
            vips[net.name] = allocator.allocate(net, "vip", f"{net.name_lower}_virtual_ip", fixed)
    return vips


def _context(plan: Plan, result: NodeResult) -> NodeContext:
    role = plan.role(result.spec.role)
    return NodeContext(
        node=result.spec.name,
        role=role.name,
        role_networks=tuple(n.name for n in plan.role_networks(role)),
        addresses=result.addresses,
        networks=plan.enabled(),
        parameters=plan.env.parameters,
    )


def _render(plan: Plan, results: Sequence[NodeResult], renderer: NicRenderer | None) -> list[Finding]:
    """Render every node's NIC config (Jinja here, Heat through ``renderer`` in one batch)."""
    findings: list[Finding] = []
    heat: list[tuple[NodeResult, NicRequest]] = []
    for result in results:
        template = plan.role(result.spec.role).nic_template
        if not template:
            findings.append(
                Finding("nic-config", result.spec.role, f"role {result.spec.role} has no NIC template")
            )
        elif is_jinja(template):
            try:
                result.config = render_jinja(template, _context(plan, result))
            except InputError as exc:
                findings.append(Finding("nic-config", result.spec.role, f"role {result.spec.role}: {exc}"))
        elif renderer is None:
            why = f"role {result.spec.role}: Heat NIC template {template} needs the engine to render"
            findings.append(Finding("nic-config", result.spec.role, why))
        else:
            heat.append((result, NicRequest(_context(plan, result), template)))
    if heat:
        try:
            for (result, _), config in zip(heat, renderer.render([r for _, r in heat]), strict=True):  # type: ignore[union-attr]
                result.config = config
        except InputError as exc:
            findings.append(
                Finding("nic-config", heat[0][0].spec.role, f"rendering Heat NIC templates: {exc}")
            )
    return findings


def _nic_findings(plan: Plan, result: NodeResult) -> list[Finding]:
    spec, role = result.spec, plan.role(result.spec.role)
    who = f"role {role.name}, node {spec.name}"
    try:
        devices = parse_network_config(result.config)
    except InputError as exc:
        return [Finding("nic-config", role.name, f"{who}: NIC config {exc.path}: {exc.message}")]
    result.devices = devices
    findings = []
    count = len(spec.nics) if spec.nics else role.nic_count
    for number, path in nic_numbers(devices):
        if count is not None and number > count:
            findings.append(
                Finding("nic-config", spec.name, f"{who}: {path} uses nic{number}, the node has {count} NICs")
            )
    held: dict[str, Device] = {}
    for dev, _ in walk(devices):
        for iface in dev.addresses:
            net = subnet_of(plan, iface.ip)
            if net is None or net.name not in result.addresses:
                where = (
                    f"network {net.name}, which the role does not join" if net else "no network of the plan"
                )
                findings.append(
                    Finding("nic-networks", spec.name, f"{who}: {dev.name} has {iface}, on {where}")
                )
            else:
                held[net.name] = dev
    for name, iface in result.addresses.items():
        found = held.get(name)
        if found is None:
            findings.append(
                Finding(
                    "nic-networks", role.name, f"{who}: the NIC config has no address on {name} ({iface})"
                )
            )
            continue
        dev = found
        net = plan.network(name)
        mtu = dev.mtu if dev.mtu is not None else DEFAULT_MTU
        if net is not None and net.mtu > mtu:
            findings.append(
                Finding(
                    "mtu", spec.name, f"{who}: network {name} has MTU {net.mtu}, its device {dev.name} {mtu}"
                )
            )
    return findings


def _firewall(plan: Plan, result: NodeResult, vips: Mapping[str, IPAddress]) -> None:
    devices = result.devices or ()
    bindings = []
    for name, iface in result.addresses.items():
        dev = next((d for d, _ in walk(devices) if any(a.ip == iface.ip for a in d.addresses)), None)
        if dev is None:
            continue
        primary = plan.primary_role()
        holds = primary is not None and result.spec.role == primary.name
        extra = (vips[name],) if name in vips and holds else ()
        dev_name = dev.name
        if result.spec.nics:
            dev_name = resolve_nics({"name": dev.name}, result.spec.nics, result.spec.name)["name"]
        bindings.append(Binding(name, dev_name, (iface.ip, *extra)))
    role = plan.role(result.spec.role)
    bridged = [(s, pattern) for s in role.services for pattern in plan.bridged.get(s, ())]
    result.firewall = render_ruleset(result.spec.name, role.services, plan.services, bindings, bridged)


def _hosts(plan: Plan, results: Sequence[NodeResult]) -> list[HostView]:
    vlan_segments = {n.vlan: n.name for n in plan.enabled() if n.vlan is not None}

    def by_address(addr: IPAddress) -> str | None:
        net = subnet_of(plan, addr)
        return net.name if net else None

    hosts = []
    for result in results:
        if result.devices is None:
            continue
        wiring = {
            f"nic{i + 1}": seg
            for i, seg in enumerate(result.spec.wiring.get(n, "") for n in result.spec.nics)
        }
        wiring = {k: v for k, v in wiring.items() if v}
        devices = tuple(layer3(result.devices, wiring, vlan_segments, by_address))
        hosts.append(HostView(result.spec.name, result.spec.role, devices, plan.firewall))
    return hosts


def _proof(
    plan: Plan, results: Sequence[NodeResult]
) -> tuple[list[Flow], dict[tuple[str, str], bool], list[Finding]]:
    hosts = _hosts(plan, results)
    targets = [Target(r.spec.name, net, iface.ip) for r in results for net, iface in r.addresses.items()]
    flows = matrix(hosts, targets)
    joined = {r.spec.name: set(r.addresses) for r in results}
    required: dict[tuple[str, str], bool] = {}
    findings = []
    for flow in flows:
        need = flow.target.network in joined[flow.source]
        required[(flow.source, str(flow.target.address))] = need
        t = flow.target
        if need and not flow.reachable:
            why = f"required flow missing: {flow.source} cannot reach {t.node} {t.network} {t.address}"
            findings.append(Finding("isolation", flow.source, f"{why} ({flow.reason})"))
        elif not need and flow.reachable:
            why = f"forbidden flow: {flow.source} (no {t.network}) reaches {t.node} {t.network} {t.address}"
            findings.append(Finding("isolation", flow.source, f"{why} ({flow.reason})"))
    return flows, required, findings


def validate(plan: Plan, renderer: NicRenderer | None = None, allocator: Allocator | None = None) -> Report:
    """Run every check on ``plan``; the report's ``findings`` are empty when the plan is sound."""
    findings = plan_checks(plan)
    failed = {f.subject for f in findings if f.check in ("pool-capacity", "allocation-pools", "cidr-overlap")}
    try:
        results, vips = _allocate(plan, allocator or MemoryAllocator(), failed)
    except OperationError as exc:
        findings.append(Finding("pool-capacity", "IPAM", str(exc)))
        return Report(plan, findings, [], {}, [], {})
    findings += _render(plan, results, renderer)
    for result in results:
        if result.config is not None:
            findings += _nic_findings(plan, result)
            if result.devices is not None:
                _firewall(plan, result, vips)
    flows, required, proof = _proof(plan, [r for r in results if r.devices is not None])
    return Report(plan, findings + proof, results, vips, flows, required)


def resolved_config(result: NodeResult) -> Any:
    """The node's NIC config with nicN replaced by its NIC names (what the node-side applier takes)."""
    if not result.spec.nics:
        return result.config
    return resolve_nics(result.config, result.spec.nics, result.spec.name)


def write_plan(report: Report, out: Path, netns: Callable[[str], str | None] = lambda _: None) -> Path:
    """Write each node's resolved NIC config and firewall rules under ``out/<node>/`` and the network plan
    (nodes, addresses, VIPs, the proof's matrix) that ``validate network`` measures against.

    :param netns: a node's lab network namespace, when it is a lab node (pings then run inside it).
    """
    out.mkdir(parents=True, exist_ok=True)
    nodes = []
    for result in report.nodes:
        node_dir = out / result.spec.name
        node_dir.mkdir(exist_ok=True)
        config = json.dumps({"network_config": resolved_config(result)}, indent=2)
        (node_dir / "network_config.json").write_text(config)
        (node_dir / "firewall.nft").write_text(result.firewall or "")
        entry: dict[str, Any] = {
            "name": result.spec.name,
            "role": result.spec.role,
            "ctlplane": str(result.addresses["ctlplane"].ip) if "ctlplane" in result.addresses else None,
            "addresses": {k: str(v) for k, v in result.addresses.items()},
        }
        namespace = netns(result.spec.name)
        if namespace:
            entry["netns"] = namespace
        nodes.append(entry)
    matrix = [
        {
            "source": f.source,
            "target": f.target.node,
            "network": f.target.network,
            "address": str(f.target.address),
            "proof": f.reachable,
        }
        for f in report.flows
    ]
    path = out / "network-plan.json"
    vips = {k: str(v) for k, v in report.vips.items()}
    path.write_text(json.dumps({"nodes": nodes, "vips": vips, "matrix": matrix}, indent=2))
    return path
