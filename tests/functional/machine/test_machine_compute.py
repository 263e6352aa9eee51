"""Issue 25, acceptance 1 and 2 on a machine with its own Debian: a lab of one namespace controller
(enrolled, introspected and deployed from bare metal as usual) and one QEMU machine (never enrolled),
deployed together by one ``overcloud deploy``, the machine as the pre-provisioned Compute of the default
roles (Base, Sshd, NovaCompute, NeutronLinuxbridgeAgent) with Nova's fake driver (a guest inside a TCG
machine would be emulation inside emulation). Its packages unit installs nova-compute, the Linux bridge
agent, Puppet and Debian's modules through the undercloud's package cache; nova-compute and the agent come up
and register with the controller; a server boots on the machine; a re-deploy runs nothing; Memcached added to
the role installs memcached and nothing else.

About 30 minutes of both cores (Puppet and Python under TCG), so it runs only when asked:
``TRIPLEO_MACHINE_COMPUTE=1 pytest tests/functional/machine/test_machine_compute.py`` or
``python benchmarks/machine.py --compute``, which prints its figures (``TRIPLEO_MACHINE_FIGURES``).
CI runs test_machine_lab.py, the same machine path with the deployed-server roles.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from labkit import apt_installs, cached_packages
from machinekit import Booted, booted_machine, enrol, task_seconds

from tripleo.democloud import boot_servers, rc_env

pytestmark = [
    pytest.mark.lab,
    pytest.mark.slow,
    pytest.mark.qemu,
    pytest.mark.skipif(
        os.environ.get("TRIPLEO_MACHINE_COMPUTE") != "1",
        reason="a Compute on a QEMU machine takes ~30 min of both cores: TRIPLEO_MACHINE_COMPUTE=1 runs it "
        "(or python benchmarks/machine.py --compute)",
    ),
]

REPO = Path(__file__).resolve().parents[3]
OPENSTACK = str(Path(sys.executable).with_name("openstack"))
LAB_NAME = "tqc"
SHIFT = 7  # subnets and BMC ports no other lab of the tests takes
HOSTNAME = "rack3-srv1"
FQDN = f"{HOSTNAME}.overcloud.lab"
FIGURES = os.environ.get("TRIPLEO_MACHINE_FIGURES")
# the packages unit installs nova-compute and its ~400 packages under TCG: 25 min idle, more beside other work
STEP_TIMEOUT = ("--step-timeout", "5400")


@dataclass
class Deployed:
    machine: Booted
    first: str  # the first deploy's progress and output

    @property
    def home(self) -> Path:
        home: Path = self.machine.lab.home
        return home

    def openstack(self, *args: str) -> Any:
        argv = [OPENSTACK, *args, "-f", "json"]
        done = subprocess.run(argv, env=rc_env(self.home), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"openstack {' '.join(args)}: {done.stderr}"
        return json.loads(done.stdout)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    home = tmp_path_factory.mktemp("compute-home")
    fake = home / "fake-driver.yaml"
    fake.write_text(yaml.safe_dump({"parameter_defaults": {"NovaComputeDriver": "fake.FakeDriver"}}))
    with booted_machine(home, LAB_NAME, SHIFT, HOSTNAME) as machine:
        enrol(machine.lab, home, ["node-0"])
        started = time.monotonic()
        done = machine.deploy(home, "-e", str(fake), *STEP_TIMEOUT)
        machine.figures["compute_first_deploy_s"] = time.monotonic() - started
        if done.returncode != 0:  # what the machine says, before lab down takes it away
            logs = (
                "tail -n 30 /var/log/tripleo-packages.log; systemctl --no-pager status nova-compute "
                "neutron-linuxbridge-agent | head -n 30; tail -n 40 /var/log/nova/nova-compute.log"
            )
            said = machine.ssh(logs, check=False)
            pytest.fail(f"{done.stdout[-3000:]}{done.stderr[-5000:]}\n--- the machine:\n{said}")
        packages = task_seconds(done.stderr, "Debian packages of the services")
        machine.figures["compute_packages_unit_s"] = packages
        yield Deployed(machine, done.stderr)
        if FIGURES:
            Path(FIGURES).write_text(json.dumps(machine.figures, indent=2))


def test_nova_compute_and_the_agent_on_the_machine_registered(deployed: Deployed) -> None:
    assert f"config plan: {FQDN}: run packages, network" in deployed.first
    status = json.loads(deployed.machine.lab.cli("overcloud", "status", "-f", "json").stdout)
    roles = {h["name"]: (h["role"], h["node"]) for h in status["hosts"]}
    assert roles[FQDN][0] == "Compute" and roles["controller-0.overcloud.lab"] == ("Controller", "node-0")
    services = deployed.openstack("compute", "service", "list", "--service", "nova-compute")
    assert [(s["Host"], s["State"], s["Status"]) for s in services] == [(FQDN, "up", "enabled")], services
    agents = deployed.openstack("network", "agent", "list", "--host", FQDN)
    assert [(a["Agent Type"], a["Alive"]) for a in agents] == [("Linux bridge agent", True)], agents
    hypervisors = deployed.openstack("hypervisor", "list")  # mapped into cell1 by the deploy's step 5
    assert [h["Hypervisor Hostname"] for h in hypervisors] == [FQDN], hypervisors
    # the services run on the machine itself, as Debian's systemd units
    for unit in ("nova-compute", "neutron-linuxbridge-agent"):
        assert deployed.machine.ssh(f"systemctl is-active {unit}").strip() == "active", unit


def test_the_packages_came_through_the_cache(deployed: Deployed) -> None:
    history = deployed.machine.ssh("cat /var/log/apt/history.log")
    installed = set().union(*apt_installs(history))
    assert {"nova-compute", "neutron-linuxbridge-agent", "puppet", "python3"} <= installed, installed
    fetched = cached_packages(deployed.home / "package-cache" / "cache")
    assert installed <= fetched, sorted(installed - fetched)
    off = deployed.machine.ssh("ip route get 192.0.2.99 2>&1; true")
    assert "unreachable" in off, off


def test_a_server_boots_on_the_machine(deployed: Deployed) -> None:
    """The demo's two servers (fake driver: no guest runs), both scheduled to the one compute, the machine."""
    boot_servers(deployed.home)
    servers = deployed.openstack("server", "list", "--long")
    assert sorted((s["Status"], s["Host"]) for s in servers) == [("ACTIVE", FQDN)] * 2, servers


