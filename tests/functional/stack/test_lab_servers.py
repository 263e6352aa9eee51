"""Issue 4, acceptance 3: two OS::Nova::Server on lab nodes with ports on ctlplane.

The stack creates the ctlplane network in the IPAM, two ports and two servers; each server is scheduled on
an available lab node, provisioned through the lab driver (config drive + power on over IPMI) and answers
SSH with tripleo's key. Deleting the stack powers the nodes off and returns them to ``available``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from labkit import RunningLab, running_lab

from tripleo.lab import Lab

TRIPLEO = str(Path(sys.executable).with_name("tripleo"))
pytestmark = [pytest.mark.lab, pytest.mark.slow]

TEMPLATE = """
heat_template_version: wallaby
resources:
  Ctlplane:
    type: OS::Neutron::Net
    properties: {name: ctlplane}
  CtlplaneSubnet:
    type: OS::Neutron::Subnet
    properties:
      network: {get_resource: Ctlplane}
      cidr: 192.168.24.0/24
      gateway_ip: 192.168.24.1
      allocation_pools: [{start: 192.168.24.100, end: 192.168.24.150}]
  Port0:
    type: OS::Neutron::Port
    depends_on: CtlplaneSubnet
    properties: {network: {get_resource: Ctlplane}, name: overcloud-0-ctlplane}
  Port1:
    type: OS::Neutron::Port
    depends_on: CtlplaneSubnet
    properties: {network: {get_resource: Ctlplane}, name: overcloud-1-ctlplane}
  Server0:
    type: OS::Nova::Server
    properties: {name: overcloud-0, flavor: baremetal, networks: [{port: {get_resource: Port0}}]}
  Server1:
    type: OS::Nova::Server
    properties: {name: overcloud-1, flavor: baremetal, networks: [{port: {get_resource: Port1}}]}
outputs:
  addresses: {value: [{get_attr: [Server0, first_address]}, {get_attr: [Server1, first_address]}]}
  names: {value: [{get_attr: [Server0, name]}, {get_attr: [Server1, name]}]}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    yield from running_lab(tmp_path_factory.mktemp("stack-lab-home"), "--nodes", "2")


def run(home: Path, *args: str, timeout: float = 300) -> str:
    env = {**os.environ, "TRIPLEO_HOME": str(home)}
    env.pop("TRIPLEO_DB_URL", None)
    proc = subprocess.run([TRIPLEO, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"tripleo {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc.stdout


def nodes(home: Path) -> dict[str, dict[str, Any]]:
    rows = json.loads(run(home, "baremetal", "node", "list", "-f", "json"))
    return {row["name"]: row for row in rows}


def test_two_servers_on_lab_nodes_answer_ssh_then_delete_frees_them(lab: RunningLab, tmp_path: Path) -> None:
    home = lab.home
    run(home, "overcloud", "node", "import", str(home / "lab" / "instackenv.json"))
    run(home, "overcloud", "node", "introspect", "--all-manageable", "--provide")
    assert {n["provision_state"] for n in nodes(home).values()} == {"available"}

    template = tmp_path / "servers.yaml"
    template.write_text(TEMPLATE)
    out = run(home, "stack", "create", "servers", "-t", str(template), timeout=600)
    assert "CREATE_COMPLETE" in out
    outputs = json.loads(run(home, "stack", "output", "show", "servers", "--all", "-f", "json"))
    addresses, names = outputs["addresses"], outputs["names"]
    assert names == ["overcloud-0", "overcloud-1"]
    assert len(set(addresses)) == 2 and all(a.startswith("192.168.24.1") for a in addresses)
    states = nodes(home)
    assert sorted(n["provision_state"] for n in states.values()) == ["active", "active"]
    assert {n["power_state"] for n in states.values()} == {"power on"}

    key = home / "ssh" / "id_ed25519"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    for address, name in zip(addresses, names, strict=True):
        ssh = subprocess.run(
            ["ssh", "-i", str(key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
             "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", f"root@{address}", "hostname"],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert ssh.returncode == 0, ssh.stderr
        assert ssh.stdout.strip() == name

    assert "DELETE_COMPLETE" in run(home, "stack", "delete", "servers", timeout=600)
    states = nodes(home)
    assert {n["provision_state"] for n in states.values()} == {"available"}
    assert {n["power_state"] for n in states.values()} == {"power off"}
    for spec in Lab(home).config().nodes:
        assert not Lab(home).is_on(spec.name)
