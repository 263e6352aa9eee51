"""``tripleo overcloud deploy`` onto the virtual lab, end to end, the way DESIGN.md section 1 reads:

lab up -> node import -> introspect --provide -> overcloud deploy (stack, per-node networks, config download
run by Ansible over SSH) -> status -> validate network -> re-deploy (nothing changes) -> delete (nodes back
to available, addresses freed) -> lab down.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from labkit import RunningLab, running_lab

from tripleo.network import list_ports
from tripleo.storage import Database

TRIPLEO = str(Path(sys.executable).with_name("tripleo"))
LAB_ENV = str(Path(__file__).resolve().parents[3] / "templates" / "environments" / "lab.yaml")
pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    yield from running_lab(tmp_path_factory.mktemp("deploy-home"), "--nodes", "3")


def run(home: Path, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRIPLEO_HOME": str(home)}
    env.pop("TRIPLEO_DB_URL", None)
    proc = subprocess.run([TRIPLEO, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, f"tripleo {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc


def ssh(home: Path, address: str, command: str, stdin: str | None = None) -> str:
    key = home / "ssh" / "id_ed25519"
    opts = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes"]
    proc = subprocess.run(
        ["ssh", "-i", str(key), *opts, "-o", "LogLevel=ERROR", f"root@{address}", command],
        capture_output=True, text=True, timeout=30, input=stdin,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def nodes(home: Path) -> dict[str, dict[str, Any]]:
    rows = json.loads(run(home, "baremetal", "node", "list", "-f", "json").stdout)
    return {row["name"]: row for row in rows}


def test_deploy_status_validate_redeploy_delete(lab: RunningLab) -> None:
    home = lab.home
    run(home, "overcloud", "node", "import", str(home / "lab" / "instackenv.json"))
    run(home, "overcloud", "node", "introspect", "--all-manageable", "--provide")

    out = run(home, "overcloud", "deploy", "-e", LAB_ENV)
    assert "Overcloud Deployed" in out.stdout
    status = json.loads(run(home, "overcloud", "status", "-f", "json").stdout)
    assert (status["stack_status"], status["deployment_status"]) == ("CREATE_COMPLETE", "DEPLOY_COMPLETE")
    hosts = {h["name"]: h for h in status["hosts"]}
    # profiles decide placement: node-0 is tagged profile:control, node-1 and node-2 profile:compute
    assert {h["role"]: h["node"] for h in hosts.values() if h["role"] == "Controller"} == {
        "Controller": "node-0"
    }
    assert sorted(h["node"] for h in hosts.values() if h["role"] == "Compute") == ["node-1", "node-2"]
    assert set(status["vips"]) >= {"External", "InternalApi"}

    controller = hosts["controller-0.overcloud.lab"]
    assert ssh(home, controller["ctlplane"], "hostname").strip() == "controller-0.overcloud.lab"
    addresses = ssh(home, controller["ctlplane"], "ip -o -4 addr show scope global").split()
    assert controller["addresses"]["InternalApi"] in addresses  # the NIC config was applied on the node
    assert controller["addresses"]["External"] in addresses
    compute = next(h for h in hosts.values() if h["role"] == "Compute")
    assert "External" not in compute["addresses"]
    assert not any(a.startswith("10.0.0.") for a in ssh(home, compute["ctlplane"], "ip -o -4 addr").split())
    role = json.loads(ssh(home, controller["ctlplane"], "cat /etc/puppet/hieradata/role.json"))
    assert role["tripleo::role"] == "Controller" and "keystone" in role["tripleo::services"]
    modes = ssh(home, controller["ctlplane"], "stat -c '%a %n' /etc/puppet/hieradata/*.json").splitlines()
    assert modes and all(line.startswith("600 ") for line in modes)  # hieradata holds passwords
    assert "inet tripleo" in ssh(home, controller["ctlplane"], "nft list tables")
    # Puppet ran the five deploy steps: /etc/hosts names every node on every network, motd names the role
    hosts_file = ssh(home, compute["ctlplane"], "cat /etc/hosts /etc/motd")
    internal = controller["addresses"]["InternalApi"].split("/")[0]
    assert f"{internal} controller-0.internalapi.overcloud.lab controller-0.internalapi" in hosts_file
    assert f"{controller['ctlplane']} controller-0.overcloud.lab controller-0" in hosts_file
    assert f"{compute['name']}: Compute of overcloud.lab, deployed by tripleo" in hosts_file

    # memcached (a Controller service on InternalApi), configured and started by Puppet, listens on the
    # controller's InternalApi address only: a compute reaches it there and not on ctlplane
    probe = (
        "import socket, sys\n"
        "try:\n"
        "    s = socket.create_connection((sys.argv[1], 11211), timeout=3)\n"
        "    s.sendall(b'version\\r\\n'); print(s.recv(100).decode().split()[0])\n"
        "except OSError as exc:\n"
        "    print(type(exc).__name__)\n"
    )
    assert ssh(home, compute["ctlplane"], f"python3 - {internal}", stdin=probe).strip() == "VERSION"
    assert ssh(home, compute["ctlplane"], f"python3 - {controller['ctlplane']}", stdin=probe).strip() in (
        "ConnectionRefusedError",
        "TimeoutError",
    )

    # the VIPs live on the first controller: the host reaches the public (External) VIP, a compute the
    # InternalApi VIP
    vips = status["vips"]
    assert f"{vips['External']}/32" in addresses and f"{vips['InternalApi']}/32" in addresses
    host_ping = subprocess.run(
        ["ping", "-c", "1", "-W", "2", vips["External"]], capture_output=True, timeout=10
    )
    assert host_ping.returncode == 0
    ssh(home, compute["ctlplane"], f"ping -c 1 -W 2 {vips['InternalApi']}")

    # MariaDB (InternalApi) through HAProxy on the InternalApi VIP, with the password the stack generated;
    # nothing of it answers on the External network (neither the controller's address nor the public VIP)
    extra = home / "config-download" / "overcloud" / "hosts" / controller["name"] / "hieradata" / "extra.json"
    password = json.loads(extra.read_text())["tripleo::profile::mysql::password"]
    query = f"mariadb -h {vips['InternalApi']} -u tripleo -p{password} -N -e 'SELECT @@hostname' tripleo"
    assert ssh(home, compute["ctlplane"], query).strip() == controller["name"]
    external = controller["addresses"]["External"].split("/")[0]
    for address in (external, vips["External"]):
        with socket.socket() as probe_socket:
            probe_socket.settimeout(3)
            assert probe_socket.connect_ex((address, 3306)) != 0, f"{address}:3306 answers from External"

    measured = json.loads(run(home, "overcloud", "validate", "network", "-f", "json").stdout)
    assert measured and all(m["match"] for m in measured)

    again = run(home, "overcloud", "deploy", "-e", LAB_ENV)
    assert "Overcloud Deployed" in again.stdout
    recap = (home / "logs" / "overcloud-deploy.log").read_text().split("PLAY RECAP")[1]
    assert recap.count("changed=0") == 3 and "failed=0" in recap  # a re-deploy changes nothing
    assert "TASK [Step 5: puppet apply]" in (home / "logs" / "overcloud-deploy.log").read_text()

    # scale down: Compute/1 leaves the stack, its node goes back to available, its addresses are freed
    run(home, "overcloud", "deploy", "-e", LAB_ENV, "--parameter", "ComputeCount=1")
    scaled = json.loads(run(home, "overcloud", "status", "-f", "json").stdout)
    left = {h["name"] for h in scaled["hosts"]}
    assert left == {"controller-0.overcloud.lab", "compute-0.overcloud.lab"}
    gone = hosts["compute-1.overcloud.lab"]["node"]
    assert nodes(home)[gone]["provision_state"] == "available"
    owners = {p.owner for p in list_ports(Database(f"sqlite:///{home / 'tripleo.sqlite'}"))}
    assert (
        f"overcloud/{gone}" not in owners
        and f"overcloud/{hosts['compute-0.overcloud.lab']['node']}" in owners
    )

    done = run(home, "overcloud", "delete", "-y")
    assert "DELETE_COMPLETE" in done.stdout
    after = nodes(home)
    assert {n["provision_state"] for n in after.values()} == {"available"}
    assert {n["power_state"] for n in after.values()} == {"power off"}
    assert list_ports(Database(f"sqlite:///{home / 'tripleo.sqlite'}")) == []
    missing = run(home, "overcloud", "status", check=False)
    assert (missing.returncode, missing.stderr.strip()) == (2, 'ERROR: stack "overcloud" not found')
