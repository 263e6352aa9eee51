"""Per-node NIC configs from per-role templates.

The project's own NIC templates are Jinja2 over os-net-config YAML (as TripleO's later ``*.j2`` NIC
templates are), fed a node's addresses. Heat NIC templates
(THT's ``OS::TripleO::<Role>::Net::SoftwareConfig``)
are rendered by an injected :class:`NicRenderer` (the engine lives in another layer; the CLI binds it).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import jinja2
import yaml

from tripleo import boundedyaml
from tripleo.errors import InputError
from tripleo.network.model import CTLPLANE, Network

__all__ = ["NicRenderer", "NicRequest", "NodeContext", "is_jinja", "render_jinja", "template_values"]


@dataclass(frozen=True)
class NodeContext:
    """What a NIC template may use about one node: its addresses per network and the plan's settings."""

    node: str
    role: str
    role_networks: tuple[str, ...]
    addresses: Mapping[str, ipaddress.IPv4Interface | ipaddress.IPv6Interface]
    networks: tuple[Network, ...]
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NicRequest:
    """Render ``template`` for one node."""

    context: NodeContext
    template: str


class NicRenderer(Protocol):
    """Renders Heat NIC templates to os-net-config ``network_config`` lists, one per request."""

    def render(self, requests: Sequence[NicRequest]) -> list[Any]: ...


def is_jinja(template: str) -> bool:
    return ".j2" in Path(template).name


def _gateway(net: Network) -> str | None:
    return str(net.subnet.gateway) if net.subnet.gateway else None


def template_values(ctx: NodeContext) -> dict[str, Any]:
    """The Jinja variables: ``<name_lower>_ip``, ``_cidr`` (prefix length), ``_ip_subnet``, ``_vlan_id``,
    ``_mtu``, ``_gateway_ip`` per network (addresses only for the node's networks), ``ctlplane_subnet_cidr``,
    ``role_networks``, ``dns_servers``, ``ec2_metadata_ip``, ``bridge_name``, ``external_gateway_ip``, and
    ``bond_interface_ovs_options`` when the environments set it."""
    params = ctx.parameters
    values: dict[str, Any] = {
        "node": ctx.node,
        "role": ctx.role,
        "role_networks": [n for n in ctx.role_networks if n != CTLPLANE],
        "dns_servers": list(params.get("DnsServers") or []),
        "bridge_name": params.get("NeutronPhysicalBridge", "br-ex"),
        "networks": {},
    }
    by_name = {n.name: n for n in ctx.networks}
    for net in ctx.networks:
        key = net.name_lower
        values[f"{key}_vlan_id"] = net.vlan
        values[f"{key}_mtu"] = net.mtu
        values[f"{key}_gateway_ip"] = _gateway(net)
        values[f"{key}_cidr"] = net.cidr.prefixlen
        entry: dict[str, Any] = {
            "name_lower": key,
            "vlan_id": net.vlan,
            "mtu": net.mtu,
            "gateway_ip": _gateway(net),
        }
        iface = ctx.addresses.get(net.name)
        if iface is not None:
            values[f"{key}_ip"] = str(iface.ip)
            values[f"{key}_ip_subnet"] = str(iface)
            entry.update(ip=str(iface.ip), cidr=iface.network.prefixlen, ip_subnet=str(iface))
        values["networks"][net.name] = entry
    values["ctlplane_subnet_cidr"] = values.get("ctlplane_cidr")
    ctl = by_name.get(CTLPLANE)
    values["ec2_metadata_ip"] = params.get("EC2MetadataIp") or (_gateway(ctl) if ctl else None)
    values["ctlplane_gateway_ip"] = params.get("ControlPlaneDefaultRoute") or values.get(
        "ctlplane_gateway_ip"
    )
    ext = next((n for n in ctx.networks if n.name_lower == "external"), None)
    values["external_gateway_ip"] = _gateway(ext) if ext else None
    if "BondInterfaceOvsOptions" in params:
        values["bond_interface_ovs_options"] = params["BondInterfaceOvsOptions"]
    return values


def _environment(search: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(search)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["to_json"] = json.dumps
    return env


def render_jinja(template: str, ctx: NodeContext) -> Any:
    """Render a Jinja2 NIC template for one node and parse the YAML it yields.

    :raises InputError: a missing template, a Jinja error (with the line) or YAML that does not parse.
    """
    path = Path(template)
    try:
        text = _environment(path.parent).get_template(path.name).render(**template_values(ctx))
    except jinja2.TemplateNotFound:
        raise InputError(f"NIC template {template} not found (role {ctx.role})", file=template) from None
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(f"line {exc.lineno}: {exc.message}", file=template) from None
    except jinja2.UndefinedError as exc:
        raise InputError(f"role {ctx.role}, node {ctx.node}: {exc.message}", file=template) from None
    try:
        data = boundedyaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"rendered for node {ctx.node}: invalid YAML: {exc}", file=template) from None
    if isinstance(data, Mapping) and "network_config" in data:
        return data["network_config"]
    return data
