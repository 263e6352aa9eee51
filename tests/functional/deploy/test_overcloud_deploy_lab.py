"""``tripleo overcloud deploy`` onto the virtual lab, end to end, the way DESIGN.md section 1 reads:

lab up -> node import -> introspect --provide -> overcloud deploy (plan rendered from roles_data, stack,
per-node networks, config download run by Ansible over SSH: Puppet with Debian's puppet-openstack modules,
then the Keystone catalog) -> the real ``openstack`` client through the public VIP -> isolation of the
internal services (also on the weak-host path) -> re-deploy (nothing changes, tokens survive) -> a service
added as data -> scale down -> scale up -> delete -> lab down.

One lab and one deploy serve every test of the module (they run in file order); each test asserts one part,
and a test that needs a state an earlier test makes (the CloudName change, one compute) checks it and sets it
up when that test did not get there, so that one failure fails one test.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from labkit import NODE_PROBE, RunningLab, connects, pinned_lab, reachable, running_lab
from vipprobe import GAPS, ReuseProbe

from tripleo.democloud import boot_servers, rc_env
from tripleo.lab.guestimage import MARKER
from tripleo.network import list_ports
from tripleo.storage import Database

TRIPLEO = str(Path(sys.executable).with_name("tripleo"))
OPENSTACK = str(Path(sys.executable).with_name("openstack"))
REPO = Path(__file__).resolve().parents[3]
LAB_ENV = str(REPO / "templates" / "environments" / "lab.yaml")
ECHO = REPO / "tests" / "data" / "services" / "echo"
ECHO_ARGS = ["-e", str(ECHO / "environment.yaml"), "--roles-file", str(ECHO / "roles_data.yaml")]
RENAMED = ["--parameter", "CloudName=renamed.lab"]
LAB_NAME = "td"  # a lab of its own: up beside the demo's (tl) or another module's
INTERNAL_PORTS = {"keystone": 5000, "glance": 9292, "mysql": 3306, "memcached": 11211, "rabbitmq": 5672,
                  "placement": 8778, "nova": 8774, "neutron": 9696}  # fmt: skip
pytestmark = [pytest.mark.lab, pytest.mark.slow]


@dataclass
class Deployed:
    lab: RunningLab
    status: dict[str, Any]
    probe: ReuseProbe

    @property
    def home(self) -> Path:
        return self.lab.home

    def host(self, name: str) -> dict[str, Any]:
        return next(h for h in self.status["hosts"] if h["name"] == name)

    @property
    def env_args(self) -> list[str]:
        return env_args(self.home)

    @property
    def controller(self) -> dict[str, Any]:
        return self.host("controller-0.overcloud.lab")

    @property
    def computes(self) -> list[dict[str, Any]]:
        return [h for h in self.status["hosts"] if h["role"] == "Compute"]


def env_args(home: Path) -> list[str]:
    """The lab's overcloud environment, then the subnets this lab got (``lab up`` moves them out of the way
    of other labs, e.g. a `make demo` running beside the tests)."""
    return ["-e", LAB_ENV, "-e", str(home / "lab" / "network-environment.yaml")]


def run(home: Path, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRIPLEO_HOME": str(home)}
    env.pop("TRIPLEO_DB_URL", None)
    proc = subprocess.run([TRIPLEO, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0 and args[:2] == ("overcloud", "deploy"):
        pytest.fail(f"tripleo {' '.join(args)}: {proc.stdout}{proc.stderr}\n{_controllers_report(home)}")
    if check:
        assert proc.returncode == 0, f"tripleo {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc


# what a failed deploy's controllers show: HAProxy's view of every backend, the API processes, Keystone's log
_REPORT = (
    "echo 'show stat' | socat stdio /run/haproxy/admin.sock | cut -d, -f1,2,18,37 | grep -v ',FRONTEND,';"
    " pgrep -a uwsgi | cut -c1-160; tail -n 15 /var/log/keystone/keystone.log"
)


def _controllers_report(home: Path) -> str:
    env = {**os.environ, "TRIPLEO_HOME": str(home)}
    try:
        out = subprocess.run([TRIPLEO, "overcloud", "status", "-f", "json"], env=env, capture_output=True,
                             text=True, timeout=120).stdout  # fmt: skip
        hosts = [h for h in json.loads(out)["hosts"] if h["role"] == "Controller"]
        return "\n".join(f"--- {h['name']}\n{ssh(home, h['ctlplane'], _REPORT)}" for h in hosts)
    except (AssertionError, ValueError, KeyError, subprocess.SubprocessError) as exc:
        return f"(no controller report: {exc})"


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
        capture_output=True, text=True, timeout=30, input=stdin or "",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def nodes(home: Path) -> dict[str, dict[str, Any]]:
    rows = json.loads(run(home, "baremetal", "node", "list", "-f", "json").stdout)
    return {row["name"]: row for row in rows}


def ip(cidr: str) -> str:
    return cidr.split("/")[0]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    home = tmp_path_factory.mktemp("deploy-home")
    labs = running_lab(home, *pinned_lab(home, LAB_NAME, nodes=3, shift=2))
    lab = next(labs)
    try:
        run(lab.home, "overcloud", "node", "import", str(lab.home / "lab" / "instackenv.json"))
        run(lab.home, "overcloud", "node", "introspect", "--all-manageable", "--provide")
        out = run(lab.home, "overcloud", "deploy", *env_args(lab.home))
        assert "Overcloud Deployed" in out.stdout
        status = json.loads(run(lab.home, "overcloud", "status", "-f", "json").stdout)
        rc = rc_env(lab.home)
        probe = ReuseProbe(rc["OS_AUTH_URL"], rc["OS_USERNAME"], rc["OS_PASSWORD"], rc["OS_PROJECT_NAME"])
        yield Deployed(lab, status, probe.start())  # beside the tests that change nothing on the controller
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
        "base", "sshd", "memcached", "mysql", "haproxy", "keepalived", "keystone", "swift_proxy",
        "swift_storage", "glance_api", "rabbitmq", "placement", "nova_api", "neutron_api",
        "neutron_linuxbridge_agent", "neutron_dhcp",
    ]  # fmt: skip
    assert all(h["services"] == ["base", "sshd", "nova_compute", "neutron_linuxbridge_agent"]
               for h in deployed.computes)  # fmt: skip
    controller = deployed.controller
    assert ssh(home, controller["ctlplane"], "hostname").strip() == "controller-0.overcloud.lab"
    addresses = ssh(home, controller["ctlplane"], "ip -o -4 addr show scope global").split()
    assert controller["addresses"]["InternalApi"] in addresses  # the NIC config was applied on the node
    assert (
        f"{status['vips']['External']}/32" in addresses
    )  # keepalived put the VIPs on the (first) controller
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


def test_enable_debug_reaches_the_services_on_the_nodes(deployed: Deployed) -> None:
    """lab.yaml's EnableDebug: true is each OpenStack service's [DEFAULT] debug on its node."""
    shared = ["nova/nova.conf", "neutron/neutron.conf"]
    confs = {deployed.controller["ctlplane"]: ["keystone/keystone.conf", "glance/glance-api.conf",
                                               "placement/placement.conf", *shared],
             deployed.computes[0]["ctlplane"]: shared}  # fmt: skip
    for address, files in confs.items():
        paths = " ".join(f"/etc/{f}" for f in files)
        out = ssh(deployed.home, address, f"grep -H -i -E '^debug *= *true' {paths} || true").splitlines()
        assert sorted(line.split(":")[0] for line in out) == sorted(f"/etc/{f}" for f in files), (
            address,
            out,
        )


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


def test_servers_boot_on_two_computes_and_ping_each_other(deployed: Deployed) -> None:
    """Issue 14, acceptance 1: the demo's flow (tripleo.democloud: flavor, guest image from Debian packages,
    VXLAN network, two servers), then what the operator's client says of it."""
    home = deployed.home
    boot_servers(home)  # raises SystemExit when a step fails (a server not ACTIVE, a console without a ping)
    computes = sorted(h["name"] for h in deployed.computes)
    services = json.loads(openstack(home, "compute", "service", "list", "-f", "json"))
    assert sorted(s["Host"] for s in services if s["Binary"] == "nova-compute") == computes
    assert all(s["State"] == "up" for s in services)
    agents = json.loads(openstack(home, "network", "agent", "list", "-f", "json"))
    assert sorted(a["Host"] for a in agents if a["Agent Type"] == "Linux bridge agent") == sorted(
        [*computes, deployed.controller["name"]]
    )
    assert all(a["Alive"] for a in agents) and any(a["Agent Type"] == "DHCP agent" for a in agents)
    hosts, addresses = {}, {}
    for name in ("demo-a", "demo-b"):
        server = json.loads(openstack(home, "server", "show", name, "-f", "json"))
        assert server["status"] == "ACTIVE"
        hosts[name] = server["OS-EXT-SRV-ATTR:host"]
        port = json.loads(openstack(home, "port", "show", name, "-f", "json"))
        assert (port["binding_host_id"], port["status"]) == (hosts[name], "ACTIVE")
        addresses[name] = port["fixed_ips"][0]["ip_address"]
    assert sorted(hosts.values()) == computes  # one on each compute
    kinds = {h["Hypervisor Type"] for h in json.loads(openstack(home, "hypervisor", "list", "-f", "json"))}
    assert kinds == {"QEMU"}  # libvirt with plain emulation, as lab.yaml says
    for name, other in (("demo-a", "demo-b"), ("demo-b", "demo-a")):
        console = openstack(home, "console", "log", "show", name)
        assert f"{MARKER} init ran" in console and f"{MARKER} ping {addresses[other]} ok" in console


