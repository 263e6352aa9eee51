"""Config drives in OpenStack's layout, and their validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tripleo.errors import InputError
from tripleo.lab import ConfigDrive, Route
from tripleo.lab.drive import read_config_drive, write_config_drive_files

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDummyKeyForTests tripleo-lab"


def test_a_drive_round_trips_in_openstack_layout(tmp_path: Path) -> None:
    drive = ConfigDrive("node-0.lab", (KEY,), "192.168.24.10/24", (Route("172.16.0.0/16", "192.168.24.1"),))
    write_config_drive_files(tmp_path, drive, "52:54:00:24:00:00")
    meta = json.loads((tmp_path / "openstack/latest/meta_data.json").read_text())
    assert meta["hostname"] == "node-0.lab" and meta["public_keys"] == {"key-0": KEY}
    net = json.loads((tmp_path / "openstack/latest/network_data.json").read_text())
    assert net["links"] == [{"id": "nic1", "type": "phy", "ethernet_mac_address": "52:54:00:24:00:00"}]
    assert net["networks"][0]["ip_address"] == "192.168.24.10"
    assert net["networks"][0]["netmask"] == "255.255.255.0"
    assert read_config_drive(tmp_path) == drive


def test_no_drive_reads_as_none(tmp_path: Path) -> None:
    assert read_config_drive(tmp_path) is None


def test_a_broken_drive_is_an_input_error(tmp_path: Path) -> None:
    latest = tmp_path / "openstack" / "latest"
    latest.mkdir(parents=True)
    (latest / "meta_data.json").write_text("{}")
    (latest / "network_data.json").write_text("{}")
    with pytest.raises(InputError, match="unreadable config drive"):
        read_config_drive(tmp_path)


@pytest.mark.parametrize(
    ("drive", "message"),
    [
        (ConfigDrive("Node_0"), "hostname"),
        (ConfigDrive("n", ("not-a-key",)), "authorized key"),
        (ConfigDrive("n", (), "192.168.24.10"), "prefix length"),
        (ConfigDrive("n", (), "192.168.24.300/24"), "ctlplane address"),
        (ConfigDrive("n", (), None, (Route("10.0.0.0/33", "10.0.0.1"),)), "route"),
    ],
)
def test_malformed_drives_are_refused(drive: ConfigDrive, message: str) -> None:
    with pytest.raises(InputError, match=message):
        drive.validate()
