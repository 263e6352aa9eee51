"""The ``redfish`` driver: power, boot device and out-of-band inspection through sushy.

``pm_addr`` is ``host``, ``host:port`` or a URL (``http://127.0.0.1:8000``); without a scheme it is https,
as in Ironic. ``pm_system_id`` is the system's path (``/redfish/v1/Systems/<id>``) or its bare id.
Redfish words (``On``, ``PoweringOff``, ``Hdd``, ``x86-64``) are translated here, with explicit maps.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import sushy  # type: ignore[import-untyped]
from sushy import exceptions as sushy_exc

from tripleo.baremetal import states
from tripleo.baremetal.drivers.base import DriverError, Inventory

__all__ = ["RedfishBmc", "base_url", "system_path"]

LOG = logging.getLogger(__name__)
T = TypeVar("T")
# sushy logs every session fallback, retried 500 (an emulator's "not implemented") and failed login; each
# error that matters reaches the caller as one DriverError line, so sushy's own log stays quiet.
if logging.getLogger("sushy").level == logging.NOTSET:
    logging.getLogger("sushy").setLevel(logging.CRITICAL)

# Redfish PowerState -> tripleo; a transition in progress is None (keep polling).
POWER_STATES: dict[str, str | None] = {
    "On": states.POWER_ON,
    "Off": states.POWER_OFF,
    "PoweringOn": None,
    "PoweringOff": None,
    "Paused": states.POWER_ON,
}
RESET_TYPES = {states.POWER_ON: "On", states.POWER_OFF: "ForceOff"}
BOOT_SOURCES = {"disk": "Hdd", "pxe": "Pxe", "cdrom": "Cd", "bios": "BiosSetup"}
# Redfish InstructionSet / ProcessorArchitecture -> the cpu_arch names Ironic uses.
ARCHES = {"x86-64": "x86_64", "x86": "i686", "ARM-A64": "aarch64", "ARM-A32": "armv7l", "PowerISA": "ppc64le"}
_GIB = 1 << 30


def base_url(info: Mapping[str, Any]) -> str:
    """The BMC's base URL from ``pm_addr`` (and ``pm_port``, which overrides a port in ``pm_addr``)."""
    addr = str(info["pm_addr"])
    if "://" not in addr:
        if addr.count(":") > 1 and not addr.startswith("["):
            addr = f"[{addr}]"  # a bare IPv6 address
        addr = f"https://{addr}"
    parts = urlsplit(addr)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = info.get("pm_port") or parts.port
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}"


def system_path(system_id: str) -> str:
    """``/redfish/v1/Systems/<id>`` from a path or a bare id."""
    if system_id.startswith("/"):
        return system_id.rstrip("/")
    return f"/redfish/v1/Systems/{system_id}"


