"""The lab BMC: which RMCP+ proposals it refuses, and how IPMI chassis commands map to node power."""

from __future__ import annotations

import pytest

from tripleo.lab.bmc import LabBmc, refuses_open_session

# An RMCP+ open session request payload: tag, privilege, reserved, console session id, then three
# algorithm payloads (type, reserved, reserved, length 8, algorithm, reserved x3).


def open_request(auth: int, integrity: int, conf: int) -> bytes:
    head = bytes([7, 0, 0, 0, 0xA1, 0xA2, 0xA3, 0xA4])
    return head + bytes(
        [0, 0, 0, 8, auth, 0, 0, 0, 1, 0, 0, 8, integrity, 0, 0, 0, 2, 0, 0, 8, conf, 0, 0, 0]
    )


def test_suite_3_is_accepted_and_sha256_refused() -> None:
    assert not refuses_open_session(open_request(1, 1, 1))  # ipmitool -C 3, pyghmi's fallback
    assert refuses_open_session(open_request(3, 4, 1))  # pyghmi's first try: SHA-256 (suite 17)
    assert refuses_open_session(open_request(0, 0, 0))  # no authentication at all
    assert refuses_open_session(b"\x07\x00")


class FakeNode:
    def __init__(self) -> None:
        self.on = False
        self.calls: list[str] = []
        self.boot = "default"

    def is_on(self) -> bool:
        return self.on

    def power_on(self) -> None:
        self.calls.append("on")
        self.on = True

    def power_off(self, *, graceful: bool = False) -> None:
        self.calls.append("soft" if graceful else "off")
        self.on = False

    def get_boot_device(self) -> str:
        return self.boot

    def set_boot_device(self, device: str) -> None:
        self.boot = device


@pytest.fixture
def bmc() -> tuple[LabBmc, FakeNode]:
    """A BMC without its UDP socket: pyghmi's socket pool is process-wide, and the functional tests' client
    shares it (the real socket on 127.0.0.1 is covered there)."""
    node = FakeNode()
    server = LabBmc.__new__(LabBmc)
    server.node = node
    return server, node


def test_power_commands_drive_the_node(bmc: tuple[LabBmc, FakeNode]) -> None:
    server, node = bmc
    assert server.get_power_state() == "off"
    assert server.power_cycle() == 0xD5  # not in the present state: the node is off
    assert server.power_on() == 0 and server.get_power_state() == "on"
    assert server.power_reset() == 0
    assert server.power_shutdown() == 0
    assert node.calls == ["on", "off", "on", "soft"]


def test_boot_device_is_the_nodes(bmc: tuple[LabBmc, FakeNode]) -> None:
    server, node = bmc
    server.set_boot_device("network")
    assert node.boot == "network" and server.get_boot_device() == "network"
