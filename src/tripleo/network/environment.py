"""The network plan of a deployment: network_data + roles_data + environments -> networks, roles, nodes.

Environments speak THT's parameter names; this module translates them at the edge, with explicit maps:

- per network ``<Name>NetCidr``, ``<Name>AllocationPools``, ``<Name>NetworkVlanID``, ``<Name>Mtu``,
  ``<Name>InterfaceDefaultRoute`` (gateway), ``<Name>VirtualFixedIPs`` (``PublicVirtualFixedIPs`` for
  External); for ctlplane ``ControlPlaneSubnetCidr`` (prefix), ``ControlPlaneDefaultRoute``,
  ``ControlFixedIPs``
- per role ``<Role>Count``, ``<Role>IPs`` (ips-from-pool), ``<Role>NetworkConfigTemplate`` (Jinja2)
- ``resource_registry``: ``OS::TripleO::Network::<Name>`` (noop disables, ``*_v6.yaml`` means IPv6),
  ``OS::TripleO::<Role>::Ports::<Name>Port`` (noop: the role does not join it) and
  ``OS::TripleO::<Role>::Net::SoftwareConfig`` (a Heat NIC template)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tripleo.errors import InputError
from tripleo.network.model import (
    CTLPLANE,
    IPAddress,
    Network,
    Role,
    ServicePort,
    load_network_data,
    load_roles_data,
    load_services,
    parse_pools,
)

__all__ = ["Environment", "NodeSpec", "Plan", "load_plan"]

_NOOP = ("noop.yaml", "OS::Heat::None")


@dataclass
class Environment:
    """The merged environment the network plan reads: parameters (parameter_defaults, then parameters on
    top), the registry with template paths made absolute, and the directory of the file that set each
    parameter. It is made from the engine's one merge of the ``-e`` files (parameter_merge_strategies
    included), by ``tripleo.workflows.services.network_environment``, so the network checks and the IPAM
    see the plan the stack deploys."""

    parameters: dict[str, Any] = field(default_factory=dict)
    registry: dict[str, str] = field(default_factory=dict)
    origin: dict[str, Path] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class NodeSpec:
    """One node of the plan: its role, its NIC names in inspection order and, where known, which
    network segment each NIC is cabled to (the lab knows; real hosts are assumed cabled as configured)."""

    name: str
    role: str
    index: int
    nics: tuple[str, ...] = ()
    wiring: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """Everything the checks and the renderer need, with where each value came from."""

    networks: tuple[Network, ...]
    roles: tuple[Role, ...]
    nodes: tuple[NodeSpec, ...]
    env: Environment
    services: Mapping[str, tuple[ServicePort, ...]]
    predictable: Mapping[str, Mapping[str, tuple[str, ...]]]
    vips: Mapping[str, tuple[str, ...]]
    firewall: bool = True
    bridged: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # service -> bridges it forwards

    def network(self, name: str) -> Network | None:
        return next((n for n in self.networks if n.name == name or n.name_lower == name), None)

    def enabled(self) -> tuple[Network, ...]:
        return tuple(n for n in self.networks if n.enabled)

    def role(self, name: str) -> Role:
        return next(r for r in self.roles if r.name == name)

    def primary_role(self) -> Role | None:
        """The role holding the VIPs: the one tagged ``primary`` in roles_data, else the first (TripleO)."""
        tagged = [r for r in self.roles if "primary" in r.tags] or list(self.roles)
        return tagged[0] if tagged else None

    def role_networks(self, role: Role) -> tuple[Network, ...]:
        nets = [self.network(CTLPLANE), *(self.network(n) for n in role.networks)]
        return tuple(n for n in nets if n is not None and n.enabled)


def _param_name(net: Network) -> str:
    return "ControlPlane" if net.name == CTLPLANE else net.name


def _network_overrides(net: Network, env: Environment) -> Network:
    """Apply one network's parameters and registry entry."""
    params, prefix = env.parameters, _param_name(net)
    reg = env.registry.get(f"OS::TripleO::Network::{net.name}")
    if reg is not None:
        ipv6 = reg.endswith("_v6.yaml")
        net = replace(net, enabled=not reg.endswith(_NOOP), ipv6=ipv6 and net.v6 is not None)
    sub = net.subnet
    where = f"parameter_defaults.{prefix}"
    if f"{prefix}NetCidr" in params:
        try:
            sub = replace(sub, cidr=ipaddress.ip_network(str(params[f"{prefix}NetCidr"]), strict=True))
        except ValueError as exc:
            raise InputError(f"network {net.name}: {prefix}NetCidr {exc}", path=f"{where}NetCidr") from None
    if net.name == CTLPLANE and "ControlPlaneSubnetCidr" in params:
        text = f"{sub.cidr.network_address}/{params['ControlPlaneSubnetCidr']}"
        try:
            sub = replace(sub, cidr=ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise InputError(f"ControlPlaneSubnetCidr {text!r} is not a prefix length") from None
    if f"{prefix}AllocationPools" in params:
        sub = replace(
            sub, pools=parse_pools(params[f"{prefix}AllocationPools"], None, f"{where}AllocationPools")
        )
    gateway_key = "ControlPlaneDefaultRoute" if net.name == CTLPLANE else f"{prefix}InterfaceDefaultRoute"
    if params.get(gateway_key):
        try:
            sub = replace(sub, gateway=ipaddress.ip_address(str(params[gateway_key])))
        except ValueError:
            raise InputError(f"{gateway_key} {params[gateway_key]!r} is not an address") from None
    changes: dict[str, Any] = {"v6" if net.ipv6 and net.v6 is not None else "v4": sub}
    if f"{prefix}NetworkVlanID" in params:
        changes["vlan"] = params[f"{prefix}NetworkVlanID"]
    if f"{prefix}Mtu" in params:
        changes["mtu"] = params[f"{prefix}Mtu"]
    return replace(net, **changes)


def _role_overrides(role: Role, env: Environment, networks: Sequence[Network]) -> Role:
    params = env.parameters
    count = params.get(f"{role.name}Count", role.count)
    if isinstance(count, str) and count.isdigit():
        count = int(count)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InputError(f"role {role.name}: {role.name}Count {count!r} is not a count")
    nets = list(role.networks)
    for net in networks:
        for alias in role.names:
            reg = env.registry.get(f"OS::TripleO::{alias}::Ports::{net.name}Port")
            if reg is None:
                continue
            if reg.endswith(_NOOP) and net.name in nets:
                nets.remove(net.name)
            elif not reg.endswith(_NOOP) and net.name not in nets:
                nets.append(net.name)
    template = role.nic_template
    heat = env.registry.get(f"OS::TripleO::{role.name}::Net::SoftwareConfig")
    if heat and not heat.endswith(_NOOP):
        template = heat
    key = f"{role.name}NetworkConfigTemplate"
    if params.get(key):
        template = str(env.origin.get(key, Path.cwd()) / str(params[key]))
    return replace(role, count=count, networks=tuple(nets), nic_template=template)


def _predictable(roles: Sequence[Role], env: Environment) -> dict[str, dict[str, tuple[str, ...]]]:
    """ips-from-pool: ``<Role>IPs: {internal_api: [addresses]}`` per role."""
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for role in roles:
        for key in role.ips_params:
            value = env.parameters.get(key)
            if value is None:
                continue
            if not isinstance(value, Mapping):
                raise InputError(f"role {role.name}: {key} must map network to a list of addresses")
            out[role.name] = {str(k): tuple(str(a) for a in (v or [])) for k, v in value.items()}
    return out


def _vips(networks: Sequence[Network], env: Environment) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for net in networks:
        keys = ["ControlFixedIPs"] if net.name == CTLPLANE else [f"{net.name}VirtualFixedIPs"]
        if net.name_lower == "external":
            keys.append("PublicVirtualFixedIPs")
        for key in keys:
            value = env.parameters.get(key)
            if isinstance(value, list):
                out[net.name] = tuple(
                    str(v.get("ip_address") if isinstance(v, Mapping) else v) for v in value
                )
    return out


def default_nodes(roles: Sequence[Role]) -> tuple[NodeSpec, ...]:
    """``<role>-<index>`` nodes for every role's count (no NIC names or wiring known)."""
    return tuple(
        NodeSpec(f"{role.name.lower()}-{i}", role.name, i) for role in roles for i in range(role.count)
    )


def load_plan(
    env: Environment | None = None,
    *,
    network_data: Path | None = None,
    roles_data: Path | None = None,
    services: Path | None = None,
    nodes: Sequence[NodeSpec] | None = None,
) -> Plan:
    """Build the plan from a merged environment; ``nodes`` (e.g. the lab's, with wiring) replaces the roles'
    counts."""
    env = env if env is not None else Environment()
    networks = tuple(_network_overrides(n, env) for n in load_network_data(network_data))
    roles = tuple(_role_overrides(r, env, networks) for r in load_roles_data(roles_data))
    if nodes is not None:
        known = {r.name for r in roles}
        for node in nodes:
            if node.role not in known:
                raise InputError(
                    f"node {node.name}: unknown role {node.role!r} (roles: {', '.join(sorted(known))})"
                )
        roles = tuple(replace(r, count=sum(1 for n in nodes if n.role == r.name)) for r in roles)
    firewall = env.parameters.get("ManageFirewall", True)
    return Plan(
        networks=networks,
        roles=roles,
        nodes=tuple(nodes) if nodes is not None else default_nodes(roles),
        env=env,
        services=load_services(services) if services else {},
        predictable=_predictable(roles, env),
        vips=_vips(networks, env),
        firewall=firewall not in (False, "false", "False", 0),
    )


def subnet_of(plan: Plan, address: IPAddress) -> Network | None:
    """The enabled network whose subnet holds ``address``."""
    for net in plan.enabled():
        if address.version == net.cidr.version and address in net.cidr:
            return net
    return None
