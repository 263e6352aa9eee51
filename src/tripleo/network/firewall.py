"""Per-node firewall rules (nftables): each service port only on its network's interface.

Binding a service to its network's address is not enough: Linux accepts a packet for any local address on
any interface (the weak host model), so a neighbour that routes InternalApi via a node's ctlplane address
reaches InternalApi services. The rules therefore first drop any packet whose destination is one of the
node's addresses but which did not arrive on the interface holding that address (the strong host model),
then accept established traffic, ICMP, and each service's ports (or whole IP protocols, e.g. VRRP) on its
network's interface; the rest is
dropped. Nothing is routed: the forward hook only passes frames that a service's bridge (role_data
``firewall_bridged``, e.g. Neutron's per-network bridges) switches between its own ports, which
br_netfilter shows there with the bridge as both input and output device.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tripleo.network.model import IPAddress, ServicePort
from tripleo.shipped import IP_PROTOCOL

__all__ = ["TABLE", "Binding", "render_ruleset"]

TABLE = "tripleo"


@dataclass(frozen=True)
class Binding:
    """Where a network lives on a node: the device and its addresses (VIPs included)."""

    network: str
    device: str
    addresses: tuple[IPAddress, ...]


def _quote(name: str) -> str:
    return f'"{name}"'


def _ports(ports: Sequence[tuple[str, str]], proto: str) -> list[str]:
    return [p for pr, p in ports if pr == proto]


def render_ruleset(
    node: str,
    services: Sequence[str],
    service_map: Mapping[str, Sequence[ServicePort]],
    bindings: Sequence[Binding],
    bridged: Sequence[tuple[str, str]] = (),
) -> str:
    """The nftables script for one node; it replaces table ``inet tripleo`` atomically (idempotent).

    :param bridged: (service, bridge name or pattern) pairs whose bridged frames are forwarded.
    """
    by_net: dict[str, Binding] = {b.network: b for b in bindings}
    lines = [
        f"table inet {TABLE}",
        f"delete table inet {TABLE}",
        f"table inet {TABLE} {{",
        "  chain input {",
        "    type filter hook input priority filter; policy drop;",
        '    iif "lo" accept',
    ]
    for bind in bindings:
        for family in ("ip", "ip6"):
            addrs = [str(a) for a in bind.addresses if (a.version == 4) == (family == "ip")]
            if addrs:
                lines.append(
                    f"    {family} daddr {{ {', '.join(addrs)} }} iifname != {_quote(bind.device)} drop"
                    f' comment "{bind.network} only on {bind.device}"'
                )
    lines += [
        "    ct state established,related accept",
        "    ct state invalid drop",
        "    meta l4proto { icmp, ipv6-icmp } accept",
    ]
    for service in services:
        for rule in service_map.get(service, ()):  # unknown services are reported by netenv validate
            found = by_net.get(rule.network)
            if found is None:
                continue  # the role does not join that network: reported by netenv validate
            bind = found
            for proto in ("tcp", "udp", IP_PROTOCOL):
                ports = _ports(rule.ports, proto)
                listed = "{ " + ", ".join(ports) + " }"
                match = f"meta l4proto {listed}" if proto == IP_PROTOCOL else f"{proto} dport {listed}"
                if ports:
                    lines.append(f"    iifname {_quote(bind.device)} {match} accept"
                                 f' comment "{service} on {rule.network}"')  # fmt: skip
    lines += ["  }", "  chain forward {", "    type filter hook forward priority filter; policy drop;"]
    for service, pattern in bridged:
        lines.append(f"    iifname {_quote(pattern)} oifname {_quote(pattern)} accept"
                     f' comment "{service}: frames its bridges switch"')  # fmt: skip
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"
