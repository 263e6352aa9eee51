"""The offline isolation proof: which node addresses can reach which, from the rendered NIC configs.

A packet from host H to address A leaves on H's most specific route (connected subnets of H's addresses,
then static routes; a route's next hop must be on-link). On the egress segment, a host answers ARP for any
of its addresses on any interface (Linux's weak host model), so whoever owns the next hop (or A) there gets
the packet. If that host is not A's owner it would have to forward: overcloud nodes never do (their
firewall drops forwarding; routers outside the plan are not modelled, so such a flow does not count). The
receiving host accepts the packet unless its firewall is on and A is not an address of the arrival
interface (the strong-host rule of :mod:`tripleo.network.firewall`). The reply takes the same walk back.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tripleo.network.model import IPAddress
from tripleo.network.nicconfig import L3Device

__all__ = ["Flow", "HostView", "Target", "deliver", "matrix"]


@dataclass(frozen=True)
class HostView:
    """A node as the proof sees it: its addressed devices (with their segments) and whether it filters."""

    name: str
    role: str
    devices: tuple[L3Device, ...]
    firewall: bool = True

    def owns(self, address: IPAddress) -> L3Device | None:
        for dev in self.devices:
            if any(a.ip == address for a in dev.addresses):
                return dev
        return None

    def on_segment(self, segment: str) -> L3Device | None:
        return next((d for d in self.devices if d.segment == segment), None)


@dataclass(frozen=True)
class Target:
    """An address to reach: ``node``'s address on ``network``."""

    node: str
    network: str
    address: IPAddress


@dataclass(frozen=True)
class Flow:
    """One cell of the matrix: can ``source`` reach ``target`` (and why not)."""

    source: str
    target: Target
    reachable: bool
    reason: str


def _route(host: HostView, address: IPAddress) -> tuple[L3Device, IPAddress | None] | None:
    """The egress device and next hop (None: on-link) for ``address``, longest prefix first."""
    best: tuple[int, int, L3Device, IPAddress | None] | None = None
    cand: tuple[int, int, L3Device, IPAddress | None]
    for dev in host.devices:
        for iface in dev.addresses:
            if iface.version == address.version and address in iface.network:
                cand = (iface.network.prefixlen, 1, dev, None)
                best = cand if best is None or cand[:2] > best[:2] else best
    for dev in host.devices:
        for route in dev.routes:
            hop = route.next_hop
            on_link = hop is not None and any(
                hop in a.network for a in dev.addresses if a.version == hop.version
            )
            if not on_link or not route.covers(address):
                continue
            plen = route.destination.prefixlen if route.destination is not None else 0
            cand = (plen, 0, dev, hop)
            best = cand if best is None or cand[:2] > best[:2] else best
    return (best[2], best[3]) if best else None


def _source(host: HostView, dev: L3Device, version: int) -> IPAddress | None:
    for iface in dev.addresses:
        if iface.version == version:
            return iface.ip
    for other in host.devices:
        for iface in other.addresses:
            if iface.version == version:
                return iface.ip
    return None


def deliver(src: HostView, address: IPAddress, hosts: Mapping[str, HostView]) -> tuple[HostView | None, str]:
    """Where a packet from ``src`` to ``address`` is accepted (None and the reason when it is not)."""
    route = _route(src, address)
    if route is None:
        return None, f"{src.name} has no route to {address}"
    dev, hop = route
    l2 = hop or address
    answering = [h for h in hosts.values() if h.name != src.name and h.owns(l2) and h.on_segment(dev.segment)]
    if not answering:
        via = f" via {hop}" if hop else ""
        return None, f"nothing on {dev.segment} answers for {l2}{via}"
    peer = answering[0]
    if not peer.owns(address):
        return None, f"{peer.name} ({hop}) would have to forward to {address}"
    arrival = peer.on_segment(dev.segment)
    assert arrival is not None
    if peer.firewall and all(a.ip != address for a in arrival.addresses):
        return None, f"{peer.name}'s firewall drops {address} arriving on {arrival.name} ({dev.segment})"
    return peer, f"{src.name} {dev.name} -> {peer.name} {arrival.name} on {dev.segment}"


def _reach(src: HostView, target: Target, hosts: Mapping[str, HostView]) -> tuple[bool, str]:
    peer, why = deliver(src, target.address, hosts)
    if peer is None:
        return False, why
    route = _route(src, target.address)
    assert route is not None
    source = _source(src, route[0], target.address.version)
    if source is None:
        return False, f"{src.name} has no IPv{target.address.version} address to send from"
    back, back_why = deliver(peer, source, hosts)
    if back is None or back.name != src.name:
        return False, f"no way back: {back_why}"
    return True, why


def matrix(hosts: Sequence[HostView], targets: Sequence[Target]) -> list[Flow]:
    """Every (source node, other node's address) pair with whether it is reachable."""
    by_name = {h.name: h for h in hosts}
    flows = []
    for src in hosts:
        for target in targets:
            if target.node == src.name:
                continue
            ok, why = _reach(src, target, by_name)
            flows.append(Flow(src.name, target, ok, why))
    return flows


def address(text: str) -> IPAddress:
    return ipaddress.ip_address(text)
