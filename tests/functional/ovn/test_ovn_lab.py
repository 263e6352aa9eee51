"""Neutron on ML2/OVN in the lab (issue 26, its first part): ``overcloud deploy -e neutron-ovn.yaml``.

One lab (a controller, a compute) deployed once with OVN in place of the Linux bridge agent: OVN's
databases and ovn-northd on the controller, ovn-controller and Open vSwitch (userspace datapath: the lab
kernel has no openvswitch module) on every node, Neutron's ovn mechanism driver, DHCP from ovn-controller.
The tests ask the nodes and the real ``openstack`` client what runs, then boot two guests on one compute on
a Geneve network, where they take their addresses from OVN's DHCP and ping each other.

A full lab deploy more than CI's 45 minutes hold today: ``TRIPLEO_OVN=1`` runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from labkit import RunningLab, pinned_lab, running_lab

from tripleo.democloud import boot_servers

pytestmark = [
    pytest.mark.lab,
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("TRIPLEO_OVN") != "1",
        reason="a lab deploy of its own (~10 min), beyond CI's budget: TRIPLEO_OVN=1 runs it",
    ),
]

TRIPLEO = str(Path(sys.executable).with_name("tripleo"))
OPENSTACK = str(Path(sys.executable).with_name("openstack"))
REPO = Path(__file__).resolve().parents[3]
ENVS = [REPO / "templates" / "environments" / name for name in ("lab.yaml", "neutron-ovn.yaml")]
LAB_NAME = "tn"
SHIFT = 10  # subnets and BMC ports no other lab of the tests takes


@dataclass
class Deployed:
    lab: RunningLab
    status: dict[str, Any]

    @property
    def home(self) -> Path:
        return self.lab.home

    @property
    def hosts(self) -> list[dict[str, Any]]:
        return list(self.status["hosts"])

    @property
    def controller(self) -> dict[str, Any]:
        return next(h for h in self.hosts if h["role"] == "Controller")


def run(home: Path, *args: str, timeout: float = 1800) -> str:
    env = {**os.environ, "TRIPLEO_HOME": str(home)}
    env.pop("TRIPLEO_DB_URL", None)
    proc = subprocess.run([TRIPLEO, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"tripleo {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc.stdout


def ssh(home: Path, address: str, command: str) -> str:
    opts = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
            "-o", "LogLevel=ERROR"]  # fmt: skip
    proc = subprocess.run(
        ["ssh", "-i", str(home / "ssh" / "id_ed25519"), *opts, f"root@{address}", command],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, f"{address}: {command}: {proc.stderr}"
    return proc.stdout


def openstack(home: Path, *args: str) -> Any:
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    for line in (home / "overcloudrc").read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            env[key] = value.strip("'")
    proc = subprocess.run(
        [OPENSTACK, *args, "-f", "json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"openstack {' '.join(args)}: {proc.stderr}"
    return json.loads(proc.stdout)


def _ip(cidr: str) -> str:
    return cidr.split("/")[0]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    home = tmp_path_factory.mktemp("ovn-home")
    labs = running_lab(home, *pinned_lab(home, LAB_NAME, nodes=2, shift=SHIFT))
    lab = next(labs)
    try:
        run(home, "overcloud", "node", "import", str(home / "lab" / "instackenv.json"))
        run(home, "overcloud", "node", "introspect", "--all-manageable", "--provide")
        envs = [arg for env in [*ENVS, home / "lab" / "network-environment.yaml"] for arg in ("-e", str(env))]
        assert "Overcloud Deployed" in run(
            home, "overcloud", "deploy", *envs, "--parameter", "ComputeCount=1"
        )
        yield Deployed(lab, json.loads(run(home, "overcloud", "status", "-f", "json")))
    finally:
        labs.close()  # lab down, whatever happened


def test_ovn_replaces_the_linux_bridge_agent(deployed: Deployed) -> None:
    services = {h["role"]: h["services"] for h in deployed.hosts}
    assert services["Controller"][-2:] == ["ovn_dbs", "ovn_controller"]
    assert services["Compute"] == ["base", "sshd", "nova_compute", "ovn_controller"]
    assert not any("linuxbridge" in s or s == "neutron_dhcp" for s in services["Controller"])


def test_every_node_is_a_chassis_of_the_southbound_database(deployed: Deployed) -> None:
    home, controller = deployed.home, deployed.controller
    sbctl = f"ovn-sbctl --db=tcp:{_ip(controller['addresses']['InternalApi'])}:6642 --bare --columns=hostname"
    chassis = ssh(home, controller["ctlplane"], f"{sbctl} list Chassis").split()
    assert sorted(chassis) == sorted(h["name"] for h in deployed.hosts)
    for host in deployed.hosts:
        # the userspace datapath, its Geneve endpoint on the node's tenant address
        assert ssh(home, host["ctlplane"], "ovs-vsctl get bridge br-int datapath_type").strip() == "netdev"
        encap = ssh(home, host["ctlplane"], "ovs-vsctl get open_vswitch . external_ids:ovn-encap-ip")
        assert encap.strip().strip('"') == _ip(host["addresses"]["Tenant"])
    gateway = "other_config:ovn-cms-options=enable-chassis-as-gw"
    gateways = ssh(home, controller["ctlplane"], f"{sbctl} find Chassis {gateway}").split()
    assert gateways == [controller["name"]]


def test_the_databases_listen_on_internal_api_only(deployed: Deployed) -> None:
    controller = deployed.controller
    listening = ssh(deployed.home, controller["ctlplane"], "ss -ltnH '( sport = :6641 or sport = :6642 )'")
    local = sorted(line.split()[3] for line in listening.splitlines())
    internal = _ip(controller["addresses"]["InternalApi"])
    assert local == [f"{internal}:6641", f"{internal}:6642"]


def test_neutron_sees_the_ovn_agents_alive(deployed: Deployed) -> None:
    agents = openstack(deployed.home, "network", "agent", "list")
    kinds = {(a["Agent Type"], a["Host"]) for a in agents}
    computes = [h["name"] for h in deployed.hosts if h["role"] == "Compute"]
    assert ("OVN Controller Gateway agent", deployed.controller["name"]) in kinds
    assert {("OVN Controller agent", name) for name in computes} <= kinds
    assert all(a["Alive"] for a in agents)


def test_two_guests_on_a_geneve_network_ping_each_other(deployed: Deployed) -> None:
    """On one compute: across computes the tunnels need the tenant NIC in an Open vSwitch bridge (next)."""
    boot_servers(deployed.home, spread=False)  # SystemExit when a server is not ACTIVE or did not ping
    network = openstack(deployed.home, "network", "show", "demo-net")
    assert network["provider:network_type"] == "geneve"
    ports = openstack(deployed.home, "port", "list", "--network", "demo-net", "--long")
    assert all(p["Status"] == "ACTIVE" for p in ports if "compute" in str(p.get("Device Owner")))


def test_a_chassis_keeps_its_name_when_open_vswitch_restarts(deployed: Deployed) -> None:
    """Debian's init script starts Open vSwitch with --system-id=random: the profile's system-id.conf keeps
    the chassis' name, so a restart makes no second chassis."""
    home, controller = deployed.home, deployed.controller
    compute = next(h for h in deployed.hosts if h["role"] == "Compute")
    ssh(home, compute["ctlplane"], "/etc/init.d/openvswitch-switch restart >/dev/null 2>&1")
    assert (
        ssh(home, compute["ctlplane"], "ovs-vsctl get open_vswitch . external_ids:system-id")
        .strip()
        .strip('"')
        == compute["name"]
    )
    sbctl = f"ovn-sbctl --db=tcp:{_ip(controller['addresses']['InternalApi'])}:6642 --bare --columns=hostname"
    chassis = ssh(home, controller["ctlplane"], f"{sbctl} list Chassis").split()
    assert sorted(chassis) == sorted(h["name"] for h in deployed.hosts)
