"""The conductor on both backends: transitions, inspection merge, power polling, locks, recovery, secrets."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from bmkit import FakeClock, die_holding_lock, fake_node

from tripleo.baremetal import (
    Conductor,
    ImportProblems,
    Inventory,
    enroll,
    introspect,
    not_inspected,
    parse_nodes,
    reserve_node,
    states,
    validate_import,
)
from tripleo.baremetal.drivers import FakeMachine, FakeMachines
from tripleo.errors import InputError, OperationError
from tripleo.storage import Base, Database, LockedError, acquire, release
from tripleo.storage.locks import holders

AddNodes = Callable[..., list[str]]
HINT = " (check pm_addr and pm_port)"


def test_migrations_create_exactly_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diff if any(t in repr(d) for t in ("'nodes'", "'ports'"))]
    assert ours == []


def test_import_enrolls_then_manage_verifies_the_bmc(conductor: Conductor, machines: FakeMachines) -> None:
    machines.add("node-0", FakeMachine(power=states.POWER_ON))
    (enrolled,) = enroll(conductor, parse_nodes([fake_node("node-0", "control")]))
    assert enrolled.created and enrolled.node.provision_state == "enroll"
    assert enrolled.node.ports[0].address == "52:54:00:00:00:00"
    node = conductor.manage("node-0")
    assert (node.provision_state, node.power_state) == ("manageable", "power on")
    again = enroll(conductor, parse_nodes([fake_node("node-0", "control", cpu=16)]))
    assert not again[0].created and again[0].node.properties["cpus"] == 16
    assert len(conductor.nodes()) == 1


def test_manage_of_unreachable_bmc_returns_to_enroll_with_the_reason(conductor: Conductor) -> None:
    enroll(conductor, parse_nodes([fake_node("ghost")]))
    with pytest.raises(OperationError, match="fake BMC ghost: power: no answer"):
        conductor.manage("ghost")
    node = conductor.get("ghost")
    assert node.provision_state == "enroll"
    assert node.last_error is not None and "no answer" in node.last_error


def test_validate_import_reports_unreachable_bmcs_and_clashes(
    conductor: Conductor, add_nodes: AddNodes
) -> None:
    add_nodes(fake_node("node-0"))
    specs = parse_nodes([fake_node("node-1", mac_index=0), fake_node("node-2", mac_index=2)])
    with pytest.raises(ImportProblems) as info:
        validate_import(conductor, specs, "f.json")
    assert [str(p) for p in info.value.problems] == [
        "f.json: nodes.0.mac: MAC 52:54:00:00:00:00 belongs to node node-0",
        "f.json: nodes.0.pm_addr: BMC unreachable: fake BMC node-1: power: no answer" + HINT,
        "f.json: nodes.1.pm_addr: BMC unreachable: fake BMC node-2: power: no answer" + HINT,
    ]
    assert [n.name for n in conductor.nodes()] == ["node-0"]


def test_inspection_fills_what_the_bmc_reports_and_names_what_it_kept(
    conductor: Conductor, machines: FakeMachines, add_nodes: AddNodes
) -> None:
    (node_uuid,) = add_nodes(fake_node("node-0", "compute"), state="manageable")
    inventory = Inventory(
        cpus=32,
        macs=("52:54:00:00:00:00", "52:54:00:00:00:99"),
        physical_networks={"52:54:00:00:00:99": "tenant"},
        capabilities={"boot_mode": "uefi"},
    )
    machines.machines["node-0"].inventory = inventory
    node = introspect(conductor, "node-0")
    assert node.provision_state == "manageable"
    assert node.properties["cpus"] == 32
    assert node.properties["memory_mb"] == 4096  # imported, kept
    assert node.profile == "compute"
    assert node.capabilities["boot_mode"] == "uefi"
    assert [(p.address, p.physical_network) for p in node.ports] == [
        ("52:54:00:00:00:00", None),
        ("52:54:00:00:00:99", "tenant"),
    ]
    assert not_inspected(node) == ["memory_mb", "local_gb", "cpu_arch"]
    assert conductor.get(node_uuid).extra["inspection"]["not_inspected"] == [
        "memory_mb",
        "local_gb",
        "cpu_arch",
    ]


def test_inspection_failure_and_a_mac_of_another_node(
    conductor: Conductor, machines: FakeMachines, add_nodes: AddNodes
) -> None:
    add_nodes(fake_node("node-0"), fake_node("node-1", mac_index=1), state="manageable")
    machines.machines["node-0"].fail.add("inspect")
    with pytest.raises(OperationError, match="inspect failed"):
        introspect(conductor, "node-0")
    assert conductor.get("node-0").provision_state == "inspect failed"
    machines.machines["node-0"].fail.clear()
    machines.machines["node-0"].inventory = Inventory(macs=("52:54:00:00:00:01",))
    with pytest.raises(OperationError, match="inspection found MAC 52:54:00:00:00:01 of node node-1"):
        introspect(conductor, "node-0")
    assert conductor.get("node-0").provision_state == "inspect failed"
    machines.machines["node-0"].inventory = Inventory(cpus=4)
    assert introspect(conductor, "node-0", provide=True).provision_state == "available"


def test_provide_powers_off_polling_through_a_delay_and_erases(
    conductor: Conductor, machines: FakeMachines, clock: FakeClock, add_nodes: AddNodes
) -> None:
    add_nodes(fake_node("node-0"), state="manageable")
    machine = machines.machines["node-0"]
    machine.power, machine.power_delay = states.POWER_ON, 3
    node = conductor.provide("node-0")
    assert (node.provision_state, node.power_state) == ("available", "power off")
    assert machine.power == "power off" and machine.wipes == 1
    assert clock.sleeps == 3


def test_power_timeout_names_the_node_and_what_the_bmc_said(
    conductor: Conductor, machines: FakeMachines, add_nodes: AddNodes
) -> None:
    add_nodes(fake_node("node-0"))
    machines.machines["node-0"].power_delay = 1000
    with pytest.raises(
        OperationError, match=r"node node-0: not power on after 10 s \(the BMC reports a power"
    ):
        conductor.power("node-0", states.POWER_ON)
    assert holders(conductor.db) == []


def test_a_second_command_on_a_locked_node_is_refused_with_the_holder(
    conductor: Conductor, add_nodes: AddNodes, db_url: str
) -> None:
    (node_uuid,) = add_nodes(fake_node("node-0"))
    script = (
        "import sys, time\n"
        "from tripleo.storage import Database, acquire\n"
        "db = Database(sys.argv[1]); acquire(db, [sys.argv[2]], 'introspection'); print('held', flush=True)\n"
        "time.sleep(60)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, db_url, f"node:{node_uuid}"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(
            LockedError, match=rf"^node node-0 is locked by introspection \(pid {holder.pid} on "
        ):
            conductor.power("node-0", states.POWER_ON)
    finally:
        holder.kill()
        holder.wait()
    # the holder died: its lock is stale and broken by the next command
    assert conductor.power("node-0", states.POWER_ON).power_state == "power on"
    assert holders(conductor.db) == []


def test_a_node_left_transient_by_a_dead_process_is_recovered_and_reinspected(
    conductor: Conductor, add_nodes: AddNodes, db_url: str
) -> None:
    (node_uuid,) = add_nodes(fake_node("node-0"), state="manageable")
    die_holding_lock(db_url, node_uuid, "introspection")
    conductor.move(node_uuid, "inspect")  # the dead process was inspecting
    assert [h.purpose for h in holders(conductor.db)] == ["introspection"]
    with conductor.locked(node_uuid, "look") as seen:
        assert seen.provision_state == "inspect failed"
        assert seen.last_error == "inspecting was interrupted: the process working on the node died"
    node = introspect(conductor, "node-0", provide=True)
    assert node.provision_state == "available"
    assert holders(conductor.db) == []


def test_delete_refuses_deployed_nodes_and_removes_ports(conductor: Conductor, add_nodes: AddNodes) -> None:
    a, b = add_nodes(fake_node("node-0"), fake_node("node-1", mac_index=1))
    conductor.set_fields(b, instance_uuid="11111111-2222-3333-4444-555555555555")
    assert conductor.delete("node-0").uuid == a
    with pytest.raises(OperationError, match="node node-1 is reserved for instance 11111111-"):
        conductor.delete("node-1")
    with pytest.raises(InputError, match="no node named or with UUID 'node-0'"):
        conductor.get("node-0")
    # the MAC is free again
    assert add_nodes(fake_node("node-2", mac_index=0), state="enroll")


def test_secrets_never_leave_the_record_nor_reach_the_log(
    conductor: Conductor, add_nodes: AddNodes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    add_nodes(fake_node("node-0"))
    conductor.power("node-0", states.POWER_ON)
    node = conductor.get("node-0")
    assert node.driver_info["pm_password"] == "******"
    assert "s3cret-pw" not in repr(node.to_dict())
    assert "s3cret-pw" not in caplog.text
    assert "node-0" in caplog.text  # the log does speak about the node


def test_the_sqlite_file_holding_passwords_is_private(db: Database, conductor: Conductor) -> None:
    path = db.engine.url.database
    if db.engine.url.get_backend_name() != "sqlite" or path is None:
        pytest.skip("a file only on SQLite")
    os.chmod(path, 0o644)
    Conductor(db)
    assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600


def test_lock_names_are_node_uuid(conductor: Conductor, add_nodes: AddNodes) -> None:
    (node_uuid,) = add_nodes(fake_node("node-0"))
    with conductor.locked(node_uuid, "probe"):
        assert [h.name for h in holders(conductor.db)] == [f"node:{node_uuid}"]
    acquire(conductor.db, ["other"], "x")
    release(conductor.db, ["other"])
    assert holders(conductor.db) == []


def test_enroll_is_all_or_nothing(conductor: Conductor, add_nodes: AddNodes) -> None:
    add_nodes(fake_node("node-0"))
    # node-2 reuses node-0's MAC: the database refuses it, and node-1 (before it) is rolled back too
    specs = parse_nodes([fake_node("node-1", mac_index=1), fake_node("node-2", mac_index=0)])
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        enroll(conductor, specs)
    assert [n.name for n in conductor.nodes()] == ["node-0"]


def test_import_refuses_a_uuid_of_another_node(conductor: Conductor, add_nodes: AddNodes) -> None:
    (node_uuid,) = add_nodes(fake_node("node-0"))
    specs = parse_nodes([fake_node("node-1", mac_index=1, uuid=node_uuid)])
    with pytest.raises(ImportProblems, match=rf"nodes.0.uuid: uuid {node_uuid} is taken by node node-0"):
        validate_import(conductor, specs, "f.json", reach=False)


def test_maintenance_keeps_a_node_from_placement(conductor: Conductor, add_nodes: AddNodes) -> None:
    add_nodes(fake_node("node-0", "compute"))
    node = conductor.set_maintenance("node-0", True, "fan broken")
    assert (node.maintenance, node.maintenance_reason) == (True, "fan broken")
    with pytest.raises(OperationError, match="no node available: 1 available"):
        reserve_node(conductor.db, profile="compute", instance_uuid=str(uuid.uuid4()), name="c")
    assert conductor.set_maintenance("node-0", False).maintenance_reason is None
