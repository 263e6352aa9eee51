"""Keeping a node reachable while its NIC config and firewall change: check the ctlplane peer, roll back.

The applier (:mod:`tripleo.network.apply`) keeps what the node had (:func:`read_facts`, the firewall table)
before it changes anything. Once the NIC config and the firewall are applied, the peer the deploy reaches
the node from (the SSH client's address, ``$SSH_CONNECTION``: the undercloud's ctlplane address) must still
answer an ICMP echo; if it does not within the check's time, :func:`revert` puts back the links the run
made, the masters, MTUs, states, addresses and gateway routes the node had, and the old firewall table,
so the deploy's SSH connection comes back and the deploy fails naming what happened. A peer that did not
answer before the change (ICMP filtered on its side) is not checked: nothing could be concluded from it.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import select
import socket
import struct
import subprocess
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from tripleo.network.apply import change_address, link_index, read_facts
from tripleo.network.firewall import TABLE

__all__ = ["answers", "restore_firewall", "revert", "ssh_peer"]

_MADE = ("bridge", "bond", "vlan")  # link kinds the applier creates (and a rollback deletes)
_ECHO = {4: (8, 0), 6: (128, 129)}  # ICMP echo request and reply types per IP version


def ssh_peer() -> str | None:
    """The address this node's SSH session comes from (the deploy's), or None outside SSH."""
    words = os.environ.get("SSH_CONNECTION", "").split()
    return words[0] if words else None


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(int(word) for word in struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _request(version: int, ident: int, seq: int) -> bytes:
    kind = _ECHO[version][0]
    body = struct.pack("!HH", ident, seq) + b"tripleo"
    if version == 6:  # the kernel fills in ICMPv6's checksum (it covers a pseudo header)
        return struct.pack("!BBH", kind, 0, 0) + body
    return struct.pack("!BBH", kind, 0, _checksum(struct.pack("!BBH", kind, 0, 0) + body)) + body


def _is_reply(version: int, packet: bytes, ident: int) -> bool:
    if version == 4:  # a raw IPv4 socket hands over the IP header too
        packet = packet[(packet[0] & 0x0F) * 4 :] if packet else b""
    if len(packet) < 8:
        return False
    kind, _, _, got = struct.unpack("!BBHH", packet[:6])
    return bool(kind == _ECHO[version][1] and got == ident)


def answers(peer: str, timeout: float) -> bool:
    """``peer`` answers an ICMP echo within ``timeout`` seconds (one request a second; a raw socket: root)."""
    version = ipaddress.ip_address(peer).version
    v4 = version == 4
    family, proto = (socket.AF_INET, socket.IPPROTO_ICMP) if v4 else (socket.AF_INET6, socket.IPPROTO_ICMPV6)
    ident = os.getpid() & 0xFFFF
    deadline = time.monotonic() + timeout
    with socket.socket(family, socket.SOCK_RAW, proto) as sock:
        seq = 0
        while time.monotonic() < deadline:
            seq += 1
            try:
                sock.sendto(_request(version, ident, seq), (peer, 0))
            except OSError:  # no route (yet): the next second may have one
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
                continue
            until = min(deadline, time.monotonic() + 1.0)
            while (left := until - time.monotonic()) > 0:
                if not select.select([sock], [], [], left)[0]:
                    break
                if _is_reply(version, sock.recv(2048), ident):
                    return True
    return False


def _try(undone: list[str], failed: list[str], what: str, call: Callable[[], Any]) -> None:
    try:
        call()
        undone.append(what)
    except Exception as exc:  # a rollback goes on with the rest: as much of the node back as can be
        failed.append(f"{what}: {exc}")


# an address already back (a network manager of the host's, e.g. systemd-networkd, applies its own file again
# when the NIC leaves the bridge) or already gone is the state a rollback wants
_ALREADY = {"add": errno.EEXIST, "del": errno.EADDRNOTAVAIL}


def restore_address(ipr: Any, verb: str, name: str, text: str) -> None:
    """``change_address``, where the address being there already (``add``) or gone already (``del``) is
    done."""
    try:
        change_address(ipr, verb, name, text)
    except Exception as exc:  # pyroute2's NetlinkError, with the kernel's errno as its code
        if getattr(exc, "code", None) != _ALREADY[verb]:
            raise


def _delete(ipr: Any, name: str) -> None:
    ipr.link("del", index=link_index(ipr, name))


def _set(ipr: Any, name: str, **values: Any) -> None:
    ipr.link("set", index=link_index(ipr, name), **values)


def _links(before: Any, now: Any, ipr: Any, floating: frozenset[str], undone: list[str],
           failed: list[str]) -> None:  # fmt: skip
    for name, old in sorted(before.links.items()):
        cur = now.links.get(name)
        if cur is None:
            continue
        if cur.master != old.master:
            master = old.master or 0  # 0: no master
            _try(undone, failed, f"{name} master back", partial(_set, ipr, name, master=master))
        if cur.mtu != old.mtu:
            _try(undone, failed, f"{name} mtu {old.mtu}", partial(_set, ipr, name, mtu=old.mtu))
        for text in sorted((old.addresses - cur.addresses) - floating):
            back = f"address {text} back on {name}"
            _try(undone, failed, back, partial(restore_address, ipr, "add", name, text))
        for text in sorted((cur.addresses - old.addresses) - floating):
            off = f"address {text} off {name}"
            _try(undone, failed, off, partial(restore_address, ipr, "del", name, text))
        if cur.up != old.up:
            state = "up" if old.up else "down"
            _try(undone, failed, f"{name} {state}", partial(_set, ipr, name, state=state))


def _route(ipr: Any, verb: str, route: tuple[str, str | None, str]) -> None:
    dst, gateway, dev = route
    if dst == "default":
        dst = "default" if ipaddress.ip_address(str(gateway)).version == 4 else "::/0"
    ipr.route(verb, dst=dst, gateway=gateway, oif=link_index(ipr, dev))


def revert(before: Any, ipr: Any, floating: frozenset[str] = frozenset()) -> tuple[list[str], list[str]]:
    """Put the node's links back as ``before`` (:class:`tripleo.network.apply.Facts`) says: links made since
    deleted, then masters, MTUs, addresses (``floating`` ones left alone) and states, then gateway routes.

    :returns: what was undone, and what could not be (each with its error).
    """
    undone: list[str] = []
    failed: list[str] = []
    now = read_facts(ipr)
    for name, fact in sorted(now.links.items()):
        if name not in before.links and fact.kind in _MADE:
            _try(undone, failed, f"{name} deleted", partial(_delete, ipr, name))
    _links(before, read_facts(ipr), ipr, floating, undone, failed)
    now = read_facts(ipr)
    for route in sorted(r for r in now.routes - before.routes if r[1]):
        _try(undone, failed, f"route {route[0]} via {route[1]} off", partial(_route, ipr, "del", route))
    for route in sorted(r for r in before.routes - now.routes if r[1]):
        _try(undone, failed, f"route {route[0]} via {route[1]} back", partial(_route, ipr, "add", route))
    return undone, failed


def restore_firewall(table: str) -> bool:
    """Load the ``tripleo`` table's earlier listing again ("": there was none, so it goes); True when it
    worked."""
    if table:
        script = f"add table inet {TABLE}\ndelete table inet {TABLE}\n{table}"
        done = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True)
    else:
        done = subprocess.run(["nft", "delete", "table", "inet", TABLE], capture_output=True, text=True)
    return done.returncode == 0
