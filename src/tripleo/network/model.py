"""The network model: networks (TripleO's network_data.yaml), roles (roles_data.yaml) and service ports.

Everything here is plain, frozen data parsed once with errors that name the file and the YAML path; the
checks in :mod:`tripleo.network.netenv` and the IPAM trust it afterwards.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tripleo import boundedyaml
from tripleo.fields import Reader
from tripleo.shipped import CTLPLANE, TEMPLATES

__all__ = [
    "CTLPLANE",
    "DEFAULTS",
    "IPAddress",
    "IPNetwork",
    "Network",
    "Pool",
    "Role",
    "ServicePort",
    "Subnet",
    "load_network_data",
    "load_roles_data",
    "load_services",
    "parse_network_data",
    "parse_pools",
    "parse_roles_data",
    "parse_services",
]

DEFAULTS = TEMPLATES  # the project's own default data files

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Pool:
    """An allocation pool: ``start`` to ``end``, both included."""

    start: IPAddress
    end: IPAddress

    @property
    def size(self) -> int:
        return max(0, int(self.end) - int(self.start) + 1)

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return False
        return address.version == self.start.version and int(self.start) <= int(address) <= int(self.end)

    def __str__(self) -> str:
        return f"{self.start}-{self.end}"


@dataclass(frozen=True)
class Subnet:
    """One IP subnet of a network, with its pools, gateway and extra routes (destination, next hop)."""

    cidr: IPNetwork
    pools: tuple[Pool, ...]
    gateway: IPAddress | None = None
    routes: tuple[tuple[str, str], ...] = ()

    @property
    def pool_size(self) -> int:
        return sum(p.size for p in self.pools)

    def in_pools(self, address: IPAddress) -> bool:
        return any(address in p for p in self.pools)


@dataclass(frozen=True)
class Network:
    """A network: ``subnet`` is the one in use (IPv6 when ``ipv6`` is set and an IPv6 subnet exists)."""

    name: str
    name_lower: str
    v4: Subnet | None
    v6: Subnet | None = None
    ipv6: bool = False
    vlan: int | None = None
    mtu: int = 1500
    vip: bool = False
    enabled: bool = True

    @property
    def subnet(self) -> Subnet:
        chosen = self.v6 if self.ipv6 else self.v4
        fallback = self.v4 or self.v6
        assert chosen or fallback, "a network has at least one subnet (checked at parse time)"
        return chosen or fallback  # type: ignore[return-value]

    @property
    def cidr(self) -> IPNetwork:
        return self.subnet.cidr


@dataclass(frozen=True)
class Role:
    """A role: which networks its nodes join (ctlplane always), how many nodes, its NIC template."""

    name: str
    networks: tuple[str, ...]
    count: int = 0
    services: tuple[str, ...] = ()
    nic_template: str | None = None
    nic_count: int | None = None
    hostname_format: str = ""
    tags: tuple[str, ...] = ()
    profile: str = ""  # the bare-metal profile its nodes are scheduled on (profile:<name>)
    # THT's older names of the role: deprecated_server_resource_name (registry keys) and deprecated_param_ips
    legacy_name: str = ""
    legacy_ips_param: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """The role's name and its older one, as registry keys spell them."""
        return (self.name, self.legacy_name) if self.legacy_name else (self.name,)

    @property
    def ips_params(self) -> tuple[str, ...]:
        """The ips-from-pool parameters of the role: ``<Role>IPs`` and its older name."""
        return (f"{self.name}IPs", self.legacy_ips_param) if self.legacy_ips_param else (f"{self.name}IPs",)

    def hostname(self, index: int, stack: str = "overcloud") -> str:
        fmt = self.hostname_format or f"%stackname%-{self.name.lower()}-%index%"
        return fmt.replace("%stackname%", stack).replace("%index%", str(index))


@dataclass(frozen=True)
class ServicePort:
    """A service's ports on one network: ``ports`` are ``(protocol, "22")`` or ``("tcp", "6800-7300")``."""

    service: str
    network: str
    ports: tuple[tuple[str, str], ...] = field(default=())


def _address(r: Reader, value: Any, path: str) -> IPAddress:
    try:
        return ipaddress.ip_address(str(value))
    except ValueError:
        raise r.fail(path, f"{value!r} is not an IP address") from None


def _cidr(r: Reader, value: Any, path: str) -> IPNetwork:
    try:
        return ipaddress.ip_network(str(value), strict=True)
    except ValueError as exc:
        raise r.fail(path, f"{value!r} is not a network CIDR ({exc})") from None


