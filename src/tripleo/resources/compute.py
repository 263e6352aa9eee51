"""OS::Nova::Server and OS::Neutron::Net / Subnet / Port, with two backends.

``noop``: nothing is touched; attributes are plausible and stable (derived from the physical id), for
planning and benchmarks. ``real``: servers are scheduled on available bare-metal nodes and provisioned
through their driver (``tripleo.baremetal``), ports get addresses from the IPAM (``tripleo.network``).
"""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Any

from tripleo.engine.state import ActionContext, Outcome
from tripleo.resources.base import PluginBase

__all__ = ["DeployedServer", "KeyPair", "NoopNet", "NoopPort", "NoopServer", "NoopSubnet", "fake_address",
           "fake_mac"]  # fmt: skip

_DOC_NET = ipaddress.ip_network("192.0.2.0/24")


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def fake_address(seed: str, cidr: str | None = None) -> str:
    """A stable, plausible host address inside ``cidr`` (TEST-NET-1 by default)."""
    net = ipaddress.ip_network(cidr or _DOC_NET, strict=False)
    hosts = max(1, net.num_addresses - 3)
    offset = int.from_bytes(_digest(seed)[:8], "big") % hosts + 2
    return str(net.network_address + offset)


def fake_mac(seed: str) -> str:
    raw = _digest(seed)[:5]
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in raw[:3])


class NoopServer(PluginBase):
    """A server that is never built; ``name``, ``first_address`` and ``networks`` look real."""

    type_name = "OS::Nova::Server"

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        address = fake_address(ctx.physical_id)
        name = props.get("name") or ctx.name
        return Outcome(
            {
                "name": name,
                "first_address": address,
                "networks": {"ctlplane": [address]},
                "addresses": {"ctlplane": [{"addr": address, "version": 4}]},
                "os_collect_config": {},
                "show": {"id": ctx.physical_id, "name": name, "status": "ACTIVE"},
            }
        )


class NoopNet(PluginBase):
    type_name = "OS::Neutron::Net"

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        return Outcome({"name": props.get("name") or ctx.name, "subnets": [], "status": "ACTIVE"})


class NoopSubnet(PluginBase):
    type_name = "OS::Neutron::Subnet"

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        cidr = str(props.get("cidr") or _DOC_NET)
        net = ipaddress.ip_network(cidr, strict=False)
        gateway = props.get("gateway_ip") or str(net.network_address + 1)
        return Outcome({"name": props.get("name") or ctx.name, "cidr": cidr, "gateway_ip": gateway,
                        "ip_version": net.version, "network_id": props.get("network")})  # fmt: skip


class NoopPort(PluginBase):
    type_name = "OS::Neutron::Port"

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        fixed = (props.get("fixed_ips") or [{}])[0] or {}
        address = fixed.get("ip_address") or fake_address(ctx.physical_id)
        cidr = str(ipaddress.ip_network(f"{address}/24", strict=False))
        subnet = {"cidr": cidr, "gateway_ip": fake_address("gw", cidr), "ip_version": 4}
        return Outcome(
            {
                "name": props.get("name") or ctx.name,
                "ip_address": address,
                "fixed_ips": [{"ip_address": address, "subnet_id": fixed.get("subnet") or "subnet"}],
                "subnets": [subnet],
                "mac_address": fake_mac(ctx.physical_id),
                "network_id": props.get("network") or props.get("network_id"),
                "status": "ACTIVE",
            }
        )


class DeployedServer(PluginBase):
    """OS::Heat::DeployedServer: a server provisioned before the stack (Wallaby's metalsmith step), in
    every backend: nothing to build, its name and (empty) collect config as attributes."""

    type_name = "OS::Heat::DeployedServer"
    pure = True

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        name = props.get("name") or ctx.name
        return Outcome({"name": name, "networks": {}, "addresses": {}, "os_collect_config": {},
                        "show": {"id": ctx.physical_id, "name": name}})  # fmt: skip


class KeyPair(PluginBase):
    """OS::Nova::KeyPair: the public key given (tripleo keeps no key store of its own), in every backend."""

    type_name = "OS::Nova::KeyPair"
    pure = True

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        name = props.get("name") or ctx.name
        return Outcome({"public_key": props.get("public_key") or "", "private_key": "",
                        "show": {"name": name}})  # fmt: skip
