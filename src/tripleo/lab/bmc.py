"""A lab node's BMC: IPMI 2.0 (RMCP+) on 127.0.0.1, built on pyghmi's ``Bmc``.

pyghmi's server always answers an RMCP+ open-session request with cipher suite 3 (HMAC-SHA1 / AES), whatever
the client proposed. ipmitool asks for the channel's cipher suites first and proposes suite 3, so it works.
pyghmi's own client proposes SHA-256 first and only falls back to SHA-1 when the BMC refuses; since the stock
server accepts and then speaks SHA-1, that login fails. This BMC therefore refuses any proposal that is not
suite 3's algorithms (status "no cipher suite match"), and both clients log in.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

import pyghmi.ipmi.bmc as pyghmi_bmc  # type: ignore[import-untyped]
import pyghmi.ipmi.private.serversession as pyghmi_server  # type: ignore[import-untyped]

__all__ = ["BOOT_DEVICES", "LabBmc", "PowerControl", "refuses_open_session"]

LOG = logging.getLogger(__name__)

# RMCP+ open session request payload offsets (IPMI 2.0 table 13-16) and the suite 3 algorithm numbers.
_AUTH_ALGO, _INTEGRITY_ALGO, _CONF_ALGO = 12, 20, 28
_HMAC_SHA1, _HMAC_SHA1_96, _AES_CBC_128 = 1, 1, 1
_NO_CIPHER_SUITE_MATCH = 0x11
# What ``ipmitool chassis bootdev`` / pyghmi ``set_bootdev`` may ask for, as pyghmi's server names them.
BOOT_DEVICES = ("default", "network", "hd", "optical", "setup", "floppy", "usb", "safe")


class PowerControl(Protocol):
    """What a BMC drives: one node's power and boot device."""

    def is_on(self) -> bool: ...

    def power_on(self) -> None: ...

    def power_off(self, *, graceful: bool = False) -> None: ...

    def get_boot_device(self) -> str: ...

    def set_boot_device(self, device: str) -> None: ...


def refuses_open_session(request: bytes | bytearray) -> bool:
    """True if an open-session request proposes anything but suite 3 (SHA-1 auth, SHA1-96 integrity, AES)."""
    if len(request) < _CONF_ALGO + 1:
        return True
    wanted = (request[_AUTH_ALGO], request[_INTEGRITY_ALGO], request[_CONF_ALGO])
    return wanted != (_HMAC_SHA1, _HMAC_SHA1_96, _AES_CBC_128)


def _is_open_session_request(packet: bytearray) -> bool:
    # RMCP header (06 00 ff 07), auth type 6 (RMCP+), payload type 0x10 (open session request).
    return len(packet) >= 22 and packet[0] == 6 and packet[2:4] == b"\xff\x07" and packet[4:6] == b"\x06\x10"


class _Session(pyghmi_server.ServerSession):  # type: ignore[misc]
    """A server session that refuses SHA-256 proposals so the client retries with suite 3."""

    def create_open_session_response(self, request: bytearray) -> bytearray:
        if refuses_open_session(request):
            # tag, status, reserved, reserved, the console's session id (IPMI 2.0 table 13-17)
            return bytearray([request[0], _NO_CIPHER_SUITE_MATCH, 0, 0]) + request[4:8]
        response: bytearray = super().create_open_session_response(request)
        return response


class LabBmc(pyghmi_bmc.Bmc):  # type: ignore[misc]
    """One node's BMC: chassis power on/off/cycle/reset/soft, power status, boot device get/set."""

    def __init__(
        self,
        node: PowerControl,
        authdata: Mapping[str, str],
        port: int,
        address: str = "127.0.0.1",
        bmc_uuid: uuid.UUID | None = None,
    ) -> None:
        super().__init__(dict(authdata), port=port, bmcuuid=bmc_uuid, address=address)
        self.node = node

    def sessionless_data(self, data: Any, sockaddr: Any) -> None:
        packet = bytearray(data)
        if _is_open_session_request(packet):
            _Session(self.authdata, self.kg, sockaddr, self.serversocket, packet[16:], self.uuid, bmc=self)
            return
        super().sessionless_data(data, sockaddr)

    def get_system_guid(self) -> uuid.UUID:
        guid: uuid.UUID = self.uuid
        return guid

    def get_power_state(self) -> str:
        return "on" if self.node.is_on() else "off"

    def power_on(self) -> int:
        self.node.power_on()
        return 0

    def power_off(self) -> int:
        self.node.power_off()
        return 0

    def power_shutdown(self) -> int:
        self.node.power_off(graceful=True)
        return 0

    def power_cycle(self) -> int:
        # IPMI: "power cycle" on a node that is off is an error (0xd5: not supported in present state).
        if not self.node.is_on():
            return 0xD5
        self.node.power_off()
        self.node.power_on()
        return 0

    def power_reset(self) -> int:
        if not self.node.is_on():
            return 0xD5
        self.node.power_off()
        self.node.power_on()
        return 0

    def get_boot_device(self) -> str:
        return self.node.get_boot_device()

    def set_boot_device(self, bootdevice: str) -> None:
        self.node.set_boot_device(bootdevice)

    def cold_reset(self) -> int:
        return 0