def parse_pools(value: Any, file: str | None, path: str) -> tuple[Pool, ...]:
    """``[{start: A, end: B}, ...]`` as Pools (address syntax only; the checks judge the values)."""
    return _pools(Reader(file), value, path)


def _pools(r: Reader, value: Any, path: str) -> tuple[Pool, ...]:
    pools = []
    for i, raw in enumerate(r.seq(value, path)):
        where = f"{path}.{i}"
        wrong = f"expected a {{start, end}} mapping, got {raw!r}"
        item = r.mapping(raw, where, message=wrong)
        if "start" not in item or "end" not in item:
            raise r.fail(where, wrong)
        start = _address(r, item["start"], f"{where}.start")
        pools.append(Pool(start, _address(r, item["end"], f"{where}.end")))
    return tuple(pools)


def _routes(r: Reader, value: Any, path: str) -> tuple[tuple[str, str], ...]:
    if value in (None, []):
        return ()
    out = []
    for i, item in enumerate(r.seq(value, path)):
        item = item if isinstance(item, Mapping) else {}
        dest = item.get("destination", item.get("ip_netmask"))
        hop = item.get("nexthop", item.get("next_hop"))
        if dest is None or hop is None:
            raise r.fail(f"{path}.{i}", "a route needs destination and nexthop")
        out.append((str(_cidr(r, dest, f"{path}.{i}.destination")), str(_address(r, hop, path))))
    return tuple(out)


def _subnet(r: Reader, entry: Mapping[str, Any], v6: bool, path: str) -> Subnet | None:
    key, pools, gw, routes = (
        ("ipv6_subnet", "ipv6_allocation_pools", "gateway_ipv6", "routes_ipv6")
        if v6
        else ("ip_subnet", "allocation_pools", "gateway_ip", "routes")
    )
    if entry.get(key) in (None, ""):
        return None
    cidr = _cidr(r, entry[key], f"{path}.{key}")
    parsed = _pools(r, entry.get(pools) or [], f"{path}.{pools}")
    gateway = _address(r, entry[gw], f"{path}.{gw}") if entry.get(gw) else None
    return Subnet(cidr, parsed, gateway, _routes(r, entry.get(routes), f"{path}.{routes}"))


_NETWORK_KEYS = {
    "name", "name_lower", "vip", "enabled", "ipv6", "ip_subnet", "allocation_pools", "gateway_ip", "routes",
    "ipv6_subnet", "ipv6_allocation_pools", "gateway_ipv6", "routes_ipv6", "vlan", "mtu",
    "external_resource_network_id",
    "external_resource_subnet_id", "service_net_map_replace", "dns_domain", "subnets",
}  # fmt: skip


def _number(r: Reader, value: Any, path: str, span: str) -> int | None:
    """An integer or None; its range (``span``) is judged by the checks, which name the network."""
    if value is None:
        return None
    return r.integer(value, path, message=f"expected an integer {span}, got {value!r}")


def _named(r: Reader, entry: Any, path: str) -> tuple[Mapping[str, Any], str]:
    """A network's or a role's entry and its name."""
    item = r.mapping(entry, path, message="expected a mapping with a name")
    return item, r.text(item.get("name"), path, message="expected a mapping with a name")


def _network(r: Reader, entry: Any, path: str) -> Network:
    entry, name = _named(r, entry, path)
    unknown = sorted(r.unknown(entry, _NETWORK_KEYS))
    if unknown:
        raise r.fail(path, f"unknown key {unknown[0]!r} for network {name}")
    v4, v6 = _subnet(r, entry, False, path), _subnet(r, entry, True, path)
    if v4 is None and v6 is None:
        raise r.fail(path, f"network {name} has neither ip_subnet nor ipv6_subnet")
    mtu = _number(r, entry.get("mtu", 1500), f"{path}.mtu", "68..65535")
    return Network(
        name=name,
        name_lower=str(entry.get("name_lower") or name.lower()),
        v4=v4,
        v6=v6,
        ipv6=bool(entry.get("ipv6", False)) or v4 is None,
        vlan=_number(r, entry.get("vlan"), f"{path}.vlan", "1..4094"),
        mtu=mtu if mtu is not None else 1500,
        vip=bool(entry.get("vip", False)),
        enabled=bool(entry.get("enabled", True)),
    )


