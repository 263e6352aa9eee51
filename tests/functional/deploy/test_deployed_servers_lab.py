"""Issue 25, the namespace path: a deployed server. A lab node is installed as an operator installs a machine
(``tripleo lab provision``: its own host name, the operator's key for root, its ctlplane address; powered on
by its BMC) and never enrolled in the bare-metal service. A node file lists it, and ``overcloud deploy
--deployed-servers`` makes it the one node of a Compute role (tests/data/deployed: Base, Sshd, Memcached):
the stack's server binds to it, tripleo's key is let in with the operator's, and its NICs are the ones the
file names by MAC. Bad node files exit 2 and change nothing, on the machine either. The machine with its
own Debian (QEMU) is issue 25's next step.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from labkit import RunningLab, pinned_lab, running_lab

from tripleo.lab.drive import ConfigDrive

pytestmark = [pytest.mark.lab, pytest.mark.slow]

TRIPLEO = str(Path(sys.executable).with_name("tripleo"))
REPO = Path(__file__).resolve().parents[3]
ROLES = REPO / "tests" / "data" / "deployed" / "roles_data.yaml"
LAB_ENV = REPO / "templates" / "environments" / "lab.yaml"
LAB_NAME = "tds"
HOSTNAME = "rack1-srv3"


@dataclass
class Machine:
    lab: RunningLab
    address: str  # its ctlplane address (outside the lab's allocation pool, as an operator's static range)
    macs: dict[str, str]  # lab network -> the MAC of its NIC there

    @property
    def home(self) -> Path:
        return self.lab.home

    def node_file(self, tmp: Path, name: str = "deployed-servers", **change: Any) -> Path:
        entry = {"hostname": HOSTNAME, "role": "Compute", "ctlplane": self.address,
                 "ssh_key": str(self.lab.api.ssh_key),
                 "nics": {net: self.macs[net] for net in ("internal_api", "tenant", "storage")}}  # fmt: skip
        entry.update(change)
        path = tmp / f"{name}.yaml"
        path.write_text(yaml.safe_dump({"servers": [entry]}))
        return path

    def deploy(self, node_file: Path, *more: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "TRIPLEO_HOME": str(self.home)}
        argv = [TRIPLEO, "overcloud", "deploy", "--roles-file", str(ROLES), "-e", str(LAB_ENV),
                "-e", str(self.home / "lab" / "network-environment.yaml"), "--parameter", "ComputeCount=1",
                "--deployed-servers", str(node_file), *more]  # fmt: skip
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)

    def ssh(self, command: str) -> str:
        done = self.lab.ssh(self.address, command, timeout=10)
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    home = tmp_path_factory.mktemp("deployed-home")
    labs = running_lab(home, *pinned_lab(home, LAB_NAME, nodes=1, shift=9))
    lab = next(labs)
    try:
        config = lab.api.config()
        node = config.nodes[0]
        ctlplane = ipaddress.ip_network(config.network("ctlplane").cidr)
        address = str(ctlplane.network_address + 150)
        drive = ConfigDrive(HOSTNAME, (lab.api.public_key(),), f"{address}/{ctlplane.prefixlen}")
        lab.api.write_config_drive(node.name, drive)
        lab.power_on(node.name)
        lab.wait_ssh(address, timeout=60)
        yield Machine(lab, address, dict(zip(node.networks, node.macs, strict=True)))
    finally:
        labs.close()  # lab down, whatever happened


def _tripleo_key_is_in(machine: Machine) -> bool:
    public = (machine.home / "ssh" / "id_ed25519.pub").read_text().split()[1] if (
        machine.home / "ssh" / "id_ed25519.pub").exists() else "no key yet"  # fmt: skip
    return public in machine.ssh("cat /root/.ssh/authorized_keys")


def test_bad_node_files_exit_2_and_change_nothing(machine: Machine, tmp_path: Path) -> None:
    """Acceptance 4: a host that does not answer over SSH, a count that does not match the hosts, a NIC the
    host does not have: one line naming the file and the path, exit 2, no stack and the machine untouched."""
    network = ipaddress.ip_network(f"{machine.address}/24", strict=False)
    cases = [
        (machine.node_file(tmp_path, "unreachable", ctlplane=str(network.network_address + 151)), (),
         "servers.0.ctlplane: cannot log in as root"),
        (machine.node_file(tmp_path, "count"), ("--parameter", "ComputeCount=2"),
         "servers: 1 Compute host(s) listed, but ComputeCount is 2"),
        (machine.node_file(tmp_path, "nic", nics={"tenant": "52:54:00:ff:ff:ff"}), (),
         f"servers.0.nics.Tenant: {HOSTNAME} has no NIC 52:54:00:ff:ff:ff"),
    ]  # fmt: skip
    for node_file, more, words in cases:
        done = machine.deploy(node_file, *more)
        assert done.returncode == 2, done.stdout + done.stderr
        line = done.stderr.strip().splitlines()[-1]
        assert line.startswith(f"ERROR: {node_file}: ") and words in line, line
    env = {**os.environ, "TRIPLEO_HOME": str(machine.home)}
    stacks = subprocess.run([TRIPLEO, "stack", "list", "-f", "json"], env=env, capture_output=True, text=True)
    assert json.loads(stacks.stdout or "[]") == []
    assert not _tripleo_key_is_in(machine)


def test_the_machine_is_deployed_as_its_role(machine: Machine, tmp_path: Path) -> None:
    """Acceptance 1 on the namespace path: the server is the machine, by its own name, on the NICs the file
    names; no bare-metal node was enrolled or powered."""
    done = machine.deploy(machine.node_file(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "deployed servers: 1 host(s) reached, tripleo's key let in as root" in done.stderr
    env = {**os.environ, "TRIPLEO_HOME": str(machine.home)}
    status = json.loads(subprocess.run([TRIPLEO, "overcloud", "status", "-f", "json"], env=env,
                                       capture_output=True, text=True, check=True).stdout)  # fmt: skip
    (host,) = status["hosts"]
    assert (host["name"], host["role"], host["ctlplane"]) == (
        f"{HOSTNAME}.overcloud.lab",
        "Compute",
        machine.address,
    )
    assert _tripleo_key_is_in(machine)
    # the InternalApi address is on the NIC of the file's MAC, and memcached listens there
    internal = host["addresses"]["InternalApi"].split("/")[0]
    nic = machine.ssh(f"ip -o -4 addr show to {internal}").split()[1]
    assert machine.ssh(f"cat /sys/class/net/{nic}/address").strip() == machine.macs["internal_api"]
    assert f"{internal}:11211" in machine.ssh("ss -ltnH")
    nodes = subprocess.run([TRIPLEO, "baremetal", "node", "list", "-f", "json"], env=env, capture_output=True,
                           text=True, check=True)  # fmt: skip
    assert json.loads(nodes.stdout) == []


def test_a_second_deploy_runs_nothing_on_it(machine: Machine, tmp_path: Path) -> None:
    done = machine.deploy(machine.node_file(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"config plan: {HOSTNAME}.overcloud.lab: nothing to run" in done.stderr
