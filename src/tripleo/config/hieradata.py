"""role_data and the deployed nodes -> each node's hieradata, Puppet manifest and HAProxy listeners.

Each node gets three hieradata files, as TripleO's config download writes them:

- ``service_configs``: its role's merged ``config_settings`` (bind addresses read ``%{lookup('<net>')}``);
- ``net_ip_map``: its address on every network (``<name_lower>: ip``), every VIP
  (``<name_lower>_virtual_ip``, and all of them as ``tripleo::virtual_ips``), its hostname, role and services;
- ``all_nodes``: the same for every node: /etc/hosts lines, ``<service>_node_names``,
  ``<service>_node_ips`` and ``<service>_network_node_names`` (their addresses and names on the service's
  network), ``<service>_node_addresses`` (their addresses on every network),
  ``<service>_short_bootstrap_node_name`` (the first node of the first role running it), and the HAProxy
  listeners (``tripleo::profile::base::haproxy::listeners``).

A ``bootstrap_only`` service runs on its bootstrap node only (its Puppet, and its HAProxy backends).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tripleo.config.roledata import VIP_NETWORKS, RoleData, Service
from tripleo.shipped import CTLPLANE

__all__ = [
    "NodeView", "all_nodes", "host_manifest", "listeners", "network_host_name", "node_hieradata", "placement",
]  # fmt: skip

_LISTENERS_KEY = "tripleo::profile::base::haproxy::listeners"


@dataclass(frozen=True)
class NodeView:
    """A deployed node as its configuration needs it: addresses by network name_lower (no prefix)."""

    name: str
    role: str
    index: int
    addresses: Mapping[str, str] = field(default_factory=dict)  # name_lower -> address
    nics: tuple[str, ...] = ()  # the node's NIC names in inspection order (nic1, nic2, ...)


def _short(name: str) -> str:
    return name.split(".")[0]


def network_host_name(name: str, name_lower: str) -> str:
    """The name ``name`` (a node's FQDN) answers to on a network, as /etc/hosts writes it: the node's own name
    on the control plane, ``<short>.<network>.<domain>`` elsewhere (``internalapi``: no underscore in a host
    name)."""
    if name_lower == CTLPLANE:
        return name
    short, _, domain = name.partition(".")
    return f"{short}.{name_lower.replace('_', '')}.{domain or 'localdomain'}"


def _bootstrap(nodes: Sequence[NodeView], roles: Mapping[str, RoleData]) -> dict[str, NodeView]:
    """Service name -> its bootstrap node (the first node of the first role, in roles_data order)."""
    out: dict[str, NodeView] = {}
    for role in roles.values():
        members = sorted((n for n in nodes if n.role == role.role), key=lambda n: n.index)
        for service in role.services:
            if members and service.name not in out:
                out[service.name] = members[0]
    return out


def placement(roles: Mapping[str, RoleData], nodes: Sequence[NodeView]) -> dict[str, list[Service]]:
    """Node name -> the services that run on it: its role's, less the ``bootstrap_only`` ones it is not the
    bootstrap node of. Computed once per deploy; everything below reads it."""
    boot = _bootstrap(nodes, roles)
    out: dict[str, list[Service]] = {}
    for node in nodes:
        role = roles.get(node.role)
        services = role.services if role else ()
        out[node.name] = [s for s in services if not s.bootstrap_only or boot[s.name].name == node.name]
    return out


def host_manifest(services: Sequence[Service]) -> str:
    """The Puppet every deploy step applies on a node running ``services``: their step_config (a
    containerized service's runs in its config container instead)."""
    lines = [s.step_config for s in services if s.step_config and s.container is None]
    return (
        "# the step_config of this node's services (role_data), applied in steps 1..5\n"
        + "\n".join(lines)
        + "\n"
    )


def _service_network(service: Service) -> str | None:
    named = [rule[0] for rule in service.firewall if rule[0] != VIP_NETWORKS]
    return named[0] if named else None


def _runs(placed: Mapping[str, Sequence[Service]], node: NodeView, name: str) -> bool:
    return any(s.name == name for s in placed.get(node.name, ()))


def listeners(
    roles: Mapping[str, RoleData],
    nodes: Sequence[NodeView],
    placed: Mapping[str, Sequence[Service]],
    vips: Mapping[str, str],
) -> list[dict[str, Any]]:
    """HAProxy listeners: every frontend on its networks' VIPs, with each node running the service."""
    out: dict[str, dict[str, Any]] = {}
    for role in roles.values():
        for service in role.services:
            members = [n for n in nodes if n.role == role.role and _runs(placed, n, service.name)]
            for front in service.frontends:
                entry = out.setdefault(front.name, {"name": front.name, "mode": front.mode, "binds": [],
                                                    "servers": [], "one_at_a_time": front.backup,
                                                    "check_port": front.check_port,
                                                    "check_path": front.check_path})  # fmt: skip
                for net in front.networks:
                    bind = f"{vips[net]}:{front.port}" if net in vips else None
                    if bind and bind not in entry["binds"]:
                        entry["binds"].append(bind)
                for node in sorted(members, key=lambda n: n.index):
                    address = node.addresses.get(front.backend_network)
                    if address:
                        backup = front.backup and bool(entry["servers"])
                        entry["servers"].append(
                            {"name": _short(node.name), "ip": address, "port": front.backend_port,
                             "backup": backup}
                        )  # fmt: skip
    return [e for e in out.values() if e["binds"] and e["servers"]]


def all_nodes(
    roles: Mapping[str, RoleData],
    nodes: Sequence[NodeView],
    placed: Mapping[str, Sequence[Service]],
    vips: Mapping[str, str],
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """The hieradata every node shares (see the module docstring); ``extra`` is added as it is."""
    data: dict[str, Any] = dict(extra)
    for service_name, node in sorted(_bootstrap(nodes, roles).items()):
        running = [n for n in nodes if _runs(placed, n, service_name)]
        service = next(s for r in roles.values() for s in r.services if s.name == service_name)
        net = _service_network(service)
        data[f"{service_name}_short_bootstrap_node_name"] = _short(node.name)
        data[f"{service_name}_node_names"] = [n.name for n in running]
        data[f"{service_name}_node_ips"] = [n.addresses[net] for n in running if net and net in n.addresses]
        data[f"{service_name}_node_addresses"] = [dict(sorted(n.addresses.items())) for n in running]
        data[f"{service_name}_network_node_names"] = [
            network_host_name(n.name, net) for n in running if net and net in n.addresses
        ]
    data[_LISTENERS_KEY] = listeners(roles, nodes, placed, vips)
    return data


def node_hieradata(node: NodeView, roles: Mapping[str, RoleData], services: Sequence[Service],
                   vips: Mapping[str, str]) -> dict[str, dict[str, Any]]:  # fmt: skip
    """``service_configs`` and ``net_ip_map`` of one node running ``services`` (``all_nodes`` is shared:
    :func:`all_nodes`)."""
    role = roles.get(node.role)
    net_map: dict[str, Any] = dict(sorted(node.addresses.items()))
    for net, vip in sorted(vips.items()):
        net_map[f"{net}_virtual_ip"] = vip
    net_map["tripleo::virtual_ips"] = dict(sorted(vips.items()))
    net_map["tripleo::hostname"] = node.name
    net_map["tripleo::role"] = node.role
    net_map["tripleo::services"] = [s.name for s in services]
    # what the NIC layout's nicN is on this node, for services that take a NIC by that name
    net_map["tripleo::nic_names"] = {f"nic{i}": nic for i, nic in enumerate(node.nics, 1)}
    return {
        "service_configs": dict(role.config_settings) if role else {},
        "net_ip_map": net_map,
    }
