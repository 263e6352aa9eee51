"""Is an address free on its segment? An ARP probe from the undercloud host before a node is given it.

A node deployed onto an address that another machine still answers for waits for an SSH that never comes
(its neighbours' ARP caches point at the other machine), and the conflict is silent. So before the deploy
gives a node its ctlplane address, tripleo asks the segment, as ``arping -D`` and DHCP servers' conflict
detection do (RFC 5227): ARP requests for the address with a sender address of 0.0.0.0, sent from the
host's interface on that segment; any machine that answers, or that sends ARP as that address, holds it.

Only where the host has an interface on the address's subnet (the ctlplane bridge, in the lab and on real
undercloud hosts): elsewhere there is no segment to ask and nothing is probed.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import select
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

from tripleo.errors import OperationError

__all__ = [
    "AddressInUse",
    "Segment",
    "arp_probe_frame",
    "ensure_address_free",
    "find_segment",
    "holder_of",
    "host_segment",
    "probe",
]

LOG = logging.getLogger(__name__)

ETH_P_ARP = 0x0806
_BROADCAST = b"\xff" * 6
_PACKET_OUTGOING = 4  # a packet socket's pkttype for frames this host sent
_ARP_HEADER = bytes.fromhex("000108000604")  # Ethernet, IPv4, MAC length 6, IPv4 length 4
_REQUEST = 1


class AddressInUse(OperationError):
    """Another machine answers for an address tripleo is about to give a node.

    :param address: the address.
    :param mac: the MAC that answered for it.
    :param interface: the host interface of the segment where it answered.
    """

    def __init__(self, address: str, mac: str, interface: str) -> None:
        super().__init__(
            f"address {address} is in use: {mac} answers ARP for it on {interface}; "
            "free it (or give that machine another address) and deploy again"
        )
        self.address = address
        self.mac = mac
        self.interface = interface


@dataclass(frozen=True)
class Segment:
    """The host's side of a segment: its interface there, that interface's MAC and the host's addresses."""

    interface: str
    mac: str
    addresses: tuple[str, ...]


def find_segment(address: str, interfaces_json: str) -> Segment | None:
    """The host interface whose IPv4 subnet holds ``address``, from ``ip -j addr show``; None if none does.

    :raises ValueError: ``address`` is not an IPv4 address.
    """
    wanted = ipaddress.IPv4Address(address)
    for link in json.loads(interfaces_json or "[]"):
        mac, flags = str(link.get("address") or ""), link.get("flags") or []
        if len(mac.split(":")) != 6 or "UP" not in flags or {"LOOPBACK", "NOARP"} & set(flags):
            continue  # no segment that speaks ARP there (loopback, tunnels), or the interface is down
        own = [a for a in link.get("addr_info") or [] if a.get("family") == "inet"]
        for info in own:
            net = ipaddress.IPv4Interface(f"{info['local']}/{info['prefixlen']}").network
            if wanted in net and net.prefixlen < 32:
                return Segment(str(link["ifname"]), mac, tuple(str(a["local"]) for a in own))
    return None


def host_segment(address: str) -> Segment | None:
    """:func:`find_segment` on this host's interfaces (``ip -j addr show``); None when ``ip`` fails."""
    try:
        shown = subprocess.run(
            ["ip", "-j", "addr", "show"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        LOG.warning("no ARP probe of %s: ip addr show: %s", address, exc)
        return None
    return find_segment(address, shown.stdout) if shown.returncode == 0 else None


def _mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def _mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def arp_probe_frame(source_mac: str, address: str) -> bytes:
    """An Ethernet broadcast ARP probe for ``address``: sender ``source_mac`` with sender IP 0.0.0.0 (so no
    neighbour learns a mapping from it), target MAC zero (RFC 5227 section 2.1.1)."""
    mac = _mac_bytes(source_mac)
    target = ipaddress.IPv4Address(address).packed
    arp = _ARP_HEADER + _REQUEST.to_bytes(2, "big") + mac + bytes(4) + bytes(6) + target
    return _BROADCAST + mac + ETH_P_ARP.to_bytes(2, "big") + arp


def holder_of(frame: bytes, address: str, own_mac: str) -> str | None:
    """The MAC of a machine that ``frame`` shows holding ``address``, else None.

    Any ARP packet whose sender IP is ``address`` (a reply to the probe, or that machine's own request) and
    another host's probe for it (sender IP 0.0.0.0, same target: it is about to take it) count, from any
    MAC but ours.
    """
    if len(frame) < 42 or frame[12:14] != ETH_P_ARP.to_bytes(2, "big") or frame[14:20] != _ARP_HEADER:
        return None
    sender_mac, sender_ip, target_ip = frame[22:28], frame[28:32], frame[38:42]
    if sender_mac == _mac_bytes(own_mac):
        return None
    packed = ipaddress.IPv4Address(address).packed
    claims = sender_ip == packed or (sender_ip == bytes(4) and target_ip == packed)
    return _mac_text(sender_mac) if claims else None


def probe(
    segment: Segment, address: str, *, count: int = 3, interval: float = 0.2, wait: float = 0.6
) -> str | None:
    """Send ``count`` ARP probes for ``address`` on ``segment`` and listen ``wait`` seconds after the last.

    :returns: the MAC of the first machine that holds the address, or None when nothing answered.
    :raises PermissionError: no raw-socket privilege (CAP_NET_RAW).
    :raises OSError: the interface went away.
    """
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as sock:
        sock.bind((segment.interface, ETH_P_ARP))
        frame = arp_probe_frame(segment.mac, address)
        sent, next_send = 0, time.monotonic()
        deadline = next_send + interval * (count - 1) + wait
        while (now := time.monotonic()) < deadline:
            if sent < count and now >= next_send:
                sock.send(frame)
                sent, next_send = sent + 1, now + interval
            until = min(deadline, next_send) if sent < count else deadline
            ready, _, _ = select.select([sock], [], [], max(until - time.monotonic(), 0.0))
            if not ready:
                continue
            data, where = sock.recvfrom(2048)
            if where[2] == _PACKET_OUTGOING:
                continue
            mac = holder_of(data, address, segment.mac)
            if mac is not None:
                return mac
    return None


Prober = Callable[[Segment, str], "str | None"]


def ensure_address_free(
    address: str,
    *,
    segment_of: Callable[[str], Segment | None] = host_segment,
    prober: Prober = probe,
) -> None:
    """Check that nothing answers for ``address`` on its segment before a node is given it.

    Nothing is probed when the host has no interface on the address's subnet, or no privilege to send raw
    frames (said in the log).

    :raises AddressInUse: a machine answered, or the host itself holds the address; names its MAC.
    """
    segment = segment_of(address)
    if segment is None:
        LOG.debug("no ARP probe of %s: the host has no interface on its subnet", address)
        return
    if address in segment.addresses:
        raise AddressInUse(address, segment.mac, f"{segment.interface} (this host's own address)")
    try:
        mac = prober(segment, address)
    except OSError as exc:
        LOG.warning("no ARP probe of %s on %s: %s", address, segment.interface, exc)
        return
    if mac is not None:
        raise AddressInUse(address, mac, segment.interface)
    LOG.debug("ARP probe of %s on %s: no answer, the address is free", address, segment.interface)
