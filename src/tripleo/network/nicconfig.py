"""The os-net-config document model: parse, validate, resolve nicN names, and the layer-3 view.

A NIC config is os-net-config's ``network_config`` list: interface, vlan, linux_bridge, ovs_bridge,
linux_bond and ovs_bond objects with addresses, routes, mtu, use_dhcp, primary and members. Each type's
keys are declared once in ``_SCHEMA``; parse errors carry the path inside the document.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tripleo.errors import InputError
from tripleo.network.model import IPAddress, IPNetwork

__all__ = [
    "DEFAULT_MTU",
    "Device",
    "L3Device",
    "NicConfigError",
    "RouteSpec",
    "device_name",
    "layer3",
    "parse_network_config",
    "resolve_nics",
    "walk",
]

DEFAULT_MTU = 1500
NIC_NAME = re.compile(r"^nic(\d+)$")
_COMMON = {"type", "name", "use_dhcp", "use_dhcpv6", "addresses", "routes", "mtu", "primary", "defroute",
           "dns_servers", "nic_mapping", "persist_mapping", "onboot", "domain", "ethtool_opts",
           "hotplug"}  # fmt: skip
_SCHEMA: dict[str, set[str]] = {
    "interface": _COMMON,
    "vlan": (_COMMON - {"name"}) | {"vlan_id", "device"},
    "linux_bridge": _COMMON | {"members"},
    "ovs_bridge": _COMMON | {"members", "ovs_options", "ovs_extra", "fail_mode"},
    "linux_bond": _COMMON | {"members", "bonding_options"},
    "ovs_bond": _COMMON | {"members", "ovs_options", "ovs_extra"},
}
# Which member types each container accepts.
_MEMBERS = {
    "linux_bridge": {"interface", "vlan", "linux_bond"},
    "ovs_bridge": {"interface", "vlan", "ovs_bond", "linux_bond"},
    "linux_bond": {"interface"},
    "ovs_bond": {"interface"},
}


class NicConfigError(InputError):
    """A NIC config document is invalid; ``path`` is where inside the document."""


@dataclass(frozen=True)
class RouteSpec:
    """A route: ``destination`` None means the default route."""

    destination: IPNetwork | None
    next_hop: IPAddress | None

    def covers(self, address: IPAddress) -> bool:
        if self.destination is None:
            return self.next_hop is None or self.next_hop.version == address.version
        return address.version == self.destination.version and address in self.destination


@dataclass(frozen=True)
class Device:
    """One os-net-config object (members nested)."""

    type: str
    name: str
    path: str
    addresses: tuple[ipaddress.IPv4Interface | ipaddress.IPv6Interface, ...] = ()
    routes: tuple[RouteSpec, ...] = ()
    mtu: int | None = None
    use_dhcp: bool = False
    primary: bool = False
    members: tuple[Device, ...] = ()
    vlan_id: int | None = None
    device: str | None = None
    options: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _fail(message: str, path: str) -> NicConfigError:
    return NicConfigError(message, path=path)


def _interfaces(value: Any, path: str) -> tuple[ipaddress.IPv4Interface | ipaddress.IPv6Interface, ...]:
    if value in (None, []):
        return ()
    if not isinstance(value, list):
        raise _fail(f"addresses must be a list, got {value!r}", path)
    out = []
    for i, item in enumerate(value):
        text = item.get("ip_netmask") if isinstance(item, Mapping) else None
        if not isinstance(text, str) or "/" not in text:
            raise _fail(f"expected ip_netmask ADDRESS/PREFIX, got {text!r}", f"{path}.{i}.ip_netmask")
        try:
            out.append(ipaddress.ip_interface(text))
        except ValueError:
            raise _fail(f"{text!r} is not an ADDRESS/PREFIX", f"{path}.{i}.ip_netmask") from None
    return tuple(out)


def _route(item: Any, path: str) -> RouteSpec:
    if not isinstance(item, Mapping):
        raise _fail(f"a route must be a mapping, got {item!r}", path)
    hop_text = item.get("next_hop", item.get("nexthop"))
    dest_text = item.get("ip_netmask", item.get("destination"))
    try:
        hop = ipaddress.ip_address(str(hop_text)) if hop_text is not None else None
    except ValueError:
        raise _fail(f"next_hop {hop_text!r} is not an IP address", f"{path}.next_hop") from None
    if item.get("default") or dest_text in ("0.0.0.0/0", "::/0"):
        if hop is None:
            raise _fail("a default route needs a next_hop (got none: is the gateway parameter set?)", path)
        return RouteSpec(None, hop)
    try:
        dest = ipaddress.ip_network(str(dest_text), strict=False)
    except ValueError:
        raise _fail(f"route destination {dest_text!r} is not a network", f"{path}.ip_netmask") from None
    if hop is None:
        raise _fail(f"route to {dest} needs a next_hop", path)
    return RouteSpec(dest, hop)


def _routes(value: Any, path: str) -> tuple[RouteSpec, ...]:
    if value in (None, []):
        return ()
    if not isinstance(value, list):
        raise _fail(f"routes must be a list, got {value!r}", path)
    return tuple(_route(item, f"{path}.{i}") for i, item in enumerate(value))


def _int(value: Any, low: int, high: int, what: str, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(f"{what} {value!r} is not an integer {low}..{high}", path)
    return value


def device_name(item: Mapping[str, Any]) -> str:
    """The kernel name os-net-config gives an object: ``vlan<id>`` for VLANs, else its name."""
    if item.get("type") == "vlan":
        return f"vlan{item.get('vlan_id')}"
    return str(item.get("name"))


def _device(item: Any, path: str, parent: str | None) -> Device:
    if not isinstance(item, Mapping):
        raise _fail(f"expected a mapping, got {item!r}", path)
    kind = item.get("type")
    if kind not in _SCHEMA:
        raise _fail(f"unknown type {kind!r} (expected one of {', '.join(sorted(_SCHEMA))})", f"{path}.type")
    unknown = sorted(set(item) - _SCHEMA[kind])
    if unknown:
        raise _fail(f"{kind} has no key {unknown[0]!r}", f"{path}.{unknown[0]}")
    if kind != "vlan" and (not isinstance(item.get("name"), str) or not item["name"]):
        raise _fail(f"{kind} needs a name, got {item.get('name')!r}", f"{path}.name")
    vlan_id = _int(item.get("vlan_id"), 1, 4094, "vlan_id", f"{path}.vlan_id")
    if kind == "vlan":
        if vlan_id is None:
            raise _fail("vlan needs a vlan_id", path)
        if not item.get("device") and parent is None:
            raise _fail(f"vlan {vlan_id} needs a device (or must be a member of a bridge)", path)
    members = item.get("members") or []
    if not isinstance(members, list):
        raise _fail("members must be a list", f"{path}.members")
    children = tuple(_device(m, f"{path}.members.{i}", device_name(item)) for i, m in enumerate(members))
    for i, child in enumerate(children):
        if child.type not in _MEMBERS.get(kind, set()):
            raise _fail(f"a {kind} cannot have a {child.type} member", f"{path}.members.{i}.type")
    if kind in ("linux_bond", "ovs_bond") and len(children) < 2:
        raise _fail(f"bond {item['name']} needs at least two member interfaces", f"{path}.members")
    if kind == "ovs_bond" and parent is None:
        raise _fail(f"ovs_bond {item['name']} must be a member of an ovs_bridge", path)
    if sum(1 for c in children if c.primary) > 1:
        raise _fail(f"{device_name(item)} has more than one primary member", f"{path}.members")
    options = item.get("ovs_options", item.get("bonding_options", ""))
    return Device(
        type=kind,
        name=device_name(item),
        path=path,
        addresses=_interfaces(item.get("addresses"), f"{path}.addresses"),
        routes=_routes(item.get("routes"), f"{path}.routes"),
        mtu=_int(item.get("mtu"), 68, 65535, "mtu", f"{path}.mtu"),
        use_dhcp=bool(item.get("use_dhcp", False)),
        primary=bool(item.get("primary", False)),
        members=children,
        vlan_id=vlan_id,
        device=str(item["device"]) if item.get("device") else (parent if kind == "vlan" else None),
        options=str(options or ""),
        raw=item,
    )


def walk(devices: Sequence[Device], parent: Device | None = None) -> Iterator[tuple[Device, Device | None]]:
    """Every device with the container it sits in (None at the top level), depth first."""
    for dev in devices:
        yield dev, parent
        yield from walk(dev.members, dev)


def _check_unique(devices: Sequence[Device]) -> None:
    seen: dict[str, str] = {}
    trunks: dict[tuple[str, int], str] = {}
    for dev, _ in walk(devices):
        if dev.type == "vlan" and dev.vlan_id is not None and dev.device is not None:
            key = (dev.device, dev.vlan_id)
            if key in trunks:
                raise _fail(
                    f"duplicate VLAN id {dev.vlan_id} on trunk {dev.device} (also at {trunks[key]})", dev.path
                )
            trunks[key] = dev.path
        if dev.name in seen:
            raise _fail(f"device {dev.name} is defined twice (also at {seen[dev.name]})", dev.path)
        seen[dev.name] = dev.path
    for dev, _ in walk(devices):
        if dev.type == "vlan" and dev.device not in seen:
            raise _fail(
                f"vlan {dev.vlan_id} sits on device {dev.device}, which the config does not define", dev.path
            )


def _effective_mtu(dev: Device) -> int:
    return dev.mtu if dev.mtu is not None else DEFAULT_MTU


def _check_mtu(devices: Sequence[Device]) -> None:
    """A VLAN cannot carry more than its device; a bridge or bond not more than its uplink members."""
    by_name = {d.name: d for d, _ in walk(devices)}
    for dev, _ in walk(devices):
        if dev.type == "vlan" and dev.device in by_name:
            parent = by_name[dev.device]
            if _effective_mtu(dev) > _effective_mtu(parent):
                raise _fail(
                    f"vlan{dev.vlan_id} mtu {_effective_mtu(dev)} is larger than its device {parent.name}'s "
                    f"mtu {_effective_mtu(parent)}",
                    f"{dev.path}.mtu",
                )
        for member in dev.members:
            if member.type != "vlan" and _effective_mtu(dev) > _effective_mtu(member):
                raise _fail(
                    f"{dev.name} mtu {_effective_mtu(dev)} is larger than its member {member.name}'s "
                    f"mtu {_effective_mtu(member)}",
                    f"{dev.path}.mtu",
                )


def parse_network_config(data: Any) -> tuple[Device, ...]:
    """Parse and validate a ``network_config`` list (or a document with ``network_config``).

    :raises NicConfigError: with the path of the object at fault.
    """
    if isinstance(data, Mapping) and "network_config" in data:
        data = data["network_config"]
    if not isinstance(data, list):
        raise _fail(f"network_config must be a list of objects, got {type(data).__name__}", "network_config")
    devices = tuple(_device(item, f"network_config.{i}", None) for i, item in enumerate(data))
    _check_unique(devices)
    _check_mtu(devices)
    return devices


def nic_numbers(devices: Sequence[Device]) -> list[tuple[int, str]]:
    """``(N, path)`` for every ``nicN`` name used."""
    out = []
    for dev, _ in walk(devices):
        match = NIC_NAME.match(dev.name) if dev.type == "interface" else None
        if match:
            out.append((int(match.group(1)), dev.path))
    return out


def resolve_nics(data: Any, nics: Sequence[str], node: str = "the node") -> Any:
    """A copy of a NIC config document with ``nicN`` replaced by the node's N-th NIC (inspection order).

    :raises NicConfigError: a nicN beyond the node's NIC count.
    """

    def convert(value: Any, path: str) -> Any:
        if isinstance(value, list):
            return [convert(v, f"{path}.{i}") for i, v in enumerate(value)]
        if not isinstance(value, Mapping):
            return value
        out = {k: convert(v, f"{path}.{k}") for k, v in value.items()}
        for key in ("name", "device"):
            match = NIC_NAME.match(str(out.get(key, "")))
            if match:
                index = int(match.group(1))
                if not 1 <= index <= len(nics):
                    raise _fail(f"nic{index} is unknown: {node} has {len(nics)} NICs", f"{path}.{key}")
                out[key] = nics[index - 1]
        return out

    return convert(data, "network_config")


@dataclass(frozen=True)
class L3Device:
    """A device that holds addresses, with the L2 segment it sits on and the routes configured on it."""

    name: str
    segment: str
    addresses: tuple[ipaddress.IPv4Interface | ipaddress.IPv6Interface, ...]
    routes: tuple[RouteSpec, ...]


def _uplink(dev: Device) -> Device | None:
    """The untagged physical path of a bridge or bond: its first interface or bond member."""
    for member in dev.members:
        if member.type == "interface":
            return member
        if member.type in ("linux_bond", "ovs_bond"):
            return _uplink(member) or member
    return None


def layer3(
    devices: Sequence[Device],
    wiring: Mapping[str, str],
    vlan_segments: Mapping[int, str],
    by_address: Any,
) -> list[L3Device]:
    """Where each addressed device sits: a VLAN on the segment of the network with that VLAN id, an
    interface on the segment it is wired to (``wiring``: NIC name -> segment), a bridge or bond on its
    uplink's;
    with no wiring known, on the segment of the network its address belongs to (``by_address``)."""
    by_name = {d.name: d for d, _ in walk(devices)}
    out = []
    for dev, _parent in walk(devices):
        if not dev.addresses and not dev.routes:
            continue
        segment: str | None = None
        if dev.type == "vlan" and dev.vlan_id is not None:
            segment = vlan_segments.get(dev.vlan_id, f"vlan{dev.vlan_id}")
        else:
            phys = dev if dev.type == "interface" else _uplink(dev)
            if phys is not None:
                segment = wiring.get(phys.name)
        if segment is None and dev.addresses:
            segment = by_address(dev.addresses[0].ip)
        out.append(L3Device(dev.name, segment or f"isolated:{dev.name}", dev.addresses, dev.routes))
    del by_name
    return out