def test_internal_services_answer_only_on_internal_api(deployed: Deployed) -> None:
    """Keystone, Glance, MariaDB and memcached bind the controller's InternalApi address: refused from the
    host on ctlplane and External, also when the host routes InternalApi through the controller's ctlplane
    or External address (the weak-host path; the firewall closes it). Keystone and Glance answer on the VIPs,
    and a compute reaches them on InternalApi."""
    home, controller = deployed.home, deployed.controller
    internal = ip(controller["addresses"]["InternalApi"])
    outside = (controller["ctlplane"], ip(controller["addresses"]["External"]))
    answered = reachable((a, p) for a in outside for p in INTERNAL_PORTS.values())
    assert not any(answered.values()), [f"{a}:{p}" for (a, p), ok in answered.items() if ok]
    for via in outside:
        subprocess.run(["ip", "route", "replace", f"{internal}/32", "via", via], check=True)
        try:
            answered = reachable((internal, p) for p in INTERNAL_PORTS.values())
            assert not any(answered.values()), (via, [p for (_, p), ok in answered.items() if ok])
        finally:
            subprocess.run(["ip", "route", "del", f"{internal}/32"], check=False)
    vips = deployed.status["vips"]
    answered = reachable((vips["External"], p) for p in (5000, 9292, 3306, 11211, 5672))
    assert [p for (_, p), ok in answered.items() if ok] == [5000, 9292]
    probe = NODE_PROBE
    ports = " ".join(str(p) for p in INTERNAL_PORTS.values())
    out = ssh(home, deployed.computes[0]["ctlplane"], f"python3 - {internal} {ports}", stdin=probe)
    assert out.split() == [w for p in INTERNAL_PORTS.values() for w in (str(p), "True")]
    out = ssh(
        home, deployed.computes[0]["ctlplane"], f"python3 - {vips['InternalApi']} 5000 9292 3306", probe
    )
    assert out.split() == ["5000", "True", "9292", "True", "3306", "True"]
    # issue 14, acceptance 3: a compute reaches them only on InternalApi, not on the controller's ctlplane or
    # External address
    for address in (controller["ctlplane"], ip(controller["addresses"]["External"])):
        out = ssh(home, deployed.computes[0]["ctlplane"], f"python3 - {address} {ports}", stdin=probe)
        assert out.split() == [w for p in INTERNAL_PORTS.values() for w in (str(p), "False")], address
    measured = json.loads(run(home, "overcloud", "validate", "network", "-f", "json").stdout)
    assert measured and all(m["match"] for m in measured)


