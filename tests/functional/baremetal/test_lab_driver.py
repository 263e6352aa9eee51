"""Acceptance 2 against the lab's IPMI BMCs, and the deploy API on a real lab node (both backends)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from labkit import RunningLab, wait_until
from metalkit import tripleo_env

from tripleo import baremetal
from tripleo.cli.baremetal_lab import LabProvisioner
from tripleo.lab import default_config
from tripleo.storage import Database

TRIPLEO = str(Path(sys.executable).with_name("tripleo"))
pytestmark = [pytest.mark.lab, pytest.mark.slow]


def tripleo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([TRIPLEO, *args], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"tripleo {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc


def show(env: dict[str, str], name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(tripleo(env, "baremetal", "node", "show", name, "-f", "json").stdout)
    return data


def test_import_lab_instackenv_then_introspect_all_manageable_provide(lab: RunningLab, db_url: str) -> None:
    env = tripleo_env(lab.home, db_url)
    instackenv = lab.home / "lab" / "instackenv.json"
    out = tripleo(env, "overcloud", "node", "import", str(instackenv)).stdout.splitlines()
    assert out[1:] == ["node-0: manageable", "node-1: manageable", "node-2: manageable"]
    out = tripleo(env, "overcloud", "node", "introspect", "--all-manageable", "--provide").stdout.splitlines()
    assert [line.split(" (")[0] for line in out] == [
        "node-0: available",
        "node-1: available",
        "node-2: available",
    ]
    assert not any("not inspected" in line for line in out), out
    for spec in default_config(3).nodes:
        node = show(env, spec.name)
        assert node["provision_state"] == "available"
        assert node["power_state"] == "power off"
        props = node["properties"]
        assert (props["cpus"], props["memory_mb"], props["local_gb"]) == (
            spec.cpus,
            spec.memory_mb,
            spec.disk_gb,
        )
        assert node["ports"] == sorted(spec.macs)  # one port per NIC
        assert node["profile"] == spec.profile
        assert node["driver_info"]["pm_password"] == "******"
    # acceptance 3 on the lab's tagged nodes: node-0 profile:control, node-1 and node-2 profile:compute
    match = tripleo(
        env, "overcloud", "profiles", "match", "--role", "Controller=1", "--role", "Compute=2", "-f", "json"
    )
    assert [(c["role"], c["node"]) for c in json.loads(match.stdout)] == [
        ("Controller", "node-0"),
        ("Compute", "node-1"),
        ("Compute", "node-2"),
    ]
    short = subprocess.run(
        [TRIPLEO, "overcloud", "profiles", "match", "--control-scale", "1", "--compute-scale", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert short.returncode == 1
    assert short.stderr.splitlines() == [
        "ERROR: Compute needs 3 nodes with profile:compute, found 2 (node-1, node-2); the others lack it: "
        "node-0 went to Controller"
    ]


def test_power_through_the_lab_bmc_and_deploy_a_node(lab: RunningLab, db_url: str) -> None:
    env = tripleo_env(lab.home, db_url)
    tripleo(env, "overcloud", "node", "import", "--provide", str(lab.home / "lab" / "instackenv.json"))
    assert tripleo(env, "baremetal", "node", "power", "on", "node-2").stdout.strip() == "node-2: power on"
    assert lab.ipmitool("node-2", "chassis", "power", "status") == "Chassis Power is on"
    wait_until(lambda: lab.api.is_on("node-2"), 5, "node-2 on")
    assert tripleo(env, "baremetal", "node", "power", "off", "node-2").stdout.strip() == "node-2: power off"
    assert not lab.api.is_on("node-2")

    db = Database(db_url)
    db.upgrade()
    provisioner = LabProvisioner(lab.home)
    try:
        instance = str(uuid.uuid4())
        node = baremetal.reserve_node(
            db, profile="compute", instance_uuid=instance, name="overcloud-novacompute-0"
        )
        assert node.name == "node-1"
        node = baremetal.deploy_node(
            db,
            node.uuid,
            hostname="overcloud-novacompute-0",
            ssh_public_key=lab.api.public_key(),
            ctlplane_ip="192.168.24.21",
            ctlplane_cidr="192.168.24.0/24",
            timeout=30,
            provisioner=provisioner,
        )
        assert (node.provision_state, node.power_state) == ("active", "power on")
        assert lab.ssh("192.168.24.21", "hostname").stdout.strip() == "overcloud-novacompute-0"
        node = baremetal.undeploy_node(db, node.uuid, provisioner=provisioner)
        assert (node.provision_state, node.instance_uuid) == ("available", None)
        assert not lab.api.is_on("node-1")
        assert not (lab.home / "lab" / "nodes" / "node-1" / "disk" / "config-drive").exists()
    finally:
        db.dispose()
