"""``tripleo overcloud deploy`` onto the virtual lab, end to end, the way DESIGN.md section 1 reads:

lab up -> node import -> introspect --provide -> overcloud deploy (plan rendered from roles_data, stack,
per-node networks, config download run by Ansible over SSH: Puppet with Debian's puppet-openstack modules,
then the Keystone catalog) -> the real ``openstack`` client through the public VIP -> isolation of the
internal services (also on the weak-host path) -> re-deploy (nothing changes, tokens survive) -> a service
added as data -> scale down -> delete -> lab down.

One lab and one deploy serve every test of the module (they run in file order); each test asserts one part.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from labkit import RunningLab, running_lab

from tripleo.network import list_ports
from tripleo.storage import Database

TRIPLEO = str(Path(sys.executable).with_name("tripleo"))
OPENSTACK = str(Path(sys.executable).with_name("openstack"))
REPO = Path(__file__).resolve().parents[3]
LAB_ENV = str(REPO / "templates" / "environments" / "lab.yaml")
ECHO = REPO / "tests" / "data" / "services" / "echo"
ECHO_ARGS = ["-e", str(ECHO / "environment.yaml"), "--roles-file", str(ECHO / "roles_data.yaml")]
RENAMED = ["--parameter", "CloudName=renamed.lab"]
INTERNAL_PORTS = {"keystone": 5000, "glance": 9292, "mysql": 3306, "memcached": 11211}
pytestmark = [pytest.mark.lab, pytest.mark.slow]


@dataclass
class Deployed:
    lab: RunningLab
    status: dict[str, Any]

    @property
    def home(self) -> Path:
        return self.lab.home

    def host(self, name: str) -> dict[str, Any]:
        return next(h for h in self.status["hosts"] if h["name"] == name)

    @property
    def controller(self) -> dict[str, Any]:
        return self.host("controller-0.overcloud.lab")

    @property
    def computes(self) -> list[dict[str, Any]]:
        return [h for h in self.status["hosts"] if h["role"] == "Compute"]


def run(home: Path, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRIPLEO_HOME": str(home)}
    env.pop("TRIPLEO_DB_URL", None)
    proc = subprocess.run([TRIPLEO, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, f"tripleo {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc


def openstack(home: Path, *args: str) -> str:
    """The real python-openstackclient, with nothing but overcloudrc's variables."""
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    for line in (home / "overcloudrc").read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            env[key] = value.strip("'")
    proc = subprocess.run([OPENSTACK, *args], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"openstack {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc.stdout


def ssh(home: Path, address: str, command: str, stdin: str | None = None) -> str:
    key = home / "ssh" / "id_ed25519"
    opts = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes"]
    proc = subprocess.run(
        ["ssh", "-i", str(key), *opts, "-o", "LogLevel=ERROR", f"root@{address}", command],
        capture_output=True, text=True, timeout=30, input=stdin,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def connects(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        return probe.connect_ex((address, port)) == 0


def nodes(home: Path) -> dict[str, dict[str, Any]]:
    rows = json.loads(run(home, "baremetal", "node", "list", "-f", "json").stdout)
    return {row["name"]: row for row in rows}


def ip(cidr: str) -> str:
    return cidr.split("/")[0]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    labs = running_lab(tmp_path_factory.mktemp("deploy-home"), "--nodes", "3")
    lab = next(labs)
    try:
        run(lab.home, "overcloud", "node", "import", str(lab.home / "lab" / "instackenv.json"))
        run(lab.home, "overcloud", "node", "introspect", "--all-manageable", "--provide")
        out = run(lab.home, "overcloud", "deploy", "-e", LAB_ENV)
        assert "Overcloud Deployed" in out.stdout
        status = json.loads(run(lab.home, "overcloud", "status", "-f", "json").stdout)
        yield Deployed(lab, status)
    finally:
        labs.close()  # lab down, whatever happened


def test_nodes_networks_and_the_services_of_each_role(deployed: Deployed) -> None:
    home, status = deployed.home, deployed.status
    assert (status["stack_status"], status["deployment_status"]) == ("CREATE_COMPLETE", "DEPLOY_COMPLETE")
    # profiles decide placement: node-0 is tagged profile:control, node-1 and node-2 profile:compute
    assert deployed.controller["node"] == "node-0"
    assert sorted(h["node"] for h in deployed.computes) == ["node-1", "node-2"]
    assert set(status["vips"]) >= {"External", "InternalApi"}
    # the services come from roles_data through each service's role_data; status lists them per node
    assert deployed.controller["services"] == [
        "base", "sshd", "memcached", "mysql", "haproxy", "keystone", "glance_api"
    ]  # fmt: skip
    assert all(h["services"] == ["base", "sshd"] for h in deployed.computes)
    controller = deployed.controller
    assert ssh(home, controller["ctlplane"], "hostname").strip() == "controller-0.overcloud.lab"
    addresses = ssh(home, controller["ctlplane"], "ip -o -4 addr show scope global").split()
    assert controller["addresses"]["InternalApi"] in addresses  # the NIC config was applied on the node
    assert f"{status['vips']['External']}/32" in addresses  # the VIPs live on the first controller
    # computes have no External address at all
    for compute in deployed.computes:
        assert "External" not in compute["addresses"]
        assert not any(
            a.startswith("10.0.0.") for a in ssh(home, compute["ctlplane"], "ip -o -4 addr").split()
        )
    files = ssh(home, controller["ctlplane"], "stat -c '%a %n' /etc/puppet/hieradata/*.json").splitlines()
    assert sorted(f.split("/")[-1] for f in files) == [
        "all_nodes.json",
        "net_ip_map.json",
        "service_configs.json",
    ]
    assert all(line.startswith("600 ") for line in files)  # hieradata holds passwords
    rc = home / "overcloudrc"
    assert oct(rc.stat().st_mode & 0o777) == "0o600"
    passwords = home / "plans" / "overcloud" / "passwords.yaml"
    assert oct(passwords.stat().st_mode & 0o777) == "0o600"
    secret = rc.read_text().split("OS_PASSWORD='")[1].split("'")[0]
    log = (home / "logs" / "overcloud-deploy.log").read_text()
    assert len(secret) > 20 and secret not in log  # generated once, never logged
    hosts_file = ssh(home, deployed.computes[0]["ctlplane"], "cat /etc/hosts /etc/motd")
    internal = ip(controller["addresses"]["InternalApi"])
    assert f"{internal} controller-0.internalapi.overcloud.lab controller-0.internalapi" in hosts_file


def test_openstack_through_the_public_vip(deployed: Deployed, tmp_path: Path) -> None:
    home, vip = deployed.home, deployed.status["vips"]["External"]
    assert f"OS_AUTH_URL=http://{vip}:5000" in (home / "overcloudrc").read_text()
    token = json.loads(openstack(home, "token", "issue", "-f", "json"))
    assert token["id"] and token["project_id"]
    catalog = {e["Name"]: e for e in json.loads(openstack(home, "catalog", "list", "-f", "json"))}
    assert {catalog["keystone"]["Type"], catalog["glance"]["Type"]} == {"identity", "image"}
    public = [e for e in catalog["glance"]["Endpoints"] if e["interface"] == "public"]
    assert public and public[0]["url"] == f"http://{vip}:9292"
    internal = deployed.status["vips"]["InternalApi"]
    assert any(e["url"] == f"http://{internal}:5000" for e in catalog["keystone"]["Endpoints"])
    image = tmp_path / "image.raw"
    image.write_bytes(os.urandom(2 * 1024 * 1024))
    openstack(home, "image", "create", "--disk-format", "raw", "--container-format", "bare", "--file",
              str(image), "lab-image", "-f", "json")  # fmt: skip
    back = tmp_path / "back.raw"
    openstack(home, "image", "save", "--file", str(back), "lab-image")
    assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(image.read_bytes()).digest()


def test_internal_services_answer_only_on_internal_api(deployed: Deployed) -> None:
    """Keystone, Glance, MariaDB and memcached bind the controller's InternalApi address: refused from the
    host on ctlplane and External, also when the host routes InternalApi through the controller's ctlplane
    or External address (the weak-host path; the firewall closes it). Keystone and Glance answer on the VIPs,
    and a compute reaches them on InternalApi."""
    home, controller = deployed.home, deployed.controller
    internal = ip(controller["addresses"]["InternalApi"])
    for address in (controller["ctlplane"], ip(controller["addresses"]["External"])):
        for name, port in INTERNAL_PORTS.items():
            assert not connects(address, port), f"{name} answers on {address}:{port}"
    for via in (controller["ctlplane"], ip(controller["addresses"]["External"])):
        subprocess.run(["ip", "route", "replace", f"{internal}/32", "via", via], check=True)
        try:
            for name, port in INTERNAL_PORTS.items():
                assert not connects(internal, port), f"{name} on {internal}:{port} answers routed via {via}"
        finally:
            subprocess.run(["ip", "route", "del", f"{internal}/32"], check=False)
    vips = deployed.status["vips"]
    assert connects(vips["External"], 5000) and connects(vips["External"], 9292)
    assert not connects(vips["External"], 3306) and not connects(vips["External"], 11211)
    probe = (
        "import socket, sys\n"
        "for port in sys.argv[2:]:\n"
        "    s = socket.socket(); s.settimeout(3)\n"
        "    print(port, s.connect_ex((sys.argv[1], int(port))) == 0)\n"
    )
    ports = " ".join(str(p) for p in INTERNAL_PORTS.values())
    out = ssh(home, deployed.computes[0]["ctlplane"], f"python3 - {internal} {ports}", stdin=probe)
    assert out.split() == [w for p in INTERNAL_PORTS.values() for w in (str(p), "True")]
    out = ssh(
        home, deployed.computes[0]["ctlplane"], f"python3 - {vips['InternalApi']} 5000 9292 3306", probe
    )
    assert out.split() == ["5000", "True", "9292", "True", "3306", "True"]
    measured = json.loads(run(home, "overcloud", "validate", "network", "-f", "json").stdout)
    assert measured and all(m["match"] for m in measured)


def test_redeploy_changes_nothing_and_tokens_survive(deployed: Deployed) -> None:
    home = deployed.home
    token = json.loads(openstack(home, "token", "issue", "-f", "json"))["id"]
    again = run(home, "overcloud", "deploy", "-e", LAB_ENV)
    assert "Overcloud Deployed" in again.stdout
    log = (home / "logs" / "overcloud-deploy.log").read_text()
    recap = log.split("PLAY RECAP")[1]
    assert recap.count("changed=0") == 3 and "failed=0" in recap  # Puppet reports no change anywhere
    assert "TASK [Step 5: puppet apply]" in log
    rc = {k: v for k, v in (line[7:].split("=", 1) for line in (home / "overcloudrc").read_text().splitlines()
                            if line.startswith("export "))}  # fmt: skip
    headers = {"X-Auth-Token": token, "X-Subject-Token": token}
    request = urllib.request.Request(f"{rc['OS_AUTH_URL']}/v3/auth/tokens", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200  # the fernet keys were kept: a token from before still validates


def test_a_service_added_as_data_is_deployed_and_firewalled(deployed: Deployed) -> None:
    """tests/data/services/echo: a template, a Puppet profile, a registry entry and a roles file; no code."""
    home = deployed.home
    out = run(home, "overcloud", "deploy", "-e", LAB_ENV, *ECHO_ARGS)
    assert "Overcloud Deployed" in out.stdout
    status = json.loads(run(home, "overcloud", "status", "-f", "json").stdout)
    controller = next(h for h in status["hosts"] if h["role"] == "Controller")
    assert controller["services"][-1] == "echo"
    internal = ip(controller["addresses"]["InternalApi"])
    probe = (
        "import socket, sys\n"
        "s = socket.create_connection((sys.argv[1], 7007), timeout=3); s.sendall(b'ping\\n')\n"
        "print(s.recv(10).decode().strip())\n"
    )
    assert ssh(home, deployed.computes[0]["ctlplane"], f"python3 - {internal}", stdin=probe).strip() == "ping"
    rules = ssh(home, controller["ctlplane"], "nft list table inet tripleo")
    assert 'tcp dport 7007 accept comment "echo on InternalApi"' in rules
    assert not connects(controller["ctlplane"], 7007)  # bound to InternalApi, firewalled elsewhere


def _placement(home: Path) -> dict[str, tuple[str, str]]:
    """Each host's node and ctlplane address, by its short name."""
    status = json.loads(run(home, "overcloud", "status", "-f", "json").stdout)
    return {h["name"].split(".")[0]: (h["node"], h["ctlplane"]) for h in status["hosts"]}


def _resources(home: Path) -> list[dict[str, Any]]:
    out = run(home, "stack", "resource", "list", "overcloud", "--nested-depth", "20", "-f", "json").stdout
    return list(json.loads(out))


def test_cloud_name_change_renames_the_servers_in_place(deployed: Deployed) -> None:
    """Issue 13: a CloudName change is a server name change, an update in place: the same nodes stay
    active with the same ctlplane addresses, under their new hostnames."""
    home = deployed.home
    before = _placement(home)
    run(home, "overcloud", "deploy", "-e", LAB_ENV, *ECHO_ARGS, *RENAMED)
    status = json.loads(run(home, "overcloud", "status", "-f", "json").stdout)
    assert {h["name"] for h in status["hosts"]} == {f"{n}.renamed.lab" for n in before}
    assert _placement(home) == before
    states = nodes(home)
    assert {states[node]["provision_state"] for node, _ in before.values()} == {"active"}
    # the next test deploys with this name too; the scale-down after it goes back to the original one


def test_a_failed_replacement_is_undone_by_the_original_environment(deployed: Deployed) -> None:
    """Issue 13: a profile change with no free node fails its replacements; re-deploying the original
    environment completes, touches no server and leaves no failed resource behind."""
    home = deployed.home
    before = _placement(home)
    profile = ["--parameter", "ComputeProfile=control"]
    failed = run(home, "overcloud", "deploy", "-e", LAB_ENV, *ECHO_ARGS, *RENAMED, *profile, check=False)
    assert failed.returncode != 0 and "no node" in (failed.stdout + failed.stderr)
    assert any(r["resource_status"] == "CREATE_FAILED" for r in _resources(home))
    again = run(home, "overcloud", "deploy", "-e", LAB_ENV, *ECHO_ARGS, *RENAMED)  # the last good one
    assert again.returncode == 0
    resources = _resources(home)
    assert [r for r in resources if not r["resource_status"].endswith("COMPLETE")] == []
    assert not [r for r in resources if "#" in r["resource_name"]]
    assert _placement(home) == before
    states = nodes(home)
    assert {states[node]["provision_state"] for node, _ in before.values()} == {"active"}


def test_scale_down_then_delete(deployed: Deployed) -> None:
    home = deployed.home
    hosts = {h["name"]: h for h in deployed.status["hosts"]}
    # the last good command, with one compute fewer and the original CloudName: compute-1 leaves, its node is
    # available again, and the others are renamed back in place
    run(home, "overcloud", "deploy", "-e", LAB_ENV, *ECHO_ARGS, "--parameter", "ComputeCount=1")
    scaled = json.loads(run(home, "overcloud", "status", "-f", "json").stdout)
    assert {h["name"] for h in scaled["hosts"]} == {"controller-0.overcloud.lab", "compute-0.overcloud.lab"}
    gone = hosts["compute-1.overcloud.lab"]["node"]
    assert nodes(home)[gone]["provision_state"] == "available"
    database = Database(f"sqlite:///{home / 'tripleo.sqlite'}")
    owners = {p.owner for p in list_ports(database)}
    assert (
        f"overcloud/{gone}" not in owners
        and f"overcloud/{hosts['compute-0.overcloud.lab']['node']}" in owners
    )

    done = run(home, "overcloud", "delete", "-y")
    assert "DELETE_COMPLETE" in done.stdout
    assert not (home / "overcloudrc").exists() and not (home / "plans" / "overcloud").exists()
    after = nodes(home)
    assert {n["provision_state"] for n in after.values()} == {"available"}
    assert {n["power_state"] for n in after.values()} == {"power off"}
    assert list_ports(database) == []
    missing = run(home, "overcloud", "status", check=False)
    assert (missing.returncode, missing.stderr.strip()) == (2, 'ERROR: stack "overcloud" not found')
