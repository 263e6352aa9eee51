"""The ARP probe before a node is given an address: the frame it sends, what counts as an answer, which
host interface it asks on, and the check with a fake prober (the real one: tests/functional/lab)."""

from __future__ import annotations

import json

import pytest

from tripleo.network import AddressInUse, ensure_address_free
from tripleo.network.arpprobe import Segment, arp_probe_frame, find_segment, holder_of

HOST_MAC = "02:00:00:00:00:01"
NODE_MAC = "52:54:00:24:01:00"
SEGMENT = Segment("tl-ctlplane", HOST_MAC, ("192.168.24.1",))


def _arp(
    op: int, sender_mac: str, sender_ip: bytes, target_ip: bytes, ethertype: bytes = b"\x08\x06"
) -> bytes:
    mac = bytes.fromhex(sender_mac.replace(":", ""))
    body = bytes.fromhex("000108000604000" + str(op)) + mac + sender_ip + bytes(6) + target_ip
    return bytes.fromhex(HOST_MAC.replace(":", "")) + mac + ethertype + body


def test_the_probe_frame_is_a_broadcast_request_from_0_0_0_0() -> None:
    frame = arp_probe_frame(HOST_MAC, "192.168.24.11")
    assert len(frame) == 42
    assert frame[:6] == b"\xff" * 6 and frame[6:12].hex(":") == HOST_MAC and frame[12:14] == b"\x08\x06"
    assert frame[14:22] == bytes.fromhex("0001080006040001")  # Ethernet/IPv4, request
    assert frame[22:28].hex(":") == HOST_MAC and frame[28:32] == bytes(4)  # sender IP 0.0.0.0
    assert frame[32:38] == bytes(6) and frame[38:42] == bytes([192, 168, 24, 11])


def test_what_counts_as_holding_the_address() -> None:
    wanted, other = bytes([192, 168, 24, 11]), bytes([192, 168, 24, 12])
    reply = _arp(2, NODE_MAC, wanted, bytes(4))
    assert holder_of(reply, "192.168.24.11", HOST_MAC) == NODE_MAC
    assert (
        holder_of(_arp(1, NODE_MAC, wanted, bytes([192, 168, 24, 1])), "192.168.24.11", HOST_MAC) == NODE_MAC
    )
    assert holder_of(_arp(1, NODE_MAC, bytes(4), wanted), "192.168.24.11", HOST_MAC) == NODE_MAC  # its probe
    assert holder_of(_arp(2, NODE_MAC, other, bytes(4)), "192.168.24.11", HOST_MAC) is None
    assert holder_of(_arp(1, HOST_MAC, bytes(4), wanted), "192.168.24.11", HOST_MAC) is None  # our own
    assert holder_of(_arp(2, NODE_MAC, wanted, bytes(4), b"\x08\x00"), "192.168.24.11", HOST_MAC) is None
    assert holder_of(reply[:30], "192.168.24.11", HOST_MAC) is None


ADDRS = json.dumps(
    [
        {"ifname": "lo", "flags": ["LOOPBACK", "UP"], "address": "00:00:00:00:00:00",
         "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}]},
        {"ifname": "eth0", "flags": ["BROADCAST", "UP"], "address": "02:fc:00:00:00:01",
         "addr_info": [{"family": "inet", "local": "10.1.0.5", "prefixlen": 16}]},
        {"ifname": "tl-ctlplane", "flags": ["NO-CARRIER", "BROADCAST", "UP"], "address": HOST_MAC,
         "addr_info": [{"family": "inet", "local": "192.168.24.1", "prefixlen": 24}]},
        {"ifname": "tl-external", "flags": ["BROADCAST"], "address": "02:00:00:00:00:02",
         "addr_info": [{"family": "inet", "local": "10.0.0.1", "prefixlen": 24}]},
    ]
)  # fmt: skip


def test_the_probe_asks_on_the_host_interface_of_the_addresss_subnet() -> None:
    assert find_segment("192.168.24.11", ADDRS) == SEGMENT
    assert find_segment("10.1.200.3", ADDRS) == Segment("eth0", "02:fc:00:00:00:01", ("10.1.0.5",))
    assert find_segment("10.0.0.4", ADDRS) is None  # the interface is down: no segment to ask
    assert find_segment("172.16.2.10", ADDRS) is None  # no interface there (an isolated network)
    assert find_segment("127.0.0.5", ADDRS) is None  # loopback is no Ethernet segment
    with pytest.raises(ValueError):
        find_segment("not-an-address", ADDRS)


def test_ensure_free_with_a_fake_prober() -> None:
    asked: list[tuple[str, str]] = []

    def prober(segment: Segment, address: str) -> str | None:
        asked.append((segment.interface, address))
        return NODE_MAC if address == "192.168.24.11" else None

    def segment_of(address: str) -> Segment | None:
        return find_segment(address, ADDRS)

    ensure_address_free("192.168.24.10", segment_of=segment_of, prober=prober)
    with pytest.raises(AddressInUse) as info:
        ensure_address_free("192.168.24.11", segment_of=segment_of, prober=prober)
    assert (info.value.address, info.value.mac, info.value.interface) == (
        "192.168.24.11", NODE_MAC, "tl-ctlplane",
    )  # fmt: skip
    assert str(info.value).startswith(f"address 192.168.24.11 is in use: {NODE_MAC} answers ARP for it")
    ensure_address_free("172.16.2.10", segment_of=segment_of, prober=prober)  # no segment: nothing asked
    assert asked == [("tl-ctlplane", "192.168.24.10"), ("tl-ctlplane", "192.168.24.11")]
    with pytest.raises(
        AddressInUse, match=r"^address 192.168.24.1 is in use: 02:00:00:00:00:01 .*own address"
    ):
        ensure_address_free("192.168.24.1", segment_of=segment_of, prober=prober)  # the host's own
    assert len(asked) == 2


def test_no_raw_socket_privilege_means_no_probe_not_a_failed_deploy(caplog: pytest.LogCaptureFixture) -> None:
    def prober(segment: Segment, address: str) -> str | None:
        raise PermissionError(1, "Operation not permitted")

    ensure_address_free("192.168.24.10", segment_of=lambda a: SEGMENT, prober=prober)
    assert "no ARP probe of 192.168.24.10 on tl-ctlplane" in caplog.text
