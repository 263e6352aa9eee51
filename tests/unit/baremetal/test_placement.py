"""The stack layer's API: reserve (with an explained failure), deploy, undeploy, release."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from bmkit import FakeClock, die_holding_lock, fake_node

from tripleo.baremetal import Conductor, DeployConfig, release_node, reserve_node, undeploy_node
from tripleo.baremetal.deploy import deploy
from tripleo.baremetal.drivers import FakeMachines
from tripleo.errors import InputError, OperationError
from tripleo.storage import Database

AddNodes = Callable[..., list[str]]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE7 test"
INSTANCE = "0b0b0b0b-1111-2222-3333-444444444444"


def config(ip: str = "192.168.24.10") -> DeployConfig:
    return DeployConfig("overcloud-controller-0", KEY, ip, "192.168.24.0/24", "192.168.24.1")


def test_reserve_picks_a_node_with_the_profile_and_is_idempotent(db: Database, add_nodes: AddNodes) -> None:
    add_nodes(
        fake_node("node-0", "control"), fake_node("node-1", "compute", 1), fake_node("node-2", "compute", 2)
    )
    node = reserve_node(db, profile="compute", instance_uuid=INSTANCE, name="overcloud-novacompute-0")
    assert node.name == "node-1"
    assert node.instance_uuid == INSTANCE
    assert node.instance_info["display_name"] == "overcloud-novacompute-0"
    again = reserve_node(db, profile="compute", instance_uuid=INSTANCE, name="overcloud-novacompute-0")
    assert again.uuid == node.uuid
    other = reserve_node(db, profile="compute", instance_uuid=INSTANCE[:-1] + "5", name="c-1")
    assert other.name == "node-2"


def test_reserve_explains_why_no_node_fits(db: Database, add_nodes: AddNodes) -> None:
    add_nodes(fake_node("node-0", "control"), fake_node("node-1", "control", 1), fake_node("node-2", None, 2))
    with pytest.raises(OperationError) as info:
        reserve_node(db, profile="compute", instance_uuid=INSTANCE, name="overcloud-novacompute-0")
    assert str(info.value) == (
        "cannot place server overcloud-novacompute-0: 3 nodes available, none with profile:compute "
        "(1 with no profile, 2 with profile:control)"
    )


def test_reserve_with_no_available_node_counts_the_states(db: Database, add_nodes: AddNodes) -> None:
    add_nodes(fake_node("node-0", "compute"), state="manageable")
    add_nodes(fake_node("node-1", "compute", 1), state="enroll")
    with pytest.raises(OperationError, match=r"no node available: 1 enroll, 1 manageable$"):
        reserve_node(db, profile="compute", instance_uuid=INSTANCE, name="c")


def test_deploy_undeploy_cycle_with_a_fake_machine(
    conductor: Conductor, machines: FakeMachines, clock: FakeClock, add_nodes: AddNodes
) -> None:
    (node_uuid,) = add_nodes(fake_node("node-0", "control"))
    reserve_node(conductor.db, profile="control", instance_uuid=INSTANCE, name="ctl-0")
    answers = iter([False, False, True])
    node = deploy(conductor, node_uuid, config(), reachable=lambda ip: next(answers))
    assert (node.provision_state, node.power_state) == ("active", "power on")
    assert node.instance_info["hostname"] == "overcloud-controller-0"
    machine = machines.machines["node-0"]
    assert machine.deployed == config() and machine.boot_device == "disk"
    assert clock.sleeps == 2
    # deploying the same again changes nothing
    assert deploy(conductor, node_uuid, config(), reachable=lambda ip: False).provision_state == "active"
    node = undeploy_node(conductor.db, node_uuid)
    assert (node.provision_state, node.instance_uuid, node.instance_info) == ("available", None, {})
    assert machine.deployed is None and machine.power == "power off"


def test_deploy_timeout_leaves_deploy_failed_with_the_reason(
    conductor: Conductor, add_nodes: AddNodes
) -> None:
    (node_uuid,) = add_nodes(fake_node("node-0"))
    reserve_node(conductor.db, profile=None, instance_uuid=INSTANCE, name="n")
    with pytest.raises(OperationError, match=r"node node-0: no SSH answer from 192.168.24.10 within 5 s"):
        deploy(conductor, node_uuid, config(), timeout=5, reachable=lambda ip: False)
    node = conductor.get(node_uuid)
    assert node.provision_state == "deploy failed"
    assert node.last_error == "no SSH answer from 192.168.24.10 within 5 s"
    assert undeploy_node(conductor.db, node_uuid).provision_state == "available"


def test_deploy_refuses_unreserved_nodes_and_bad_addresses(conductor: Conductor, add_nodes: AddNodes) -> None:
    (node_uuid,) = add_nodes(fake_node("node-0"))
    with pytest.raises(OperationError, match="node node-0 is not reserved for an instance"):
        deploy(conductor, node_uuid, config(), reachable=lambda ip: True)
    with pytest.raises(InputError, match=r"ctlplane_ip 10.0.0.5 is outside 192.168.24.0/24"):
        deploy(conductor, node_uuid, config("10.0.0.5"), reachable=lambda ip: True)
    assert conductor.get(node_uuid).provision_state == "available"


def test_release_only_undeployed_reservations(conductor: Conductor, add_nodes: AddNodes) -> None:
    (node_uuid,) = add_nodes(fake_node("node-0"))
    reserve_node(conductor.db, profile=None, instance_uuid=INSTANCE, name="n")
    assert release_node(conductor.db, node_uuid).instance_uuid is None
    reserve_node(conductor.db, profile=None, instance_uuid=INSTANCE, name="n")
    deploy(conductor, node_uuid, config(), reachable=lambda ip: True)
    with pytest.raises(OperationError, match="node node-0 is active: undeploy it instead of releasing"):
        release_node(conductor.db, node_uuid)


def test_a_deploy_interrupted_by_a_dead_process_is_retried(
    conductor: Conductor, add_nodes: AddNodes, db_url: str
) -> None:
    (node_uuid,) = add_nodes(fake_node("node-0"))
    reserve_node(conductor.db, profile=None, instance_uuid=INSTANCE, name="n")
    conductor.move(node_uuid, "deploy")
    conductor.move(node_uuid, "wait")
    die_holding_lock(db_url, node_uuid, "deploy n")
    node = deploy(conductor, node_uuid, config(), reachable=lambda ip: True)
    assert (node.provision_state, node.instance_uuid) == ("active", INSTANCE)
