"""What a driver is: a composition of small interfaces (power, management, inspect, deploy).

As in Ironic, a hardware type lists one implementation per interface; "no-op" implementations are first
class (an IPMI BMC cannot inspect out of band, a Redfish BMC here cannot write a disk). Every interface
speaks tripleo's vocabulary (``power on``/``power off``, ``disk``/``pxe``); each driver translates its BMC's
words at the edge with an explicit map.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from tripleo.errors import OperationError

__all__ = [
    "BOOT_DEVICES",
    "DeployConfig",
    "DeployInterface",
    "Driver",
    "DriverError",
    "HardwareFacts",
    "InspectInterface",
    "Inventory",
    "ManagementInterface",
    "NicFacts",
    "NoDeploy",
    "NoInspect",
    "PowerInterface",
    "Provisioner",
]

BOOT_DEVICES = ("disk", "pxe", "cdrom", "bios")


class DriverError(OperationError):
    """A BMC refused, failed or could not be reached (the message names the BMC, never its password)."""


@dataclass(frozen=True)
class Inventory:
    """What inspection found. ``None`` means "this BMC does not say": the imported value is kept."""

    cpus: int | None = None
    memory_mb: int | None = None
    local_gb: int | None = None
    cpu_arch: str | None = None
    macs: tuple[str, ...] | None = None
    physical_networks: Mapping[str, str] = field(default_factory=dict)
    capabilities: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeployConfig:
    """What deploying tells the node (written as a config drive): name, key, ctlplane address, gateway."""

    hostname: str
    ssh_public_key: str
    ctlplane_ip: str
    ctlplane_cidr: str
    gateway: str | None = None

    @property
    def ctlplane_address(self) -> str:
        """The address with its prefix length, e.g. ``192.168.24.10/24``."""
        return f"{self.ctlplane_ip}/{self.ctlplane_cidr.rsplit('/', 1)[-1]}"


class PowerInterface(Protocol):
    def get_power_state(self) -> str | None:
        """``power on``, ``power off``, or None while the BMC reports a transition."""

    def set_power_state(self, state: str) -> None:
        """Ask for ``power on`` or ``power off``; the caller polls until the node gets there."""


class ManagementInterface(Protocol):
    def set_boot_device(self, device: str, persistent: bool = True) -> None:
        """Boot from one of :data:`BOOT_DEVICES` next (and every time, if persistent)."""


class InspectInterface(Protocol):
    def inspect(self) -> Inventory: ...


class DeployInterface(Protocol):
    def prepare(self, config: DeployConfig) -> None:
        """Write the node's disk and config drive (the node is off)."""

    def tear_down(self) -> None:
        """Erase the node's disk (the node is off)."""


class NoInspect:
    """An inspect interface for BMCs that cannot inspect out of band: nothing is inspected."""

    def inspect(self) -> Inventory:
        return Inventory()


class NoDeploy:
    """A deploy interface for drivers that cannot write a disk yet: deploying fails with the reason."""

    def __init__(self, driver: str) -> None:
        self.driver = driver

    def prepare(self, config: DeployConfig) -> None:
        raise DriverError(f"the {self.driver} driver cannot deploy an image yet (no deploy interface)")

    def tear_down(self) -> None:
        """Nothing was written, nothing to erase."""


@dataclass(frozen=True)
class NicFacts:
    mac: str
    network: str | None = None


@dataclass(frozen=True)
class HardwareFacts:
    """What the lab knows of one of its nodes (its spec), for inspection."""

    cpus: int
    memory_mb: int
    local_gb: int
    cpu_arch: str
    nics: tuple[NicFacts, ...]


class Provisioner(Protocol):
    """The lab's provisioning primitives, as the lab driver needs them; nodes are named by BMC port.

    Filled in by the layer above (the CLI or the resource plugins) with the lab's functions, so the bare
    metal package never imports the lab: dependency injection rather than a subprocess call to
    ``tripleo lab``, because it keeps errors typed, needs no second process, and lets unit tests pass a
    fake. A BMC port identifies a lab node as a BMC address identifies a real machine.
    """

    def facts(self, bmc_port: int) -> HardwareFacts: ...

    def write_config_drive(self, bmc_port: int, config: DeployConfig) -> None: ...

    def wipe_disk(self, bmc_port: int) -> None: ...


@dataclass(frozen=True)
class Driver:
    """One node's driver: a name and its interfaces."""

    name: str
    power: PowerInterface
    management: ManagementInterface
    inspect: InspectInterface
    deploy: DeployInterface
    info: Mapping[str, Any] = field(default_factory=dict)
