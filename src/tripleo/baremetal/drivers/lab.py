"""The ``lab`` driver: the lab's BMCs over IPMI for power, the lab's primitives for inspection and deploy.

Power and boot device go through the node's real IPMI BMC (on 127.0.0.1), exactly as the ``ipmi`` driver
does. Inspection and provisioning need the lab itself (its node specs, its disks), which this package must
not import (layers: baremetal and lab are independent), so they go through a :class:`Provisioner` that the
layer above injects. The lab node is the one whose BMC listens on ``pm_port``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tripleo.baremetal.drivers.base import DeployConfig, DriverError, Inventory, Provisioner

__all__ = ["LabProvisioning"]


class LabProvisioning:
    """Inspect and deploy interfaces of a lab node, through the injected provisioner."""

    def __init__(self, info: Mapping[str, Any], provisioner: Provisioner | None) -> None:
        self.port = int(info.get("pm_port") or 623)
        self._provisioner = provisioner

    def _lab(self, what: str) -> Provisioner:
        if self._provisioner is None:
            raise DriverError(
                f"lab node on BMC port {self.port}: {what} needs the lab's provisioner "
                "(run it through the tripleo command, which provides it)"
            )
        return self._provisioner

    def inspect(self) -> Inventory:
        facts = self._lab("inspection").facts(self.port)
        return Inventory(
            cpus=facts.cpus,
            memory_mb=facts.memory_mb,
            local_gb=facts.local_gb,
            cpu_arch=facts.cpu_arch,
            macs=tuple(nic.mac for nic in facts.nics),
            physical_networks={nic.mac: nic.network for nic in facts.nics if nic.network},
            capabilities={"boot_mode": "bios"},
        )

    def prepare(self, config: DeployConfig) -> None:
        self._lab("deploying").write_config_drive(self.port, config)

    def tear_down(self) -> None:
        self._lab("cleaning").wipe_disk(self.port)