def test_redeploy_changes_nothing_and_tokens_survive(deployed: Deployed) -> None:
    """Issue 10: the nodes' digests say everything is applied: no Ansible run, no catalog work."""
    home = deployed.home
    token = json.loads(openstack(home, "token", "issue", "-f", "json"))["id"]
    before = _mtimes(deployed)
    again = run(home, "overcloud", "deploy", *deployed.env_args)
    assert "Overcloud Deployed" in again.stdout
    said = again.stderr  # the progress lines
    for host in deployed.status["hosts"]:
        assert f"config plan: {host['name']}: nothing to run" in said
    assert "ansible:" not in said and "catalog: unchanged, nothing ran" in said
    assert _mtimes(deployed) == before
    rc = {k: v for k, v in (line[7:].split("=", 1) for line in (home / "overcloudrc").read_text().splitlines()
                            if line.startswith("export "))}  # fmt: skip
    headers = {"X-Auth-Token": token, "X-Subject-Token": token}
    request = urllib.request.Request(f"{rc['OS_AUTH_URL']}/v3/auth/tokens", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200  # the fernet keys were kept: a token from before still validates
    # issue 14, acceptance 4: no service restarted, the servers booted before are still there and running
    for name in ("demo-a", "demo-b"):
        assert json.loads(openstack(home, "server", "show", name, "-f", "json"))["status"] == "ACTIVE"


_WATCHED = (
    "/etc/puppet/hieradata/*.json /etc/keystone/keystone.conf /etc/tripleo/* /var/lib/tripleo/applied/*"
)


def _mtimes(deployed: Deployed) -> dict[str, str]:
    """Every watched file's mtime (ns) on every node."""
    out = {}
    for host in deployed.status["hosts"]:
        text = ssh(deployed.home, host["ctlplane"], f"stat -c '%n %.9Y' {_WATCHED} 2>/dev/null; true")
        out[host["name"]] = text
    return out


def test_a_reused_connection_to_the_public_vip_survives_idle_gaps(deployed: Deployed) -> None:
    """Issue 22, item 8: one client connection to Keystone's public endpoint, kept across idle gaps of 1 to
    120 s, and a request at once after each 204 on it: nothing dropped (the probe ran beside the tests above,
    which change nothing on the controller; see vipprobe.py)."""
    probe = deployed.probe
    assert probe.wait(timeout=sum(GAPS) + 300), "the probe did not finish"
    assert probe.failures == [], probe.failures
    assert probe.not_reused == [], f"a new connection after the gaps {probe.not_reused}"
    assert probe.requests == 1 + len(GAPS) * 31


def test_dry_run_names_the_one_step_a_keystone_parameter_reaches(deployed: Deployed, tmp_path: Path) -> None:
    """Issue 10: the token expiration is read by the controller's Keystone only: the dry run names that
    node and step 3 with the hieradata diff and changes nothing; the deploy then runs only that."""
    home, controller = deployed.home, deployed.controller
    token_env = tmp_path / "token.yaml"
    token_env.write_text("parameter_defaults:\n  KeystoneTokenExpiration: 7200\n")
    before = _mtimes(deployed)
    out = run(
        home, "overcloud", "deploy", *deployed.env_args, "-e", str(token_env), "--dry-run", "-f", "json"
    ).stdout
    planned = json.loads(out)
    runs = [(r["host"], r["unit"]) for r in planned["config_plan"] if r["action"] == "run"]
    assert runs == [(controller["name"], "step3")]
    diff = planned["diffs"][controller["name"]]
    assert (
        '-  "keystone::token_expiration": 3600,' in diff and '+  "keystone::token_expiration": 7200,' in diff
    )
    secret = (home / "overcloudrc").read_text().split("OS_PASSWORD='")[1].split("'")[0]
    assert secret not in out and list(planned["diffs"]) == [controller["name"]]
    assert _mtimes(deployed) == before  # nothing changed on any node
    text = run(home, "overcloud", "deploy", *deployed.env_args, "-e", str(token_env), "--dry-run").stdout
    skipped = "skip packages, network, step1, step2, step4, step5"
    assert f"{controller['name']}: run step3 (changed); {skipped}" in text

    done = run(home, "overcloud", "deploy", *deployed.env_args, "-e", str(token_env))
    recap = (home / "logs" / "overcloud-deploy.log").read_text().split("PLAY RECAP")[1]
    assert controller["name"] in recap and not any(h["name"] in recap for h in deployed.computes)
    assert "Overcloud Deployed" in done.stdout
    after = _mtimes(deployed)
    assert all(after[h["name"]] == before[h["name"]] for h in deployed.computes)
    conf = ssh(
        home, controller["ctlplane"], "grep -E '^(\\[token\\]|expiration=)' /etc/keystone/keystone.conf"
    )
    assert "expiration=7200" in conf.split("[token]")[-1]  # [token] expiration, the last section named
    # issue 23: the plan the dry run printed is the plan the deploy ran: the same stack actions and units
    status = json.loads(run(home, "overcloud", "status", "-f", "json").stdout)
    assert sorted((h, u) for h, p in status["config_plan"].items() for u in p["run"]) == runs
    done_stack = sorted((r["resource"], r["action"]) for r in status["stack_plan"])
    assert done_stack == sorted((r["resource"], r["action"]) for r in planned["stack_plan"])


def test_idle_api_workers_keep_their_amqp_connections(deployed: Deployed) -> None:
    """nova-api and neutron-api run under uwsgi, where an idle worker ran no green thread: its AMQP heartbeats
    stopped, RabbitMQ closed the connection after 60 s and the next request waited a minute (tempest on the
    3+2 lab). By now their workers have been idle for minutes (the probe above waited 120 s at a time):
    RabbitMQ closed no connection of a uwsgi worker for missed heartbeats."""
    log = ssh(deployed.home, deployed.controller["ctlplane"],
              "cat $(ls /var/log/rabbitmq/rabbit@*.log | grep -v _upgrade)")  # fmt: skip
    lines = log.splitlines()
    missed = [lines[i - 1] for i, line in enumerate(lines) if "missed heartbeats from client" in line and i]
    assert not [line for line in missed if "uwsgi:" in line], missed


def _no_servers(home: Path) -> None:
    """Delete whatever servers exist (the demo's, from the test that boots them, if it ran)."""
    names = [s["Name"] for s in json.loads(openstack(home, "server", "list", "-f", "json"))]
    if names:
        openstack(home, "server", "delete", "--wait", *names)


def _renamed(deployed: Deployed) -> None:
    """The state the tests after the CloudName change start from: renamed, with the echo service. Set up
    here when that test did not get there, so that one failure fails one test."""
    home = deployed.home
    status = json.loads(run(home, "overcloud", "status", "-f", "json").stdout)
    if all(h["name"].endswith(".renamed.lab") for h in status["hosts"]):
        return
    _no_servers(home)
    run(home, "overcloud", "deploy", *deployed.env_args, *ECHO_ARGS, *RENAMED)


def _placement(home: Path) -> dict[str, tuple[str, str]]:
    """Each host's node and ctlplane address, by its short name."""
    status = json.loads(run(home, "overcloud", "status", "-f", "json").stdout)
    return {h["name"].split(".")[0]: (h["node"], h["ctlplane"]) for h in status["hosts"]}


def _resources(home: Path) -> list[dict[str, Any]]:
    out = run(home, "stack", "resource", "list", "overcloud", "--nested-depth", "20", "-f", "json").stdout
    return list(json.loads(out))


def test_a_service_added_as_data_and_a_cloud_name_change_in_one_deploy(deployed: Deployed) -> None:
    """tests/data/services/echo: a template, a Puppet profile, a registry entry and a roles file; no code.
    Issue 13 in the same deploy: a CloudName change is a server name change, an update in place: the same
    nodes stay active with the same ctlplane addresses, under their new hostnames."""
    home = deployed.home
    before = _placement(home)
    # the operator empties the computes first: their services register again under the new names, and Nova
    # will not delete the old names' services while they host servers
    _no_servers(home)
    out = run(home, "overcloud", "deploy", *deployed.env_args, *ECHO_ARGS, *RENAMED)
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

    assert {h["name"] for h in status["hosts"]} == {f"{n}.renamed.lab" for n in before}
    assert _placement(home) == before
    states = nodes(home)
    assert {states[node]["provision_state"] for node, _ in before.values()} == {"active"}
    services = json.loads(openstack(home, "compute", "service", "list", "--service", "nova-compute", "-f",
                                    "json"))  # fmt: skip
    assert sorted(s["Host"] for s in services) == ["compute-0.renamed.lab", "compute-1.renamed.lab"]
    # the next tests deploy with this name too; the scale-down goes back to the original one


def test_a_failed_step_is_named_by_overcloud_failures(deployed: Deployed, tmp_path: Path) -> None:
    """Issue 10: a Puppet failure: the deploy fails, status says so and `overcloud failures` names the host,
    the task and the tail of Puppet's output. The scale-down's deploy converges again."""
    home = deployed.home
    _renamed(deployed)
    failing = tmp_path / "fail.yaml"
    failing.write_text("parameter_defaults:\n  EchoFail: true\n")
    failed = run(
        home, "overcloud", "deploy", *deployed.env_args, *ECHO_ARGS, *RENAMED, "-e", str(failing), check=False
    )
    assert failed.returncode == 1 and "task 'Step 2: puppet apply'" in failed.stderr
    status = json.loads(run(home, "overcloud", "status", "-f", "json").stdout)
    assert status["deployment_status"] == "DEPLOY_FAILED" and "at step 2" in status["deployment_reason"]
    report = json.loads(run(home, "overcloud", "failures", "-f", "json").stdout)
    [failure] = report["failures"]
    controller = deployed.controller["name"].replace(".overcloud.", ".renamed.")
    assert (failure["host"], failure["task"]) == (controller, "Step 2: puppet apply")
    assert any("echo: told to fail (EchoFail)" in line for line in failure["tail"])
    text = run(home, "overcloud", "failures").stdout
    assert f"{controller}: task 'Step 2: puppet apply'" in text


def _left(marker: str) -> list[str]:
    """The command lines of live processes started with ``marker`` in their environment, but ssh's connection
    masters (ControlPersist: they end by themselves once idle, as Ansible means them to)."""
    left = []
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            if marker.encode() in (proc / "environ").read_bytes():
                line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if not line.startswith("ssh: "):
                    left.append(line)
        except OSError:
            continue
    return left


def test_a_hung_step_fails_at_the_step_timeout_naming_host_and_task(
    deployed: Deployed, tmp_path: Path
) -> None:
    """Issue 23: a Puppet step that hangs (the echo service sleeps: EchoHang) fails the deploy at
    --step-timeout, naming the host and the task; nothing of the run is left on the undercloud, and the node
    ends the step's Puppet itself a little later, so the next deploy's steps do not wait for it."""
    home = deployed.home
    _renamed(deployed)
    hang = tmp_path / "hang.yaml"
    hang.write_text("parameter_defaults:\n  EchoHang: 900\n")
    marker = f"tripleo-hang-{os.getpid()}-{time.time_ns()}"
    env = {**os.environ, "TRIPLEO_HOME": str(home), "TRIPLEO_TEST_RUN": marker}
    env.pop("TRIPLEO_DB_URL", None)
    args = [
        "overcloud",
        "deploy",
        *deployed.env_args,
        *ECHO_ARGS,
        *RENAMED,
        "-e",
        str(hang),
        "--step-timeout",
        "20",
    ]
    failed = subprocess.run([TRIPLEO, *args], env=env, capture_output=True, text=True, timeout=600)
    controller = deployed.controller["name"].replace(".overcloud.", ".renamed.")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    said = f"config download timed out on {controller}, task 'Step 2: puppet apply': no result after 20 s"
    assert said in failed.stderr
    deadline = time.monotonic() + 5
    while _left(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _left(marker) == []
    report = json.loads(run(home, "overcloud", "failures", "-f", "json").stdout)
    assert [(f["host"], f["task"]) for f in report["failures"]] == [(controller, "Step 2: puppet apply")]
    # the node ends the step's Puppet itself (20 s and a grace of 10 s) and with it the step's hold on the
    # node's step lock, so the next deploy's steps do not wait (Puppet runs an exec in a session of its own:
    # that sleep ends by itself, as it would under TripleO)
    address, free = deployed.controller["ctlplane"], "flock -n /run/tripleo-steps.lock echo free; true"
    deadline = time.monotonic() + 60
    while ssh(home, address, free).strip() != "free" and time.monotonic() < deadline:
        time.sleep(2)
    assert ssh(home, address, free).strip() == "free"


def _stack_updated(home: Path) -> str:
    return str(json.loads(run(home, "stack", "show", "overcloud", "-f", "json").stdout).get("updated_at"))


def test_too_few_nodes_is_refused_before_anything_changes(deployed: Deployed) -> None:
    """Issue 10: the capacity pre-flight. Three nodes serve three servers: a third compute, or computes on
    the controller's profile, are refused with exit 2 before the stack changes."""
    home = deployed.home
    _renamed(deployed)
    before, placed = _stack_updated(home), _placement(home)
    recorded = json.loads(run(home, "overcloud", "status", "-f", "json").stdout)
    three = ["--parameter", "ComputeCount=3"]
    more = run(home, "overcloud", "deploy", *deployed.env_args, *ECHO_ARGS, *RENAMED, *three, check=False)
    assert more.returncode == 2
    assert more.stderr.strip() == (
        "ERROR: ComputeCount: Compute needs 3 nodes with profile:compute: 2 serve it, 0 more are available "
        "(node-0 is Controller)"
    )
    profile = ["--parameter", "ComputeProfile=control"]
    other = run(home, "overcloud", "deploy", *deployed.env_args, *ECHO_ARGS, *RENAMED, *profile, check=False)
    assert other.returncode == 2 and "Compute needs 2 nodes with profile:control: 0 serve it" in other.stderr
    assert _stack_updated(home) == before and _placement(home) == placed
    status = json.loads(run(home, "overcloud", "status", "-f", "json").stdout)
    # refused input leaves the record alone: it still tells of the failed step the test before made
    keys = ("deployment_status", "deployment_reason")
    assert [status[k] for k in keys] == [recorded[k] for k in keys]


def _deploy_until(home: Path, marker: str, *args: str) -> tuple[subprocess.Popen[str], str]:
    """Start a deploy in its own process group; return once its output shows ``marker``, with the output."""
    env = {**os.environ, "TRIPLEO_HOME": str(home)}
    env.pop("TRIPLEO_DB_URL", None)
    proc = subprocess.Popen([TRIPLEO, "overcloud", "deploy", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if marker in line:
            return proc, "".join(seen)
    raise AssertionError(f"the deploy ended before {marker!r}: {''.join(seen)}")


def _planned(output: str, host: str) -> list[str]:
    """The units a deploy's config plan runs on ``host``."""
    line = next(x for x in output.splitlines() if f"config plan: {host}: " in x)
    if "nothing to run" in line:
        return []
    return line.split(": run ")[1].split(" (")[0].split(", ")


def _kill(proc: subprocess.Popen[str]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)  # the deploy, its ansible-playbook and ssh: nothing may write after
    proc.wait()


# the packages unit runs in the record's network phase, before the NIC config
KILL_AT = [("network", "ansible: Debian packages of the services"), ("network", "ansible: Directories"),
           *((f"step {n}", f"ansible: Step {n}: puppet apply") for n in range(1, 6))]  # fmt: skip


def test_a_deploy_killed_in_each_phase_is_interrupted_and_resumes(deployed: Deployed) -> None:
    """Issue 10: compute-0's records are gone (as on a wiped disk), so the next deploy does it in full; it
    is killed (SIGKILL) at its packages, at the network phase and in each step: status says where, a second
    deploy meanwhile is refused naming the holder, and each run resumes where the last stopped."""
    home = deployed.home
    _renamed(deployed)
    compute = next(h for h in deployed.computes if h["name"].startswith("compute-0"))
    name = compute["name"].replace(".overcloud.", ".renamed.")
    ssh(home, compute["ctlplane"], "rm -rf /var/lib/tripleo/applied")
    args = [*deployed.env_args, *ECHO_ARGS, *RENAMED, "--limit", "compute-0"]
    units = ["packages", "network", "step1", "step2", "step3", "step4", "step5"]
    for i, (phase, marker) in enumerate(KILL_AT):
        proc, output = _deploy_until(home, marker, *args)
        planned = _planned(output, name)
        # what the runs before finished is recorded on the node and not done again: a run killed as step N
        # starts finished everything before it (one killed in the network phase, nothing); a step a killed run
        # left running on the node may finish and record itself too
        assert planned and set(planned) <= set(units[max(i - 1, 0) :]), (phase, planned)
        if phase == "step 3":
            # held where it is (alive, its lock held) while the second deploy asks: on a loaded host the
            # second one's refusal can take long enough for the first to reach a later step
            os.killpg(proc.pid, signal.SIGSTOP)
            second = run(home, "overcloud", "deploy", *args, check=False)
            assert second.returncode == 1 and f"(pid {proc.pid} on " in second.stderr
            assert "overcloud deploy of overcloud" in second.stderr and "is running" in second.stderr
        _kill(proc)
        status = json.loads(run(home, "overcloud", "status", "-f", "json").stdout)
        assert (status["deployment_status"], status["deployment_reason"]) == (
            "DEPLOY_FAILED", f"interrupted at {phase}"
        )  # fmt: skip
    done = run(home, "overcloud", "deploy", *args)
    assert set(_planned(done.stderr, name)) <= {"step5"}
    status = json.loads(run(home, "overcloud", "status", "-f", "json").stdout)
    assert status["deployment_status"] == "DEPLOY_COMPLETE"
    records = ssh(home, compute["ctlplane"], "ls /var/lib/tripleo/applied").split()
    assert records == sorted(units)
    forced = run(home, "overcloud", "deploy", *args, "--force", "--dry-run", "-f", "json").stdout
    rows = json.loads(forced)["config_plan"]
    assert [r["unit"] for r in rows if r["action"] == "run"] == units  # --force: all, on compute-0 only
    assert {r["host"] for r in rows if r["action"] == "run"} == {name}


def _providers(home: Path) -> list[str]:
    """Placement's resource providers, by openstacksdk with overcloudrc (the client has no placement
    plugin here)."""
    import openstack

    rc = rc_env(home)
    auth = {
        "auth_url": rc["OS_AUTH_URL"],
        "username": rc["OS_USERNAME"],
        "password": rc["OS_PASSWORD"],
        "project_name": rc["OS_PROJECT_NAME"],
        "user_domain_name": "Default",
        "project_domain_name": "Default",
    }
    conn = openstack.connection.Connection(auth=auth, region_name=rc["OS_REGION_NAME"], interface="public")
    try:
        return sorted(p.name for p in conn.placement.resource_providers())
    finally:
        conn.close()


def test_scale_down(deployed: Deployed) -> None:
    home = deployed.home
    _no_servers(home)  # Nova keeps a compute service that hosts servers
    hosts = {h["name"]: h for h in deployed.status["hosts"]}
    # the last good command, with one compute fewer and the original CloudName: compute-1 leaves, its node is
    # available again, and the others are renamed back in place. Killed in the stack phase first (issue 10):
    # status says so, and the same command again converges
    args = [*deployed.env_args, *ECHO_ARGS, "--parameter", "ComputeCount=1"]
    proc, _ = _deploy_until(home, "_IN_PROGRESS", *args)
    _kill(proc)
    status = json.loads(run(home, "overcloud", "status", "-f", "json").stdout)
    assert (status["deployment_status"], status["deployment_reason"]) == (
        "DEPLOY_FAILED",
        "interrupted at stack",
    )
    run(home, "overcloud", "deploy", *args)
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
    # issue 14, acceptance 2: the departed compute's nova-compute service, its hypervisor (the compute node
    # and its resource provider go with the service) and its Neutron agent are gone; compute-0's stay
    services = json.loads(
        openstack(home, "compute", "service", "list", "--service", "nova-compute", "-f", "json")
    )
    assert [s["Host"] for s in services] == ["compute-0.overcloud.lab"]
    hypervisors = json.loads(openstack(home, "hypervisor", "list", "-f", "json"))
    assert [h["Hypervisor Hostname"] for h in hypervisors] == ["compute-0.overcloud.lab"]
    agents = json.loads(openstack(home, "network", "agent", "list", "-f", "json"))
    assert "compute-1.overcloud.lab" not in {a["Host"] for a in agents}
    # compute-0 came back under its original name: its nova-compute makes its resource provider again on
    # its next resource update (every 30 s here), so wait for that report
    deadline = time.monotonic() + 120
    while _providers(home) != ["compute-0.overcloud.lab"] and time.monotonic() < deadline:
        time.sleep(5)
    assert _providers(home) == ["compute-0.overcloud.lab"]


_DAEMONS = "nova-|neutron-|libvirtd|mariadbd|beam.smp|haproxy|glance-api|uwsgi|memcached"


def _daemons(home: Path, hosts: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Each host's OpenStack daemons as "pid start-time command" (each node has its own PID namespace);
    keepalived's HAProxy check (a shell and its socat, a second long) is no daemon."""
    command = (
        f"ps -eo pid=,lstart=,args= | grep -E '{_DAEMONS}' | grep -v -e grep -e /etc/keepalived/ -e socat"
    )
    return {h["name"]: set(ssh(home, h["ctlplane"], command).splitlines()) for h in hosts}


def test_scale_up_adds_a_hypervisor_and_restarts_nothing_else(deployed: Deployed) -> None:
    """Issue 14, acceptance 2: ComputeCount 1 -> 2 on the node the scale-down freed: Nova maps the new host
    into cell1 (step 5's discovery), its nova-compute is up and its agent alive, and no daemon on the
    nodes already deployed was restarted (their steps run again: all_nodes changed)."""
    home = deployed.home
    hosts = json.loads(run(home, "overcloud", "status", "-f", "json").stdout)["hosts"]
    if [h["name"] for h in hosts if h["role"] == "Compute"] != ["compute-0.overcloud.lab"]:
        # the scale-down did not get there: set up the one-compute state this test starts from
        _no_servers(home)
        run(home, "overcloud", "deploy", *deployed.env_args, *ECHO_ARGS, "--parameter", "ComputeCount=1")
        hosts = json.loads(run(home, "overcloud", "status", "-f", "json").stdout)["hosts"]
    before = _daemons(home, hosts)
    assert all(before.values())
    out = run(home, "overcloud", "deploy", *deployed.env_args, *ECHO_ARGS, "--parameter", "ComputeCount=2")
    new = "compute-1.overcloud.lab"
    for host in hosts:  # the others ran their steps again (all_nodes names the new host)
        assert f"config plan: {host['name']}: nothing to run" not in out.stderr
    scaled = json.loads(run(home, "overcloud", "status", "-f", "json").stdout)["hosts"]
    assert {h["name"] for h in scaled} == {h["name"] for h in hosts} | {new}
    after = _daemons(home, hosts)
    for name, started in before.items():
        assert started == after[name], f"{name}: restarted {sorted(started - after[name])}"
    controller = next(h for h in scaled if h["role"] != "Compute")
    mapped = ssh(home, controller["ctlplane"], "nova-manage cell_v2 list_hosts")
    assert any(new in line and "cell1" in line for line in mapped.splitlines()), mapped
    services = json.loads(openstack(home, "compute", "service", "list", "--service", "nova-compute", "-f",
                                    "json"))  # fmt: skip
    assert {s["Host"]: s["State"] for s in services} == {"compute-0.overcloud.lab": "up", new: "up"}
    agents = json.loads(openstack(home, "network", "agent", "list", "--host", new, "-f", "json"))
    assert agents and all(a["Alive"] for a in agents)


def test_delete(deployed: Deployed) -> None:
    home = deployed.home
    database = Database(f"sqlite:///{home / 'tripleo.sqlite'}")
    done = run(home, "overcloud", "delete", "-y")
    assert "DELETE_COMPLETE" in done.stdout
    assert not (home / "overcloudrc").exists() and not (home / "plans" / "overcloud").exists()
    after = nodes(home)
    assert {n["provision_state"] for n in after.values()} == {"available"}
    assert {n["power_state"] for n in after.values()} == {"power off"}
    assert list_ports(database) == []
    missing = run(home, "overcloud", "status", check=False)
    assert (missing.returncode, missing.stderr.strip()) == (2, 'ERROR: stack "overcloud" not found')
