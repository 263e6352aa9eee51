"""The ``fake`` driver: in-memory machines for unit tests (the real paths are covered by functional tests).

A machine is named by its ``pm_addr``; a node whose machine does not exist behaves like an unreachable BMC.
A machine can delay power changes (``power_delay`` polls report a transition) and fail chosen operations.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tripleo.baremetal import states
from tripleo.baremetal.drivers.base import DeployConfig, DriverError, Inventory

__all__ = ["FAKE_MACHINES", "FakeBmc", "FakeMachine", "FakeMachines"]


@dataclass
class FakeMachine:
    """One fake server: power, boot device, what inspection finds, what deploy wrote."""

    power: str = states.POWER_OFF
    boot_device: str = "disk"
    inventory: Inventory = field(default_factory=Inventory)
    power_delay: int = 0
    fail: set[str] = field(default_factory=set)
    deployed: DeployConfig | None = None
    wipes: int = 0
    password: str | None = None
    _pending: str | None = None
    _polls: int = 0


class FakeMachines:
    """A registry of fake machines by name (``pm_addr``)."""

    def __init__(self) -> None:
        self.machines: dict[str, FakeMachine] = {}
        self.lock = threading.Lock()

    def add(self, name: str, machine: FakeMachine | None = None) -> FakeMachine:
        self.machines[name] = machine or FakeMachine()
        return self.machines[name]

    def clear(self) -> None:
        self.machines.clear()


FAKE_MACHINES = FakeMachines()


class FakeBmc:
    """Power, management, inspect and deploy interfaces of one fake machine."""

    def __init__(self, info: Mapping[str, Any], machines: FakeMachines = FAKE_MACHINES) -> None:
        self.name = str(info["pm_addr"])
        self._password = info.get("pm_password")
        self._machines = machines

    def _machine(self, what: str) -> FakeMachine:
        machine = self._machines.machines.get(self.name)
        if machine is None:
            raise DriverError(f"fake BMC {self.name}: {what}: no answer (check pm_addr and pm_port)")
        if machine.password is not None and machine.password != self._password:
            raise DriverError(f"fake BMC {self.name}: {what}: access denied (check pm_user/pm_password)")
        if what in machine.fail:
            raise DriverError(f"fake BMC {self.name}: {what} failed")
        return machine

    def get_power_state(self) -> str | None:
        with self._machines.lock:
            machine = self._machine("power")
            if machine._pending is not None:
                if machine._polls > 0:
                    machine._polls -= 1
                    return None
                machine.power, machine._pending = machine._pending, None
            return machine.power

    def set_power_state(self, state: str) -> None:
        with self._machines.lock:
            machine = self._machine("power")
            if machine.power != state:
                machine._pending, machine._polls = state, machine.power_delay

    def set_boot_device(self, device: str, persistent: bool = True) -> None:
        with self._machines.lock:
            self._machine("boot device").boot_device = device

    def inspect(self) -> Inventory:
        with self._machines.lock:
            return self._machine("inspect").inventory

    def prepare(self, config: DeployConfig) -> None:
        with self._machines.lock:
            self._machine("deploy").deployed = config

    def tear_down(self) -> None:
        with self._machines.lock:
            machine = self._machine("clean")
            machine.deployed = None
            machine.wipes += 1
