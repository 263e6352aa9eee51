"""The lab's provisioning primitives as the bare-metal ``lab`` driver needs them (a ``Provisioner``).

The bare-metal package must not import the lab (they are independent layers), so the layer above both
binds them: this adapter turns a BMC port into the lab node behind it and calls the lab's own functions.
"""

from __future__ import annotations

from pathlib import Path

from tripleo.baremetal import DeployConfig, HardwareFacts, NicFacts
from tripleo.errors import OperationError
from tripleo.lab import ConfigDrive, Lab, NodeSpec

__all__ = ["LabProvisioner"]


class LabProvisioner:
    """A :class:`tripleo.baremetal.Provisioner` backed by the lab of ``$TRIPLEO_HOME`` (or ``home``)."""

    def __init__(self, home: Path | None = None) -> None:
        self._lab = Lab(home)

    def _node(self, bmc_port: int) -> NodeSpec:
        config = self._lab.config()
        for node in config.nodes:
            if config.bmc_port(node) == bmc_port:
                return node
        raise OperationError(f"no lab node has its BMC on port {bmc_port}")

    def facts(self, bmc_port: int) -> HardwareFacts:
        node = self._node(bmc_port)
        nics = tuple(NicFacts(mac, net) for net, mac in zip(node.networks, node.macs, strict=True))
        return HardwareFacts(node.cpus, node.memory_mb, node.disk_gb, node.arch, nics)

    def write_config_drive(self, bmc_port: int, config: DeployConfig) -> None:
        # The lab keeps traffic inside its subnets: a gateway off the lab is not routed, so none is passed.
        drive = ConfigDrive(config.hostname.lower(), (config.ssh_public_key,), config.ctlplane_address)
        self._lab.write_config_drive(self._node(bmc_port).name, drive)

    def wipe_disk(self, bmc_port: int) -> None:
        self._lab.wipe_disk(self._node(bmc_port).name)
