"""Driver registry: each hardware type names its driver_info fields and composes its interfaces.

One explicit table, no scanning: ``DRIVERS[name].build(driver_info, provisioner)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tripleo.baremetal.drivers.base import (
    BOOT_DEVICES,
    DeployConfig,
    Driver,
    DriverError,
    HardwareFacts,
    Inventory,
    NicFacts,
    NoDeploy,
    NoInspect,
    Provisioner,
)
from tripleo.baremetal.drivers.fake import FAKE_MACHINES, FakeBmc, FakeMachine, FakeMachines
from tripleo.baremetal.drivers.ipmi import IpmiBmc
from tripleo.baremetal.drivers.lab import LabProvisioning
from tripleo.baremetal.drivers.redfish import RedfishBmc

__all__ = [
    "BOOT_DEVICES",
    "DRIVERS",
    "FAKE_MACHINES",
    "DeployConfig",
    "Driver",
    "DriverError",
    "DriverSpec",
    "FakeMachine",
    "FakeMachines",
    "HardwareFacts",
    "Inventory",
    "NicFacts",
    "Provisioner",
    "build_driver",
]

Builder = Callable[[Mapping[str, Any], "Provisioner | None"], Driver]


@dataclass(frozen=True)
class DriverSpec:
    """A hardware type: the driver_info fields it needs and accepts, and how to build its interfaces."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    build: Builder

    @property
    def fields(self) -> tuple[str, ...]:
        return self.required + self.optional


def _ipmi(info: Mapping[str, Any], _p: Provisioner | None) -> Driver:
    bmc = IpmiBmc(info)
    return Driver("ipmi", bmc, bmc, NoInspect(), NoDeploy("ipmi"), info)


def _redfish(info: Mapping[str, Any], _p: Provisioner | None) -> Driver:
    bmc = RedfishBmc(info)
    return Driver("redfish", bmc, bmc, bmc, NoDeploy("redfish"), info)


def _lab(info: Mapping[str, Any], provisioner: Provisioner | None) -> Driver:
    bmc = IpmiBmc(info)
    lab = LabProvisioning(info, provisioner)
    return Driver("lab", bmc, bmc, lab, lab, info)


def _fake(info: Mapping[str, Any], _p: Provisioner | None) -> Driver:
    bmc = FakeBmc(info)
    return Driver("fake", bmc, bmc, bmc, bmc, info)


_BMC = ("pm_addr",)
_LOGIN = ("pm_port", "pm_user", "pm_password")
DRIVERS: dict[str, DriverSpec] = {
    "ipmi": DriverSpec("ipmi", ("pm_addr", "pm_user", "pm_password"), ("pm_port",), _ipmi),
    "redfish": DriverSpec(
        "redfish",
        ("pm_addr", "pm_system_id"),
        (*_LOGIN, "redfish_verify_ca"),
        _redfish,
    ),
    "lab": DriverSpec("lab", ("pm_addr", "pm_port", "pm_user", "pm_password"), (), _lab),
    "fake": DriverSpec("fake", _BMC, _LOGIN, _fake),
}


def build_driver(name: str, info: Mapping[str, Any], provisioner: Provisioner | None = None) -> Driver:
    """The driver of a node.

    :raises DriverError: an unknown driver name.
    """
    spec = DRIVERS.get(name)
    if spec is None:
        raise DriverError(f"unknown driver {name!r} (have: {', '.join(sorted(DRIVERS))})")
    return spec.build(info, provisioner)
