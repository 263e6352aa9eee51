"""Issue 25, the machine path: a QEMU machine with its own Debian (tripleo.lab.machine: mmdebstrap's minbase
with the cloud kernel, systemd and sshd; no Python, no Puppet) on a lab's networks, deployed as a deployed
server of a Compute role (tests/data/deployed: Base, Sshd, Memcached). Its packages unit installs Python,
Puppet, Debian's modules and memcached through the undercloud's package cache on the lab's ctlplane address
(the machine has no route off the lab); the NIC config lands on its virtio NICs by MAC, its firewall is
loaded, memcached answers on InternalApi; a second deploy runs nothing. A NIC config that cuts the ctlplane
is rolled back on the machine's own NICs; after a power cycle, the boot unit the deploy enabled brings the
NIC config, the firewall and memcached back. ``TRIPLEO_MACHINE_FIGURES``: a file the test writes its timings
to (benchmarks/machine.py prints them). test_machine_compute.py: the machine as a full Compute."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from labkit import apt_installs, cached_packages, wait_until
from machinekit import Booted, booted_machine, task_seconds

from tripleo.shipped import AGENT_ON_NODE

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.qemu]

REPO = Path(__file__).resolve().parents[3]
ROLES = REPO / "tests" / "data" / "deployed" / "roles_data.yaml"
LAB_NAME = "tqm"
SHIFT = 8  # subnets and BMC ports no other lab of the tests takes
HOSTNAME = "rack2-srv1"
FIGURES = os.environ.get("TRIPLEO_MACHINE_FIGURES")


@pytest.fixture(scope="module")
def booted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Booted]:
    with booted_machine(tmp_path_factory.mktemp("machine-home"), LAB_NAME, SHIFT, HOSTNAME) as machine:
        yield machine


def test_the_machine_has_its_own_debian_and_no_route_off_the_lab(booted: Booted) -> None:
    assert booted.ssh("hostname").strip() == HOSTNAME
    assert booted.ssh("hostname -f").strip() == HOSTNAME  # resolves without DNS (nova-common's script asks)
    assert booted.ssh("cat /proc/1/comm").strip() == "systemd"
    # its own root file system and package database, no Python and no Puppet before the deploy
    assert booted.ssh("findmnt -n -o SOURCE /").strip() == "/dev/vda"
    assert booted.ssh("dpkg-query -W -f '${db:Status-Abbrev}' python3 puppet 2>&1; true").count("ii") == 0
    eth0 = booted.ssh("cat /sys/class/net/eth0/address").strip()
    assert eth0 == booted.macs["ctlplane"]
    status = {row["name"]: row for row in json.loads(booted.lab.cli("lab", "status", "-f", "json").stdout)}
    assert status[booted.node]["power"] == "on" and status[booted.node]["ctlplane_ip"] == booted.address
    off = booted.ssh("ip route get 192.0.2.99 2>&1; true")
    assert "unreachable" in off, off


def test_deployed_as_a_compute_with_packages_from_the_cache(booted: Booted, tmp_path: Path) -> None:
    started = time.monotonic()
    done = booted.deploy(tmp_path, "--roles-file", str(ROLES))
    booted.figures["first_deploy_s"] = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"config plan: {HOSTNAME}.overcloud.lab: run packages, network" in done.stderr
    booted.figures["packages_unit_s"] = task_seconds(done.stderr, "Debian packages of the services")
    # the packages unit installed what the role's services list, through the cache
    history = booted.ssh("cat /var/log/apt/history.log")
    installed = set().union(*apt_installs(history))
    assert {"python3", "puppet", "memcached", "nftables"} <= installed, installed
    fetched = cached_packages(booted.lab.home / "package-cache" / "cache")
    assert installed <= fetched, sorted(installed - fetched)  # every .deb came through the cache
    status = json.loads(booted.lab.cli("overcloud", "status", "-f", "json").stdout)
    (host,) = status["hosts"]
    internal = host["addresses"]["InternalApi"].split("/")[0]
    nic = booted.ssh(f"ip -o -4 addr show to {internal}").split()[1]
    assert booted.ssh(f"cat /sys/class/net/{nic}/address").strip() == booted.macs["internal_api"]
    assert f"{internal}:11211" in booted.ssh("ss -ltnH")
    assert "table inet tripleo" in booted.ssh("nft list tables")
    started = time.monotonic()
    again = booted.deploy(tmp_path, "--roles-file", str(ROLES))
    booted.figures["noop_deploy_s"] = time.monotonic() - started
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"config plan: {HOSTNAME}.overcloud.lab: nothing to run" in again.stderr
    if FIGURES:
        Path(FIGURES).write_text(json.dumps(booted.figures, indent=2))


def test_a_nic_config_that_cuts_the_ctlplane_is_rolled_back_on_the_machine(booted: Booted) -> None:
    """The agent's applier on the machine's own virtio NICs, started from an SSH session as the deploy starts
    it: a NIC config that puts eth0 (the ctlplane) into a bridge on another subnet cuts the session's peer,
    so it is rolled back within the check's 10 s and the machine answers on its ctlplane address again."""
    bridge = {"type": "linux_bridge", "name": "br-cut", "members": [{"type": "interface", "name": "eth0"}],
              "addresses": [{"ip_netmask": "203.0.113.10/24"}]}  # fmt: skip
    bad = {"network_config": [bridge]}
    booted.ssh(f"echo '{json.dumps(bad)}' > /root/cut.json && rm -f /root/cut.rc")
    run = f"python3 {AGENT_ON_NODE} /root/cut.json > /root/cut.out 2>&1; echo $? > /root/cut.rc"
    booted.ssh(f"setsid sh -c '{run}' < /dev/null > /dev/null 2>&1 &")
    wait_until(lambda: booted.lab.ssh(booted.address, "test -s /root/cut.rc", timeout=3).returncode == 0,
               120, "the applier to end", 2)  # fmt: skip
    out = booted.ssh("cat /root/cut.out")
    assert booted.ssh("cat /root/cut.rc").strip() == "1", out
    assert "stopped answering within 10 s" in out and "rolled back" in out, out
    assert "could not undo" not in out, out
    assert f"{booted.address}/" in booted.ssh("ip -o -4 addr show dev eth0")
    assert booted.ssh("ip -o link show br-cut 2>&1; true").strip().endswith('"br-cut" does not exist.')


