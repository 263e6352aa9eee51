"""Acceptance 4: after `lab down` nothing of the lab is left, even after SIGKILLs; down twice is fine."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from labkit import RunningLab, default_subnets_taken, lab_names, lab_processes, wait_until

from tripleo.lab import Lab, parse_config
from tripleo.lab.system import SubprocessRunner, netns_pids, pid_ns_init

pytestmark = pytest.mark.lab


def daemon_pid(lab: RunningLab) -> int:
    return int((lab.home / "lab" / "daemon.pid").read_text())


def test_down_after_the_daemon_and_a_node_were_killed(lab3: RunningLab) -> None:
    lab3.provision("node-0", "192.168.24.10/24")
    lab3.power_on("node-0")
    lab3.power_on("node-1")
    lab3.wait_ssh("192.168.24.10")
    os.kill(daemon_pid(lab3), signal.SIGKILL)
    init = pid_ns_init(netns_pids(SubprocessRunner(), "tl-node-1"))
    assert init is not None
    os.kill(init, signal.SIGKILL)
    wait_until(lambda: not netns_pids(SubprocessRunner(), "tl-node-1"), 5, "node-1 to die")
    assert netns_pids(SubprocessRunner(), "tl-node-0")  # nodes outlive their BMC, as servers do

    out = lab3.cli("lab", "down").stdout
    assert "0 daemon(s), 3 namespace(s)" in out  # the daemon was dead already
    assert lab_names() == {"netns": [], "links": [], "nft": [], "mounts": []}
    wait_until(lambda: not lab_processes(lab3.home), 5, f"no lab process ({lab_processes(lab3.home)})")
    assert not (lab3.home / "lab").exists()

    again = lab3.cli("lab", "down").stdout
    assert "0 daemon(s), 0 namespace(s), 0 interface(s)" in again


def test_up_after_a_crash_recovers_and_down_cleans(lab_home: Path) -> None:
    """A half-made lab (state file, some objects, no daemon) comes back with ``up`` and goes with ``down``."""
    holder = default_subnets_taken()
    if holder:
        pytest.skip(f"another lab holds the default lab's subnets (192.168.24.0/24 on {holder})")
    assert not lab_names()["netns"], "a lab is up on this host"
    lab = Lab(lab_home)
    config = parse_config({"nodes": [{"name": "node-0", "networks": ["ctlplane", "storage"]}]})
    try:
        lab.up(config)
        os.kill(int((lab_home / "lab" / "daemon.pid").read_text()), signal.SIGKILL)
        SubprocessRunner().run(["ip", "link", "delete", "tl-storage"])
        lab.up(config)
        assert any(": tl-storage:" in line for line in lab_names()["links"])
        assert [s.power for s in lab.status()] == ["off"]
    finally:
        lab.down()
    assert lab_names() == {"netns": [], "links": [], "nft": [], "mounts": []}
