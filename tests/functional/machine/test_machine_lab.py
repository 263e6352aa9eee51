"""Issue 25, the machine path: a QEMU machine with its own Debian (tripleo.lab.machine: mmdebstrap's minbase
with the cloud kernel, systemd and sshd; no Python, no Puppet) on a lab's networks, deployed as a deployed
server of a Compute role (tests/data/deployed: Base, Sshd, Memcached). Its packages unit installs Python,
Puppet, Debian's modules and memcached through the undercloud's package cache on the lab's ctlplane address
(the machine has no route off the lab); the NIC config lands on its virtio NICs by MAC, its firewall is
loaded, memcached answers on InternalApi; a second deploy runs nothing. ``TRIPLEO_MACHINE_FIGURES``: a file
the test writes its timings to (benchmarks/machine.py prints them)."""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from labkit import RunningLab, apt_installs, cached_packages, pinned_lab, running_lab, wait_until

from tripleo.config.packagecache import PackageCache
from tripleo.lab.drive import ConfigDrive
from tripleo.lab.machine import build_image, image_cache

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.qemu]

TRIPLEO = str(Path(sys.executable).with_name("tripleo"))
REPO = Path(__file__).resolve().parents[3]
ROLES = REPO / "tests" / "data" / "deployed" / "roles_data.yaml"
LAB_ENV = REPO / "templates" / "environments" / "lab.yaml"
LAB_NAME = "tqm"
SHIFT = 8  # subnets and BMC ports no other lab of the tests takes
HOSTNAME = "rack2-srv1"
CACHE_PORT = 3142
FIGURES = os.environ.get("TRIPLEO_MACHINE_FIGURES")
PACKAGE_CACHE = os.environ.get("TRIPLEO_MACHINE_PACKAGE_CACHE")  # a cache directory kept across runs (warm)
_PROGRESS = re.compile(r"^\[\s*([\d.]+) s\] ansible: (.*)$")


def task_seconds(progress: str, task: str) -> float:
    """Seconds from the start of ``task`` to the next task, from a deploy's progress lines."""
    marks = [(float(m[1]), m[2]) for m in map(_PROGRESS.match, progress.splitlines()) if m]
    for (start, name), (end, _) in itertools.pairwise(marks):
        if name == task:
            return end - start
    raise AssertionError(f"no task {task!r} in the deploy's progress")


@dataclass
class Booted:
    lab: RunningLab
    node: str
    address: str
    macs: dict[str, str]
    figures: dict[str, float] = field(default_factory=dict)

    def ssh(self, command: str, check: bool = True) -> str:
        done = self.lab.ssh(self.address, command, timeout=30)
        assert done.returncode == 0 or not check, f"{command}: {done.stderr}"
        return done.stdout

    def deploy(self, tmp: Path) -> subprocess.CompletedProcess[str]:
        entry = {"hostname": HOSTNAME, "role": "Compute", "ctlplane": self.address,
                 "ssh_key": str(self.lab.api.ssh_key),
                 "nics": {net: self.macs[net] for net in ("internal_api", "tenant", "storage")}}  # fmt: skip
        node_file = tmp / "servers.yaml"
        node_file.write_text(yaml.safe_dump({"servers": [entry]}))
        network_env = self.lab.home / "lab" / "network-environment.yaml"
        argv = [TRIPLEO, "overcloud", "deploy", "--roles-file", str(ROLES), "-e", str(LAB_ENV),
                "-e", str(network_env), "--parameter", "ComputeCount=1",
                "--deployed-servers", str(node_file)]  # fmt: skip
        return subprocess.run(argv, env=self.lab.env, capture_output=True, text=True, timeout=3600)


def _skip_reason() -> str | None:
    tools = ("qemu-system-x86_64", "qemu-img", "mmdebstrap", "mke2fs", "apt-cacher-ng")
    missing = [t for t in tools if shutil.which(t) is None]
    return f"QEMU machines need {', '.join(missing)} (scripts/debian-packages)" if missing else None


@pytest.fixture(scope="module")
def booted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Booted]:
    """A lab of a namespace controller (left off) and a machine (node-1), its image built by ``lab up``;
    the package cache on the lab's ctlplane address; the machine provisioned as an operator would (its
    config drive: host name, key, a static ctlplane address) and powered on by its BMC."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("machine-home")
    cache = PackageCache.of(home)
    started = time.monotonic()
    # built here, where it may take minutes; `lab up` (a CLI call with a timeout) then finds it cached
    _, built = build_image(image_cache(home / "lab"))
    figures = {"image_build_s" if built else "image_cached_s": time.monotonic() - started}
    started = time.monotonic()
    labs = running_lab(home, *pinned_lab(home, LAB_NAME, nodes=2, shift=SHIFT, machines=1))
    lab = next(labs)
    figures["lab_up_s"] = time.monotonic() - started
    try:
        config = lab.api.config()
        node = config.nodes[1]
        assert node.kind == "machine"
        ctlplane = config.network("ctlplane")
        proxy = f"{ctlplane.host_address}:{CACHE_PORT}"
        if PACKAGE_CACHE:
            cache.directory.mkdir(parents=True, exist_ok=True)
            (cache.directory / "cache").symlink_to(PACKAGE_CACHE)
        cache.start(proxy)
        subnet = ipaddress.ip_network(ctlplane.cidr)
        address = str(subnet.network_address + 160)
        drive = ConfigDrive(HOSTNAME, (lab.api.public_key(),), f"{address}/{subnet.prefixlen}")
        lab.api.write_config_drive(node.name, drive)
        started = time.monotonic()
        lab.power_on(node.name)
        wait_until(lambda: lab.ssh(address, "true", timeout=3).returncode == 0, 300, "SSH to the machine", 1)
        figures["boot_to_ssh_s"] = time.monotonic() - started
        wait_until(lambda: lab.api.is_up(node.name), 30, "the machine's tl-init: up", 1)
        yield Booted(lab, node.name, address, dict(zip(node.networks, node.macs, strict=True)), figures)
    finally:
        cache.stop()
        labs.close()  # lab down: QEMU is a process of the node's namespace, its taps links of the lab


def test_the_machine_has_its_own_debian_and_no_route_off_the_lab(booted: Booted) -> None:
    assert booted.ssh("hostname").strip() == HOSTNAME
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
    done = booted.deploy(tmp_path)
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
    again = booted.deploy(tmp_path)
    booted.figures["noop_deploy_s"] = time.monotonic() - started
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"config plan: {HOSTNAME}.overcloud.lab: nothing to run" in again.stderr
    if FIGURES:
        Path(FIGURES).write_text(json.dumps(booted.figures, indent=2))


def test_a_soft_power_off_shuts_the_machine_down(booted: Booted) -> None:
    """IPMI's soft power off is the machine's ACPI power button: its systemd shuts down and QEMU exits."""
    out = booted.lab.ipmitool(booted.node, "chassis", "power", "soft")
    assert out == "Chassis Power Control: Soft", out
    wait_until(lambda: not booted.lab.api.is_on(booted.node), 120, "QEMU to exit", 1)
    assert booted.lab.ipmitool(booted.node, "chassis", "power", "status") == "Chassis Power is off"