def test_a_power_cycle_brings_back_the_nic_config_and_the_services(booted: Booted) -> None:
    """The NIC config and firewall live in the kernel only: at power-on the machine's systemd runs the boot
    unit the deploy enabled (the agent's boot start), which applies them again and starts memcached, whose
    own unit came up before its InternalApi address did."""
    assert booted.ssh("systemctl is-enabled tripleo-boot.service").strip() == "enabled"
    status = json.loads(booted.lab.cli("overcloud", "status", "-f", "json").stdout)
    internal = status["hosts"][0]["addresses"]["InternalApi"].split("/")[0]
    booted.lab.power_off(booted.node)
    wait_until(lambda: not booted.lab.api.is_on(booted.node), 30, "QEMU to exit", 0.5)
    booted.lab.power_on(booted.node)
    wait_until(lambda: booted.lab.ssh(booted.address, "true", timeout=3).returncode == 0, 300, "SSH", 1)
    wait_until(lambda: f"{internal}:11211" in booted.ssh("ss -ltnH"), 180, "memcached on InternalApi", 2)
    # a oneshot: "activating" while boot start still waits for a service to settle
    state = lambda: booted.ssh("systemctl is-active tripleo-boot.service", check=False).strip()  # noqa: E731
    wait_until(lambda: state() != "activating", 180, "the boot unit to finish", 2)
    assert state() == "active", booted.ssh("journalctl -b -u tripleo-boot.service -o cat", check=False)
    assert "table inet tripleo" in booted.ssh("nft list tables")
    log = booted.ssh("journalctl -b -u tripleo-boot.service -o cat")
    assert "network: applier exited 0" in log, log


def test_a_soft_power_off_shuts_the_machine_down(booted: Booted) -> None:
    """IPMI's soft power off is the machine's ACPI power button: its systemd shuts down and QEMU exits."""
    out = booted.lab.ipmitool(booted.node, "chassis", "power", "soft")
    assert out == "Chassis Power Control: Soft", out
    wait_until(lambda: not booted.lab.api.is_on(booted.node), 120, "QEMU to exit", 1)
    assert booted.lab.ipmitool(booted.node, "chassis", "power", "status") == "Chassis Power is off"
