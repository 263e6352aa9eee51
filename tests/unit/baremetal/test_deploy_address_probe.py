"""Before a node is given its ctlplane address, the deploy asks whether another machine holds it (issue 22):
a conflict fails the deploy at once, with the node off, its disk untouched and the reason recorded."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from bmkit import FakeClock, fake_node

from tripleo.baremetal import Conductor, DeployConfig, reserve_node
from tripleo.baremetal.deploy import deploy
from tripleo.baremetal.drivers import FakeMachines
from tripleo.network import AddressInUse

AddNodes = Callable[..., list[str]]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE7 test"
CONFIG = DeployConfig("overcloud-controller-0", KEY, "192.168.24.11", "192.168.24.0/24", "192.168.24.1")


class Segment:
    """A fake segment: which MAC answers ARP for which address, and what the node's power was when asked."""

    def __init__(self, machines: FakeMachines, holders: dict[str, str]) -> None:
        self.machines, self.holders = machines, holders
        self.asked: list[tuple[str, str]] = []

    def check(self, address: str) -> None:
        self.asked.append((address, self.machines.machines["node-0"].power))
        if address in self.holders:
            raise AddressInUse(address, self.holders[address], "br-ctlplane")


def test_an_address_another_machine_answers_for_fails_the_deploy_at_once(
    conductor: Conductor, machines: FakeMachines, clock: FakeClock, add_nodes: AddNodes
) -> None:
    (node_uuid,) = add_nodes(fake_node("node-0", "control"))
    reserve_node(conductor.db, profile="control", instance_uuid="i-1", name="ctl-0")
    segment = Segment(machines, {"192.168.24.11": "52:54:00:24:01:00"})
    with pytest.raises(AddressInUse) as info:
        deploy(conductor, node_uuid, CONFIG, reachable=lambda ip: True, check_address=segment.check)
    message = "address 192.168.24.11 is in use: 52:54:00:24:01:00 answers ARP for it on br-ctlplane"
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
    assert info.value.exit_code == 1
    assert segment.asked == [("192.168.24.11", "power off")]  # asked once the node itself was off
    machine = machines.machines["node-0"]
    assert machine.deployed is None and machine.power == "power off"  # nothing written, not booted
    node = conductor.get(node_uuid)
    assert node.provision_state == "deploy failed" and node.last_error is not None
    assert node.last_error.startswith(message)
    assert clock.sleeps == 0  # no wait for an SSH that would never come


def test_a_free_address_is_deployed_and_a_retry_after_the_conflict_succeeds(
    conductor: Conductor, machines: FakeMachines, add_nodes: AddNodes
) -> None:
    (node_uuid,) = add_nodes(fake_node("node-0", "control"))
    reserve_node(conductor.db, profile="control", instance_uuid="i-1", name="ctl-0")
    segment = Segment(machines, {"192.168.24.11": "52:54:00:24:01:00"})
    with pytest.raises(AddressInUse):
        deploy(conductor, node_uuid, CONFIG, reachable=lambda ip: True, check_address=segment.check)
    segment.holders.clear()  # the other machine let the address go
    node = deploy(conductor, node_uuid, CONFIG, reachable=lambda ip: True, check_address=segment.check)
    assert node.provision_state == "active" and machines.machines["node-0"].deployed == CONFIG
    assert [a for a, _ in segment.asked] == ["192.168.24.11", "192.168.24.11"]
