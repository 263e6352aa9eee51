"""Offline checks of a network plan's numbers: CIDRs, gateways, pools, VLANs, MTUs, VIPs, fixed IPs, roles.

Each check returns findings that name the network, role or node and the value at fault.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from tripleo.network.environment import Plan
from tripleo.network.model import CTLPLANE, Network

__all__ = ["CHECKS", "Finding", "plan_checks"]


@dataclass(frozen=True)
class Finding:
    """A failed check: ``check`` is its name, ``subject`` the network, role or node at fault."""

    check: str
    subject: str
    message: str


CHECKS = (
    "cidr-overlap",
    "gateway",
    "allocation-pools",
    "pool-capacity",
    "vlan",
    "mtu",
    "vip",
    "fixed-ips",
    "role-networks",
    "nic-config",
    "nic-networks",
    "isolation",
)


def _overlaps(plan: Plan) -> Iterator[Finding]:
    nets = plan.enabled()
    for i, a in enumerate(nets):
        for b in nets[i + 1 :]:
            if a.cidr.version == b.cidr.version and a.cidr.overlaps(b.cidr):
                yield Finding(
                    "cidr-overlap", a.name, f"network {a.name} {a.cidr} overlaps network {b.name} {b.cidr}"
                )


def _gateways(plan: Plan) -> Iterator[Finding]:
    for net in plan.enabled():
        sub = net.subnet
        gw = sub.gateway
        if gw is not None and (gw.version != sub.cidr.version or gw not in sub.cidr):
            yield Finding(
                "gateway", net.name, f"network {net.name}: gateway {gw} is outside its subnet {sub.cidr}"
            )
        elif gw is not None and sub.in_pools(gw):
            yield Finding(
                "gateway", net.name, f"network {net.name}: gateway {gw} lies inside an allocation pool"
            )
        for dest, hop in sub.routes:
            if ipaddress.ip_address(hop) not in sub.cidr:
                yield Finding(
                    "gateway", net.name, f"network {net.name}: route to {dest} via {hop}, outside {sub.cidr}"
                )


def _pools(plan: Plan) -> Iterator[Finding]:
    for net in plan.enabled():
        sub = net.subnet
        if not sub.pools:
            yield Finding("allocation-pools", net.name, f"network {net.name} has no allocation pool")
        for pool in sub.pools:
            if (
                pool.start.version != sub.cidr.version
                or pool.start not in sub.cidr
                or pool.end not in sub.cidr
            ):
                yield Finding(
                    "allocation-pools",
                    net.name,
                    f"network {net.name}: allocation pool {pool} is outside {sub.cidr}",
                )
            elif int(pool.start) > int(pool.end):
                yield Finding(
                    "allocation-pools",
                    net.name,
                    f"network {net.name}: allocation pool {pool} ends before it starts",
                )
        ordered = sorted((p for p in sub.pools if int(p.start) <= int(p.end)), key=lambda p: int(p.start))
        for a, b in itertools.pairwise(ordered):
            if int(b.start) <= int(a.end):
                yield Finding(
                    "allocation-pools", net.name, f"network {net.name}: allocation pools {a} and {b} overlap"
                )


def _users(plan: Plan, net: Network) -> dict[str, int]:
    return {r.name: r.count for r in plan.roles if r.count and net in plan.role_networks(r)}


def needs_vip(plan: Plan, net: Network) -> bool:
    primary = plan.primary_role()
    return net.vip and primary is not None and bool(primary.count) and net in plan.role_networks(primary)


def _capacity(plan: Plan) -> Iterator[Finding]:
    for net in plan.enabled():
        sub = net.subnet
        users = _users(plan, net)
        fixed = 0
        for role, count in users.items():
            listed = plan.predictable.get(role, {}).get(net.name_lower, ())
            fixed += sum(1 for a in listed[:count] if not sub.in_pools(ipaddress.ip_address(a)))
        vips = 1 if needs_vip(plan, net) and not plan.vips.get(net.name) else 0
        need = sum(users.values()) - fixed + vips
        size = sub.pool_size - (1 if sub.gateway is not None and sub.in_pools(sub.gateway) else 0)
        if need > size:
            parts = ", ".join(f"{r} {c}" for r, c in users.items()) + (", VIP 1" if vips else "")
            yield Finding(
                "pool-capacity",
                net.name,
                f"network {net.name}: allocation pools {', '.join(map(str, sub.pools)) or 'none'} "
                f"hold {size} "
                f"addresses, {need} needed ({parts})",
            )


def _vlans(plan: Plan) -> Iterator[Finding]:
    seen: dict[int, str] = {}
    for net in plan.enabled():
        if net.vlan is None or net.name == CTLPLANE:
            continue
        if isinstance(net.vlan, bool) or not isinstance(net.vlan, int) or not 1 <= net.vlan <= 4094:
            yield Finding("vlan", net.name, f"network {net.name}: VLAN id {net.vlan!r} is not 1..4094")
        elif net.vlan in seen:
            yield Finding(
                "vlan",
                net.name,
                f"network {net.name}: VLAN id {net.vlan} is already used by network {seen[net.vlan]}",
            )
        else:
            seen[net.vlan] = net.name


def _mtus(plan: Plan) -> Iterator[Finding]:
    for net in plan.enabled():
        low = 1280 if net.cidr.version == 6 else 576
        if isinstance(net.mtu, bool) or not isinstance(net.mtu, int) or not low <= net.mtu <= 9216:
            yield Finding("mtu", net.name, f"network {net.name}: MTU {net.mtu!r} is not {low}..9216")


def _vip_checks(plan: Plan) -> Iterator[Finding]:
    for name, addresses in plan.vips.items():
        net = plan.network(name)
        if net is None or not net.enabled:
            continue
        for text in addresses:
            try:
                addr = ipaddress.ip_address(text)
            except ValueError:
                yield Finding("vip", name, f"network {name}: VIP {text!r} is not an IP address")
                continue
            if addr.version != net.cidr.version or addr not in net.cidr:
                yield Finding("vip", name, f"network {name}: VIP {addr} is outside its subnet {net.cidr}")
            elif not net.subnet.in_pools(addr):
                pools = ", ".join(map(str, net.subnet.pools))
                yield Finding(
                    "vip", name, f"network {name}: VIP {addr} is outside its allocation pools ({pools})"
                )


def _fixed_ips(plan: Plan) -> Iterator[Finding]:
    owners: dict[str, str] = {}
    for role_name, by_net in plan.predictable.items():
        role = plan.role(role_name)
        for key, addresses in by_net.items():
            net = plan.network(key)
            if net is None or net not in plan.role_networks(role):
                yield Finding(
                    "fixed-ips",
                    role_name,
                    f"role {role_name}: {role_name}IPs lists {key}, not a network of the role",
                )
                continue
            if 0 < len(addresses) < role.count:
                yield Finding(
                    "fixed-ips", role_name,
                    f"role {role_name}: {len(addresses)} {key} addresses for {role.count} nodes",
                )  # fmt: skip
            for text in addresses:
                try:
                    addr = ipaddress.ip_address(text)
                except ValueError:
                    yield Finding(
                        "fixed-ips",
                        role_name,
                        f"role {role_name}: {key} address {text!r} is not an IP address",
                    )
                    continue
                if addr.version != net.cidr.version or addr not in net.cidr:
                    yield Finding(
                        "fixed-ips",
                        role_name,
                        f"role {role_name}: {key} address {addr} is outside {net.cidr}",
                    )
                elif str(addr) in owners:
                    yield Finding(
                        "fixed-ips",
                        role_name,
                        f"role {role_name}: {key} address {addr} also given to {owners[str(addr)]}",
                    )
                owners[str(addr)] = role_name


def _role_networks(plan: Plan) -> Iterator[Finding]:
    for role in plan.roles:
        for name in role.networks:
            net = plan.network(name)
            if net is None:
                yield Finding("role-networks", role.name, f"role {role.name}: unknown network {name!r}")
        joined = {n.name for n in plan.role_networks(role)}
        for service in role.services:
            for rule in plan.services.get(service, ()):
                net = plan.network(rule.network)
                if net is not None and net.enabled and net.name not in joined:
                    yield Finding(
                        "role-networks", role.name,
                        f"role {role.name}: service {service} listens on {net.name}, "
                        "which the role does not join",
                    )  # fmt: skip
            if service not in plan.services:
                yield Finding(
                    "role-networks",
                    role.name,
                    f"role {role.name}: service {service!r} is not in the service map",
                )


def plan_checks(plan: Plan) -> list[Finding]:
    """Every check that needs only the plan's numbers (no NIC configs)."""
    findings: list[Finding] = []
    for check in (
        _overlaps,
        _gateways,
        _pools,
        _capacity,
        _vlans,
        _mtus,
        _vip_checks,
        _fixed_ips,
        _role_networks,
    ):
        findings.extend(check(plan))
    return findings
