"""Render THT's Heat NIC templates with the engine (a workflow: it binds the engine and the network layers).

All nodes' templates are previewed in one wrapper stack: one ``<template>`` resource per node whose
properties are the node's addresses and the plan's values under THT's parameter names (only those the
template declares). The StructuredConfig's ``os_net_config.network_config`` is the NIC config;
``get_input`` values (``bridge_name``, ``interface_name``) are filled as the deployment would.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from tripleo import boundedyaml
from tripleo.engine import load_tree, summarise
from tripleo.errors import InputError
from tripleo.network.model import CTLPLANE
from tripleo.network.render import NicRequest, NodeContext, template_values

__all__ = ["HeatNicRenderer", "heat_parameters"]


def heat_parameters(ctx: NodeContext) -> dict[str, Any]:
    """The node's values under THT's NIC template parameter names."""
    values = template_values(ctx)
    out: dict[str, Any] = {
        "ControlPlaneIp": values.get("ctlplane_ip", ""),
        "ControlPlaneSubnetCidr": str(values.get("ctlplane_subnet_cidr") or "24"),
        "DnsServers": values["dns_servers"],
    }
    for net in ctx.networks:
        if net.name == CTLPLANE:
            continue
        out[f"{net.name}IpSubnet"] = values.get(f"{net.name_lower}_ip_subnet", "")
        if net.vlan is not None:
            out[f"{net.name}NetworkVlanID"] = net.vlan
    for key, value in (
        ("ExternalInterfaceDefaultRoute", values.get("external_gateway_ip")),
        ("ControlPlaneDefaultRoute", values.get("ctlplane_gateway_ip")),
        ("EC2MetadataIp", values.get("ec2_metadata_ip")),
        ("BondInterfaceOvsOptions", values.get("bond_interface_ovs_options")),
    ):
        if value is not None:
            out[key] = value
    return out


def _declared(template: str) -> set[str]:
    try:
        data = boundedyaml.safe_load(Path(template).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read NIC template: {exc}", file=template) from exc
    params = data.get("parameters") if isinstance(data, dict) else None
    return set(params or {})


def _fill_inputs(value: Any, inputs: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_fill_inputs(v, inputs) for v in value]
    if isinstance(value, dict):
        if set(value) == {"get_input"} and value["get_input"] in inputs:
            return inputs[value["get_input"]]
        return {k: _fill_inputs(v, inputs) for k, v in value.items()}
    return value


class HeatNicRenderer:
    """A :class:`tripleo.network.render.NicRenderer` for Heat NIC templates, through the engine's preview."""

    def __init__(self, environments: Sequence[str] = ()) -> None:
        self.environments = list(environments)

    def render(self, requests: Sequence[NicRequest]) -> list[Any]:
        resources = {}
        for i, req in enumerate(requests):
            declared = _declared(req.template)
            props = {k: v for k, v in heat_parameters(req.context).items() if k in declared}
            resources[f"Node{i}"] = {"type": str(Path(req.template).resolve()), "properties": props}
        wrapper = {"heat_template_version": "2015-04-30", "resources": resources}
        with tempfile.TemporaryDirectory(prefix="tripleo-nic-") as tmp:
            path = Path(tmp) / "nic-configs.yaml"
            path.write_text(yaml.safe_dump(wrapper))
            tree = summarise(load_tree(str(path), self.environments, {}, preview=True), preview=True)
        found: dict[str, Any] = {}
        for res in tree["resources"]:
            top = res["path"].split("/")[0]
            config = (res.get("properties") or {}).get("config")
            if (
                res["type"] == "OS::Heat::StructuredConfig"
                and isinstance(config, dict)
                and "os_net_config" in config
            ):
                found[top] = config["os_net_config"].get("network_config")
        out = []
        for i, req in enumerate(requests):
            if f"Node{i}" not in found:
                raise InputError(
                    f"role {req.context.role}: {req.template} has no StructuredConfig with os_net_config"
                )
            inputs = {"bridge_name": template_values(req.context)["bridge_name"], "interface_name": "nic1"}
            out.append(_fill_inputs(found[f"Node{i}"], inputs))
        return out