def parse_network_data(data: Any, file: str | None = None) -> tuple[Network, ...]:
    """Networks from network_data.yaml content; a ``ctlplane`` entry is added when the file has none."""
    r = Reader(file)
    entries = r.seq(data, "", message="expected a list of networks")
    nets = [_network(r, entry, str(i)) for i, entry in enumerate(entries)]
    names = [n.name for n in nets]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise r.fail(str(i), f"network {name} is defined twice")
    if CTLPLANE not in names:
        ctl = Subnet(
            ipaddress.ip_network("192.168.24.0/24"),
            (Pool(ipaddress.ip_address("192.168.24.10"), ipaddress.ip_address("192.168.24.99")),),
            ipaddress.ip_address("192.168.24.1"),
        )
        nets.insert(0, Network(CTLPLANE, CTLPLANE, ctl, vip=True))
    return tuple(nets)


def load_network_data(path: Path | None = None) -> tuple[Network, ...]:
    """Read network_data.yaml (the project's default when ``path`` is None)."""
    path = path or DEFAULTS / "network_data.yaml"
    return parse_network_data(boundedyaml.load_file(path, "network data"), str(path))


def _role(r: Reader, entry: Any, base: Path | None, path: str) -> Role:
    entry, name = _named(r, entry, path)
    listed = entry.get("networks") or []
    listed = list(listed) if isinstance(listed, Mapping) else listed
    nets = r.texts(listed, path, message=f"role {name}: networks must be a list of names")
    count = entry.get("CountDefault", 0)
    count = r.integer(count, path, 0, message=f"role {name}: CountDefault {count!r} is not a count")
    template = entry.get("network_config_template")
    if template and base is not None and not Path(template).is_absolute():
        template = str(base / template)
    services = entry.get("ServicesDefault") or []
    nic_count = entry.get("nic_count")
    return Role(
        name=name,
        networks=tuple(n for n in nets if n != CTLPLANE),
        count=count,
        services=tuple(str(s) for s in services),
        nic_template=template,
        nic_count=nic_count if isinstance(nic_count, int) else None,
        hostname_format=str(entry.get("HostnameFormatDefault") or ""),
        tags=tuple(str(t) for t in entry.get("tags") or ()),
        profile=str(entry.get("profile") or ""),
        legacy_name=str(entry.get("deprecated_server_resource_name") or ""),
        legacy_ips_param=str(entry.get("deprecated_param_ips") or ""),
    )


def parse_roles_data(data: Any, file: str | None = None, base: Path | None = None) -> tuple[Role, ...]:
    """Roles from roles_data.yaml content; template paths are made absolute against ``base``."""
    r = Reader(file)
    entries = r.seq(data, "", message="expected a non-empty list of roles")
    if not entries:
        raise r.fail("", "expected a non-empty list of roles")
    roles = [_role(r, entry, base, str(i)) for i, entry in enumerate(entries)]
    names = [role.name for role in roles]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise r.fail(str(i), f"role {name} is defined twice")
    return tuple(roles)


def load_roles_data(path: Path | None = None) -> tuple[Role, ...]:
    path = path or DEFAULTS / "roles_data.yaml"
    return parse_roles_data(boundedyaml.load_file(path, "roles data"), str(path), path.resolve().parent)


def parse_services(data: Any, file: str | None = None) -> dict[str, tuple[ServicePort, ...]]:
    """``service: [{network, tcp: [...], udp: [...]}]`` as ServicePorts."""
    r = Reader(file)
    out: dict[str, tuple[ServicePort, ...]] = {}
    services = r.mapping(data, "", message="expected a mapping of service name to port lists")
    for name, rules in services.items():
        parsed = []
        for i, raw in enumerate(r.seq(rules, str(name), message=f"service {name}: expected a list")):
            needs = f"service {name}: a rule needs a network"
            rule = r.mapping(raw, f"{name}.{i}", message=needs)
            network = r.text(rule.get("network"), f"{name}.{i}", message=needs)
            ports = tuple((proto, str(p)) for proto in ("tcp", "udp") for p in rule.get(proto) or [])
            parsed.append(ServicePort(str(name), network, ports))
        out[str(name)] = tuple(parsed)
    return out


def load_services(path: Path) -> dict[str, tuple[ServicePort, ...]]:
    """A service map file (``service: [{network, tcp, udp}]``); the project's own services take theirs from
    the service templates' role_data instead (:mod:`tripleo.workflows.services`)."""
    return parse_services(boundedyaml.load_file(path, "service map"), str(path))


def with_overrides(net: Network, **changes: Any) -> Network:
    """A copy of ``net`` with some fields changed (environments override network_data)."""
    return replace(net, **changes)


def role_networks(role: Role, networks: Sequence[Network]) -> tuple[Network, ...]:
    """The enabled networks a role joins, ctlplane first, in the role's order."""
    by_name = {n.name: n for n in networks}
    names = [CTLPLANE, *role.networks]
    return tuple(by_name[n] for n in names if n in by_name and by_name[n].enabled)
