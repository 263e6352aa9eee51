"""The Lab facade with a fake host: provisioning primitives, status, teardown, instackenv, public API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tripleo.lab
from tripleo.errors import InputError, OperationError
from tripleo.lab import ConfigDrive, Lab, default_config
from tripleo.lab.lab import instackenv
from tripleo.lab.paths import write_private
from tripleo.lab.system import RecordingRunner, Result

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDummyKeyForTests tripleo-lab"


def make_lab(tmp_path: Path, running: frozenset[str] = frozenset()) -> tuple[Lab, RecordingRunner]:
    answers: dict[tuple[str, ...], Result] = {
        ("ip", "netns", "pids", f"tl-{name}"): Result(0, "4242\n") for name in running
    }
    runner = RecordingRunner(answers)
    lab = Lab(tmp_path, runner)
    write_private(lab.paths.state, {"config": default_config(2).to_dict(), "bmc_password": "pw"})
    return lab, runner


def test_write_config_drive_then_status_shows_the_address(tmp_path: Path) -> None:
    lab, _ = make_lab(tmp_path)
    lab.write_config_drive("node-1", ConfigDrive("node-1", (KEY,), "192.168.24.11/24"))
    rows = {s.name: s for s in lab.status()}
    assert rows["node-1"].ctlplane_ip == "192.168.24.11"
    assert rows["node-0"].ctlplane_ip is None
    assert rows["node-1"].power == "off" and rows["node-1"].pm_port == 6231
    network = json.loads(
        (lab.paths.node("node-1").config_drive / "openstack/latest/network_data.json").read_text()
    )
    assert network["links"][0]["ethernet_mac_address"] == "52:54:00:24:01:00"


def test_primitives_refuse_a_running_node(tmp_path: Path) -> None:
    lab, _ = make_lab(tmp_path, running=frozenset({"node-0"}))
    with pytest.raises(OperationError, match="node-0 is powered on"):
        lab.write_config_drive("node-0", ConfigDrive("node-0"))
    with pytest.raises(OperationError, match="node-0 is powered on"):
        lab.wipe_disk("node-0")
    assert [s.power for s in lab.status()] == ["on", "off"]


def test_wipe_disk_removes_the_disk_and_its_drive(tmp_path: Path) -> None:
    lab, _ = make_lab(tmp_path)
    lab.write_config_drive("node-0", ConfigDrive("node-0"))
    upper = lab.paths.node("node-0").layer("etc")[0]
    upper.mkdir(parents=True)
    (upper / "hostname").write_text("x\n")
    lab.wipe_disk("node-0")
    assert not lab.paths.node("node-0").disk.exists()
    with pytest.raises(InputError, match="no lab node named 'node-7'"):
        lab.wipe_disk("node-7")


def test_console_needs_a_running_node_and_enters_its_namespaces(tmp_path: Path) -> None:
    lab, _ = make_lab(tmp_path)
    with pytest.raises(OperationError, match="powered off"):
        lab.console_argv("node-0")


def test_no_lab_is_an_operation_error(tmp_path: Path) -> None:
    lab = Lab(tmp_path / "elsewhere", RecordingRunner())
    with pytest.raises(OperationError, match="no lab is up"):
        lab.status()
    with pytest.raises(OperationError, match="run `tripleo lab up`"):
        lab.public_key()


def test_down_removes_by_prefix_and_checks_nothing_is_left(tmp_path: Path) -> None:
    lab, runner = make_lab(tmp_path)
    runner.answers[("ip", "-j", "link")] = Result(
        0, json.dumps([{"ifname": "eth0"}, {"ifname": "tl-ctlplane"}])
    )
    runner.answers[("ip", "-j", "netns")] = Result(0, json.dumps([{"name": "tl-node-0"}, {"name": "blue"}]))
    lab._daemon_pids = lambda name: []  # type: ignore[method-assign]
    with pytest.raises(OperationError, match="left tl-ctlplane, tl-node-0 behind"):
        lab.down()  # the fake host does not change, so the check after removal must notice
    assert ("ip", "netns", "delete", "tl-node-0") in runner.commands
    assert ("ip", "link", "delete", "tl-ctlplane") in runner.commands
    assert not [c for c in runner.commands if "blue" in c or "eth0" in c]


def test_down_on_a_clean_host_is_fine(tmp_path: Path) -> None:
    lab, runner = make_lab(tmp_path)
    runner.answers[("nft", "list")] = Result(1)
    lab._daemon_pids = lambda name: []  # type: ignore[method-assign]
    report = lab.down()
    assert (report.namespaces, report.links, report.nft_table, report.state_dir) == (0, 0, False, True)
    assert not lab.paths.root.exists()


def test_instackenv_has_one_lab_node_per_node() -> None:
    env = instackenv(default_config(2), "pw")
    node = env["nodes"][0]
    assert node == {
        "name": "node-0",
        "pm_type": "lab",
        "pm_addr": "127.0.0.1",
        "pm_port": 6230,
        "pm_user": "admin",
        "pm_password": "pw",
        "mac": ["52:54:00:24:00:00"],
        "ports": [
            {"address": f"52:54:00:24:00:{i:02x}", "physical_network": net}
            for i, net in enumerate(
                ["ctlplane", "external", "internal_api", "storage", "storage_mgmt", "tenant", "management"]
            )
        ],
        "cpu": 2,
        "memory": 8192,
        "disk": 40,
        "arch": "x86_64",
        "capabilities": "profile:control,boot_option:local",
    }
    assert env["nodes"][1]["capabilities"].startswith("profile:compute")


def test_state_files_are_private(tmp_path: Path) -> None:
    lab, _ = make_lab(tmp_path)
    assert lab.paths.state.stat().st_mode & 0o777 == 0o600


def test_public_api_is_complete() -> None:
    for name in tripleo.lab.__all__:
        assert hasattr(tripleo.lab, name), name
    public = {n for n in vars(tripleo.lab) if not n.startswith("_")}
    modules = {
        "config",
        "drive",
        "lab",
        "paths",
        "network",
        "system",
        "power",
        "bmc",
        "daemon",
        "nodeinit",
        "guestimage",
        "layout",
        "failover",
        "cpushare",
        "machine",
    }
    assert public - modules - {"annotations"} == set(tripleo.lab.__all__)
