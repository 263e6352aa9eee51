"""The ``ipmi`` driver: power and boot device over IPMI 2.0 (RMCP+) with pyghmi's client.

IPMI cannot inspect hardware out of band (Ironic inspects such nodes in band, with a ramdisk), so inspection
through this driver reports nothing and the imported properties stay. pyghmi keeps one session per BMC and
user in process-wide state; opening a second ``Command`` on a BMC whose session is still logged in can wait
forever (pyghmi takes the live session for one still logging in). So the driver keeps one ``Command`` per
BMC and user for the life of the process, drops it when it fails, and runs every pyghmi call on one
long-lived worker thread (pyghmi is not thread-safe), never waiting more than ``CALL_TIMEOUT`` for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from pyghmi import exceptions as ipmi_exc  # type: ignore[import-untyped]
from pyghmi.ipmi import command as ipmi_command  # type: ignore[import-untyped]

from tripleo.baremetal import states
from tripleo.baremetal.drivers.base import DriverError

__all__ = ["IpmiBmc"]

LOG = logging.getLogger(__name__)
T = TypeVar("T")
_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyghmi")
_CLIENTS: dict[tuple[str, int, str, str], Any] = {}
CALL_TIMEOUT = 120.0

# IPMI chassis power words -> tripleo, and back.
POWER_STATES = {"on": states.POWER_ON, "off": states.POWER_OFF}
POWER_REQUESTS = {states.POWER_ON: "on", states.POWER_OFF: "off"}
BOOT_DEVICES = {"disk": "hd", "pxe": "network", "cdrom": "optical", "bios": "setup"}


class IpmiBmc:
    """One IPMI BMC: implements the power and management interfaces.

    :param info: driver_info: pm_addr, pm_port (default 623), pm_user, pm_password.
    """

    def __init__(self, info: Mapping[str, Any]) -> None:
        self.address = str(info["pm_addr"])
        self.port = int(info.get("pm_port") or 623)
        self._user = str(info.get("pm_user") or "")
        self._password = str(info.get("pm_password") or "")

    def __repr__(self) -> str:
        return f"IpmiBmc({self.address}:{self.port})"

    def _call(self, what: str, func: Callable[[Any], T]) -> T:
        try:
            return _WORKER.submit(self._run, what, func).result(timeout=CALL_TIMEOUT)
        except FutureTimeout as exc:
            raise DriverError(
                f"IPMI BMC {self.address}:{self.port}: {what}: no answer in {CALL_TIMEOUT:.0f} s"
            ) from exc

    def _run(self, what: str, func: Callable[[Any], T]) -> T:
        where = f"IPMI BMC {self.address}:{self.port}"
        key = (self.address, self.port, self._user, self._password)
        try:
            client = _CLIENTS.get(key)
            if client is None:
                client = ipmi_command.Command(
                    bmc=self.address, port=self.port, userid=self._user, password=self._password
                )
                _CLIENTS[key] = client
            return func(client)
        except ipmi_exc.IpmiException as exc:
            _CLIENTS.pop(key, None)
            reason = str(exc)
            if reason in ("", "None") or "timeout" in reason.lower():
                reason = "no answer (check pm_addr and pm_port)"
            raise DriverError(f"{where}: {what}: {reason}") from exc
        except (OSError, ValueError, KeyError) as exc:
            _CLIENTS.pop(key, None)
            raise DriverError(f"{where}: {what}: {exc}") from exc

    def get_power_state(self) -> str | None:
        def read(client: Any) -> str | None:
            value = client.get_power().get("powerstate")
            if value not in POWER_STATES:
                raise DriverError(f"IPMI BMC {self.address}:{self.port}: unknown power state {value!r}")
            return POWER_STATES[value]

        return self._call("power state", read)

    def set_power_state(self, state: str) -> None:
        request = POWER_REQUESTS[state]
        LOG.info("ipmi %s:%d: chassis power %s", self.address, self.port, request)
        self._call(f"power {request}", lambda client: client.set_power(request, wait=False))

    def set_boot_device(self, device: str, persistent: bool = True) -> None:
        wanted = BOOT_DEVICES[device]
        self._call(f"boot device {wanted}", lambda client: client.set_bootdev(wanted, persist=persistent))