def test_a_redeploy_runs_nothing_and_an_added_service_installs_only_its_packages(deployed: Deployed) -> None:
    machine = deployed.machine
    started = time.monotonic()
    again = machine.deploy(deployed.home, "-e", str(deployed.home / "fake-driver.yaml"))
    machine.figures["compute_noop_deploy_s"] = time.monotonic() - started
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"config plan: {FQDN}: nothing to run" in again.stderr
    assert "config plan: controller-0.overcloud.lab: nothing to run" in again.stderr
    before = len(apt_installs(machine.ssh("cat /var/log/apt/history.log")))
    roles = yaml.safe_load((REPO / "templates" / "roles_data.yaml").read_text())
    compute = next(r for r in roles if r["name"] == "Compute")["ServicesDefault"]
    env = deployed.home / "memcached-on-compute.yaml"
    env.write_text(yaml.safe_dump({"parameter_defaults": {
        "ComputeServices": [*compute, "OS::TripleO::Services::Memcached"]}}))  # fmt: skip
    started = time.monotonic()
    added = machine.deploy(deployed.home, "-e", str(deployed.home / "fake-driver.yaml"), "-e", str(env))
    machine.figures["compute_service_added_s"] = time.monotonic() - started
    assert added.returncode == 0, added.stderr[-3000:]
    assert f"config plan: {FQDN}: run packages" in added.stderr
    history = machine.ssh("cat /var/log/apt/history.log")
    installs = apt_installs(history)[before:]
    requested = [line for line in history.splitlines() if line.startswith("Commandline: ")][-1]
    assert len(installs) == 1 and "memcached" in installs[0], installs
    assert requested.split("--no-install-recommends", 1)[1].split() == ["memcached"], requested
