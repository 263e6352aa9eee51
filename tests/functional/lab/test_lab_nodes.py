"""Acceptance 1 and 2 of the lab, and its BMCs driven by ipmitool and pyghmi (`lab up --nodes 3`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from labkit import RunningLab, lab_names, wait_until
from pyghmi.ipmi import command as ipmi_command

from tripleo.errors import InputError, OperationError
from tripleo.lab import Lab, default_config

pytestmark = pytest.mark.lab


def test_power_on_with_config_drive_then_ssh_runs_hostname(lab3: RunningLab) -> None:
    lab3.provision("node-1", "192.168.24.11/24")
    lab3.power_on("node-1")
    took = lab3.wait_ssh("192.168.24.11", timeout=10)
    result = lab3.ssh("192.168.24.11", "hostname")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "node-1.lab"
    assert took < 10


def test_etc_file_stays_in_its_node_and_survives_a_power_cycle(lab3: RunningLab) -> None:
    lab3.provision("node-0", "192.168.24.10/24")
    lab3.power_on("node-0")
    if lab3.ipmitool("node-1", "chassis", "power", "status") == "Chassis Power is off":
        lab3.power_on("node-1")
    wait_until(lambda: lab3.api.is_up("node-1"), 5, "node-1 up")
    lab3.wait_ssh("192.168.24.10")
    lab3.node_sh("node-0", "echo from-node-0 > /etc/tl-probe")
    assert not Path("/etc/tl-probe").exists()
    assert lab3.node_sh("node-1", "test -e /etc/tl-probe", check=False).returncode == 1
    # power off: nothing of the node stays; power status follows
    lab3.power_off("node-0")
    assert lab3.ipmitool("node-0", "chassis", "power", "status") == "Chassis Power is off"
    pids = subprocess.run(["ip", "netns", "pids", "tl-node-0"], capture_output=True, text=True).stdout
    assert pids.split() == []
    node_dir = str(lab3.home / "lab" / "nodes" / "node-0")
    assert not [p for p in Path("/proc").glob("[0-9]*/cmdline") if _reads(p).find(node_dir) >= 0]
    lab3.power_on("node-0")
    assert lab3.ipmitool("node-0", "chassis", "power", "status") == "Chassis Power is on"
    lab3.wait_ssh("192.168.24.10")
    assert lab3.ssh("192.168.24.10", "cat /etc/tl-probe").stdout.strip() == "from-node-0"


def _reads(path: Path) -> str:
    try:
        return path.read_bytes().decode(errors="replace")
    except OSError:
        return ""


def test_node_sees_its_own_root_and_a_read_only_usr(lab3: RunningLab) -> None:
    lab3.power_on("node-2")
    wait_until(lambda: lab3.api.is_up("node-2"), 5, "node-2 up")
    out = lab3.node_sh(
        "node-2",
        "hostname; ls -A /root; touch /usr/tl-x 2>&1; touch /tl-x 2>&1; ls /tmp | wc -l",
        check=False,
    ).stdout
    lines = out.splitlines()
    assert lines[0] == "node-2"  # no config drive: its own name
    assert ".bashrc" in lines and ".profile" in lines
    assert not any(name in lines for name in (".bash_history", ".ssh", ".local"))
    assert "Read-only file system" in out
    assert not Path("/usr/tl-x").exists() and not Path("/tl-x").exists()


def test_pyghmi_client_logs_in_and_drives_power_and_boot_device(lab3: RunningLab) -> None:
    bmc = lab3.bmc("node-2")
    client = ipmi_command.Command(
        bmc=bmc["pm_addr"], port=bmc["pm_port"], userid=bmc["pm_user"], password=bmc["pm_password"]
    )
    try:
        client.set_power("off", wait=True)
        assert client.get_power() == {"powerstate": "off"}
        client.set_power("on", wait=True)
        assert client.get_power() == {"powerstate": "on"}
        client.set_bootdev("network")
        assert client.get_bootdev()["bootdev"] == "network"
        client.set_bootdev("hd")
        assert client.get_bootdev()["bootdev"] == "hd"
    finally:
        client.ipmi_session.logout()


def test_ipmitool_boot_device_soft_off_and_cycle(lab3: RunningLab) -> None:
    lab3.ipmitool("node-2", "chassis", "bootdev", "pxe")
    assert "Force PXE" in lab3.ipmitool("node-2", "chassis", "bootparam", "get", "5")
    status = {row["name"]: row for row in json.loads(lab3.cli("lab", "status", "-f", "json").stdout)}
    assert status["node-2"]["boot_device"] == "network"
    lab3.ipmitool("node-2", "chassis", "power", "soft")
    wait_until(lambda: not lab3.api.is_on("node-2"), 10, "node-2 soft power off")
    lab3.power_on("node-2")
    before = lab3.api.status()
    lab3.ipmitool("node-2", "chassis", "power", "cycle")
    assert lab3.ipmitool("node-2", "chassis", "power", "status") == "Chassis Power is on"
    assert [s.power for s in before if s.name == "node-2"] == ["on"]


def test_status_lists_nodes_and_wrong_password_is_refused(lab3: RunningLab) -> None:
    rows = json.loads(lab3.cli("lab", "status", "-f", "json").stdout)
    assert [r["name"] for r in rows] == ["node-0", "node-1", "node-2"]
    assert all(row["ctlplane_ip"] in (None, f"192.168.24.1{i}") for i, row in enumerate(rows))
    assert rows[0]["networks"][0] == "ctlplane" and len(rows[0]["networks"]) == 7
    values = lab3.cli("lab", "status", "-f", "value", "-c", "name", "-c", "pm_port").stdout.split()
    assert values == ["node-0", "6230", "node-1", "6231", "node-2", "6232"]
    bad = subprocess.run(
        [
            "ipmitool",
            "-I",
            "lanplus",
            "-H",
            "127.0.0.1",
            "-p",
            "6230",
            "-U",
            "admin",
            "-P",
            "wrong",
            "-N",
            "1",
            "-R",
            "1",
            "chassis",
            "power",
            "status",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode != 0


def test_instackenv_describes_the_lab_and_is_private(lab3: RunningLab) -> None:
    path = lab3.home / "lab" / "instackenv.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert (lab3.home / "lab" / "lab.json").stat().st_mode & 0o777 == 0o600
    node = lab3.instackenv()["nodes"][1]
    assert node["pm_type"] == "lab" and node["pm_addr"] == "127.0.0.1" and node["pm_port"] == 6231
    assert node["mac"] == ["52:54:00:24:01:00"]
    assert [p["physical_network"] for p in node["ports"]] == ["ctlplane", "internal_api", "tenant", "storage"]
    assert {k: node[k] for k in ("cpu", "memory", "disk", "arch")} == {
        "cpu": 2,
        "memory": 8192,
        "disk": 40,
        "arch": "x86_64",
    }
    assert node["pm_password"] not in (lab3.home / "lab" / "daemon.log").read_text()


def test_provisioning_primitives_refuse_a_running_node_and_wipe_the_disk(lab3: RunningLab) -> None:
    lab3.power_on("node-1")
    wait_until(lambda: lab3.api.is_on("node-1"), 5, "node-1 on")
    with pytest.raises(OperationError, match="powered on"):
        lab3.api.wipe_disk("node-1")
    with pytest.raises(InputError, match="no lab node"):
        lab3.api.wipe_disk("node-9")
    lab3.node_sh("node-1", "echo x > /etc/tl-wiped")
    lab3.power_off("node-1")
    lab3.cli("lab", "wipe", "node-1")
    lab3.power_on("node-1")
    wait_until(lambda: lab3.api.is_up("node-1"), 5, "node-1 up")
    assert lab3.node_sh("node-1", "test -e /etc/tl-wiped; echo $?; hostname").stdout.split() == [
        "1",
        "node-1",
    ]


def test_up_twice_duplicates_nothing_and_a_different_config_is_refused(lab3: RunningLab) -> None:
    before = lab_names()
    lab3.cli("lab", "up", "--nodes", "3")
    assert lab_names() == before
    # this lab's daemon (its directory is on its command line): other labs' may run beside it
    mine = [_reads(p) for p in Path("/proc").glob("[0-9]*/cmdline")]
    daemons = [c for c in mine if "tripleo.lab.daemon" in c and str(lab3.home / "lab") in c]
    assert len(daemons) == 1
    refused = lab3.cli("lab", "up", "--nodes", "2", check=False)
    assert refused.returncode == 2 and "different config" in refused.stderr
    with pytest.raises(InputError):
        Lab(lab3.home).up(default_config(4))