class RedfishBmc:
    """One Redfish system: implements the power, management and inspect interfaces.

    :param info: the node's driver_info (pm_addr, pm_port, pm_user, pm_password, pm_system_id).
    :param timeout: seconds to wait for the BMC to connect / answer.
    """

    def __init__(self, info: Mapping[str, Any], timeout: float = 10.0) -> None:
        self.url = base_url(info)
        self.path = system_path(str(info["pm_system_id"]))
        self._user = info.get("pm_user")
        self._password = info.get("pm_password")
        self._verify = bool(info.get("redfish_verify_ca", True))
        self._timeout = timeout
        self._conn: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RedfishBmc({self.url}{self.path})"

    def _call(self, what: str, func: Callable[[Any], T]) -> T:
        """Run ``func(system)``; every sushy or connection error becomes a DriverError naming the BMC."""
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = sushy.Sushy(
                        f"{self.url}/redfish/v1/",
                        username=self._user,
                        password=self._password,
                        verify=self._verify,
                        connect_timeout=self._timeout,
                        read_timeout=self._timeout * 3,
                        server_side_retries=1,
                        server_side_retries_delay=1,
                    )
                return func(self._conn.get_system(self.path))
            except sushy_exc.AccessError as exc:
                raise DriverError(
                    f"Redfish BMC {self.url}: {what}: access denied (check pm_user/pm_password)"
                ) from exc
            except sushy_exc.ConnectionError as exc:
                self._conn = None
                raise DriverError(
                    f"Redfish BMC {self.url}: {what}: no answer (check pm_addr and pm_port)"
                ) from exc
            except sushy_exc.ResourceNotFoundError as exc:
                raise DriverError(f"Redfish BMC {self.url}: {what}: no system {self.path}") from exc
            except (sushy_exc.SushyError, OSError) as exc:
                self._conn = None
                raise DriverError(f"Redfish BMC {self.url}: {what}: {_short(exc)}") from exc

    # -- power --------------------------------------------------------------------------------------------

    def get_power_state(self) -> str | None:
        def read(system: Any) -> str | None:
            value = system.json.get("PowerState")
            if value not in POWER_STATES:
                raise DriverError(f"Redfish BMC {self.url}: unknown PowerState {value!r}")
            return POWER_STATES[value]

        return self._call("power state", read)

    def set_power_state(self, state: str) -> None:
        reset = sushy.ResetType(RESET_TYPES[state])
        LOG.info("redfish %s%s: %s", self.url, self.path, reset.value)
        self._call(f"reset {reset.value}", lambda system: system.reset_system(reset))

    # -- management ---------------------------------------------------------------------------------------

    def set_boot_device(self, device: str, persistent: bool = True) -> None:
        source = sushy.BootSource(BOOT_SOURCES[device])
        enabled = (
            sushy.BootSourceOverrideEnabled.CONTINUOUS if persistent else sushy.BootSourceOverrideEnabled.ONCE
        )
        self._call(
            f"boot device {source.value}",
            lambda system: system.set_system_boot_options(target=source, enabled=enabled),
        )

    # -- inspect ------------------------------------------------------------------------------------------

    def inspect(self) -> Inventory:
        """ProcessorSummary, MemorySummary, EthernetInterfaces, SimpleStorage/Storage and the boot mode.

        Whatever the BMC does not offer stays None (the caller keeps the imported value).
        """
        return self._call("inspect", _inventory)


def _inventory(system: Any) -> Inventory:
    doc: dict[str, Any] = system.json
    cpus = _int(doc.get("ProcessorSummary", {}).get("Count"))
    gib = doc.get("MemorySummary", {}).get("TotalSystemMemoryGiB")
    memory_mb = int(float(gib) * 1024) if isinstance(gib, (int, float)) and gib > 0 else None
    caps: dict[str, str] = {}
    mode = doc.get("Boot", {}).get("BootSourceOverrideMode")
    if mode in ("UEFI", "Legacy"):
        caps["boot_mode"] = "uefi" if mode == "UEFI" else "bios"
    return Inventory(
        cpus=cpus if cpus else _optional(lambda: _int(system.processors.summary.count) or None),
        memory_mb=memory_mb,
        local_gb=_optional(lambda: _disk_gb(system)),
        cpu_arch=_optional(lambda: _arch(system)),
        macs=_optional(lambda: tuple(sorted(m.lower() for m in system.ethernet_interfaces.summary)) or None),
        capabilities=caps,
    )


def _optional(func: Callable[[], T | None]) -> T | None:
    """A value the BMC may not offer: None when the resource is missing or broken."""
    try:
        return func()
    except (sushy_exc.SushyError, AttributeError, TypeError, ValueError, KeyError):
        return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _disk_gb(system: Any) -> int | None:
    sizes: list[int] = []
    for getter in (
        lambda: system.simple_storage.disks_sizes_bytes,
        lambda: system.storage.drives_sizes_bytes,
    ):
        found = _optional(getter)
        if found:
            sizes.extend(found)
    return max(sizes) // _GIB if sizes and max(sizes) >= _GIB else None


def _arch(system: Any) -> str | None:
    for proc in system.processors.get_members():
        for value in (proc.instruction_set, proc.processor_architecture):
            if value is not None and getattr(value, "value", value) in ARCHES:
                return ARCHES[getattr(value, "value", value)]
    return None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__
