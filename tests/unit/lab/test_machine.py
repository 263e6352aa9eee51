"""QEMU machines (tripleo.lab.machine) without booting one: the image's digest, the QEMU command line, the
ctlplane's systemd-networkd file, and the config drive written by the real mke2fs and read back with
debugfs. Booting and deploying a machine: tests/functional/machine/test_machine_lab.py."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from tripleo.errors import InputError
from tripleo.lab.config import default_config, parse_config
from tripleo.lab.drive import ConfigDrive, Route
from tripleo.lab.machine import MachineImage, image_digest, network_file, qemu_argv, write_drive
from tripleo.lab.network import Facts, plan_up
from tripleo.lab.paths import NodePaths

DRIVE = ConfigDrive("rack2-srv1", ("ssh-ed25519 AAAAC3Nza lab",), "192.168.104.160/24",
                    (Route("172.16.0.0/24", "192.168.104.1"),))  # fmt: skip


def test_the_qemu_command_line_has_the_disks_the_console_and_one_nic_per_tap(tmp_path: Path) -> None:
    node = replace(default_config(2, machines=1).nodes[1], memory_mb=2048)
    paths = NodePaths(tmp_path / "node-1")
    argv = qemu_argv(node, paths, MachineImage(tmp_path / "image"), [7, 8, 9, 10])
    assert argv[0] == "qemu-system-x86_64" and "tcg,tb-size=256" in argv
    assert argv[argv.index("-m") + 1] == "2048" and argv[argv.index("-smp") + 1] == str(node.cpus)
    text = " ".join(argv)
    assert f"file={paths.disk / 'machine.qcow2'},if=virtio,format=qcow2" in text
    assert f"file={paths.root / 'drive.img'},if=virtio,format=raw,readonly=on" in text
    assert f"file,id=console,path={paths.console_log},append=on" in text
    assert "tap,id=n1,fd=8" in text and f"virtio-net-pci,netdev=n1,mac={node.macs[1]}" in text
    assert argv[argv.index("-append") + 1] == "root=LABEL=tl-root rw console=ttyS0 net.ifnames=0"


def test_machines_are_the_last_nodes_and_their_nics_are_taps() -> None:
    config = default_config(3, machines=1)
    assert [n.kind for n in config.nodes] == ["namespace", "namespace", "machine"]
    assert config.nodes[2].memory_mb == 2048 and "kind" not in config.nodes[0].to_dict()
    assert parse_config(config.to_dict()) == config  # the kind survives the state file
    cmds = plan_up(config, Facts(frozenset(), frozenset(), False))
    tap = config.veth(config.nodes[2], 0)
    assert ("ip", "tuntap", "add", "dev", tap, "mode", "tap") in cmds
    assert not any(c[:4] == ("ip", "link", "add", tap) for c in cmds)
    with pytest.raises(InputError, match="--machines 3: expected 0 to the nodes that are no controller"):
        default_config(3, machines=3)


def test_the_image_digest_is_stable() -> None:
    assert image_digest() == image_digest() and len(image_digest()) == 16


def test_the_ctlplane_network_file_matches_the_nic_by_mac() -> None:
    text = network_file(DRIVE, "52:54:00:fe:00:00")
    assert text.startswith("[Match]\nMACAddress=52:54:00:fe:00:00\n\n[Network]\nAddress=192.168.104.160/24\n")
    assert "[Route]\nDestination=172.16.0.0/24\nGateway=192.168.104.1\n" in text


@pytest.mark.skipif(shutil.which("debugfs") is None or shutil.which("mke2fs") is None,
                    reason="needs e2fsprogs (mke2fs, debugfs)")  # fmt: skip
def test_the_drive_is_an_ext4_image_with_the_files_the_reader_applies(tmp_path: Path) -> None:
    path = tmp_path / "drive.img"
    write_drive(path, DRIVE, "52:54:00:fe:00:00")
    assert path.stat().st_mode & 0o777 == 0o600

    def cat(name: str) -> str:
        done = subprocess.run(["debugfs", "-R", f"cat /{name}", str(path)], capture_output=True, text=True)
        return done.stdout

    assert cat("hostname") == "rack2-srv1\n"
    assert cat("authorized_keys") == "ssh-ed25519 AAAAC3Nza lab\n"
    assert "MACAddress=52:54:00:fe:00:00" in cat("ctlplane.network")
    label = subprocess.run(["e2label", str(path)], capture_output=True, text=True).stdout.strip()
    assert label == "tl-drive"
