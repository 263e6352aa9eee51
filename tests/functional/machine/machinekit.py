"""A QEMU machine of a lab, provisioned and powered on as an operator would, for the machine tests: the lab
(a namespace controller, left off, and the machine), the package cache on the lab's ctlplane address, the
machine's config drive (host name, key, a static ctlplane address outside the lab's pool), power on by its
BMC, SSH. Shared by test_machine_lab.py (the deployed-server roles) and test_machine_compute.py (a Compute
beside a deployed controller)."""

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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from labkit import RunningLab, pinned_lab, running_lab, wait_until

from tripleo.config.packagecache import PackageCache
from tripleo.lab.drive import ConfigDrive
from tripleo.lab.machine import build_image, image_cache

TRIPLEO = str(Path(sys.executable).with_name("tripleo"))
REPO = Path(__file__).resolve().parents[3]
LAB_ENV = REPO / "templates" / "environments" / "lab.yaml"
CACHE_PORT = 3142
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
    hostname: str
    address: str
    macs: dict[str, str]
    figures: dict[str, float] = field(default_factory=dict)

    def ssh(self, command: str, check: bool = True) -> str:
        done = self.lab.ssh(self.address, command, timeout=30)
        assert done.returncode == 0 or not check, f"{command}: {done.stderr}"
        return done.stdout

    def node_file(self, tmp: Path, role: str = "Compute") -> Path:
        entry = {"hostname": self.hostname, "role": role, "ctlplane": self.address,
                 "ssh_key": str(self.lab.api.ssh_key),
                 "nics": {net: self.macs[net] for net in ("internal_api", "tenant", "storage")}}  # fmt: skip
        path = tmp / "servers.yaml"
        path.write_text(yaml.safe_dump({"servers": [entry]}))
        return path

    def deploy(self, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """``overcloud deploy`` with the lab's environments, the machine as the one deployed Compute."""
        network_env = self.lab.home / "lab" / "network-environment.yaml"
        argv = [TRIPLEO, "overcloud", "deploy", "-e", str(LAB_ENV), "-e", str(network_env), "--parameter",
                "ComputeCount=1", "--deployed-servers", str(self.node_file(tmp)), *args]  # fmt: skip
        return subprocess.run(argv, env=self.lab.env, capture_output=True, text=True, timeout=7200)


def skip_reason() -> str | None:
    tools = ("qemu-system-x86_64", "qemu-img", "mmdebstrap", "mke2fs", "apt-cacher-ng")
    missing = [t for t in tools if shutil.which(t) is None]
    return f"QEMU machines need {', '.join(missing)} (scripts/debian-packages)" if missing else None


@contextmanager
def booted_machine(home: Path, name: str, shift: int, hostname: str) -> Iterator[Booted]:
    """A lab named ``name`` (a namespace node-0, left off, and the machine node-1; its image built here,
    where it may take minutes, so that ``lab up`` finds it cached), the package cache, the machine
    provisioned and booted to SSH; ``lab down`` whatever happens."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    cache = PackageCache.of(home)
    started = time.monotonic()
    _, built = build_image(image_cache(home / "lab"))
    figures = {"image_build_s" if built else "image_cached_s": time.monotonic() - started}
    started = time.monotonic()
    labs = running_lab(home, *pinned_lab(home, name, nodes=2, shift=shift, machines=1))
    lab = next(labs)
    figures["lab_up_s"] = time.monotonic() - started
    try:
        config = lab.api.config()
        node = config.nodes[1]
        assert node.kind == "machine"
        ctlplane = config.network("ctlplane")
        if PACKAGE_CACHE:
            cache.directory.mkdir(parents=True, exist_ok=True)
            (cache.directory / "cache").symlink_to(PACKAGE_CACHE)
        cache.start(f"{ctlplane.host_address}:{CACHE_PORT}")
        subnet = ipaddress.ip_network(ctlplane.cidr)
        address = str(subnet.network_address + 160)
        drive = ConfigDrive(hostname, (lab.api.public_key(),), f"{address}/{subnet.prefixlen}")
        lab.api.write_config_drive(node.name, drive)
        started = time.monotonic()
        lab.power_on(node.name)
        wait_until(lambda: lab.ssh(address, "true", timeout=3).returncode == 0, 300, "SSH to the machine", 1)
        figures["boot_to_ssh_s"] = time.monotonic() - started
        wait_until(lambda: lab.api.is_up(node.name), 30, "the machine's tl-init: up", 1)
        macs = dict(zip(node.networks, node.macs, strict=True))
        yield Booted(lab, node.name, hostname, address, macs, figures)
    finally:
        cache.stop()
        labs.close()  # lab down: QEMU is a process of the node's namespace, its taps links of the lab


def enrol(lab: RunningLab, tmp: Path, names: Sequence[str]) -> None:
    """Import and introspect only these nodes of the lab (the machine is never enrolled: it is deployed)."""
    nodes = [n for n in lab.instackenv()["nodes"] if n["name"] in names]
    path = tmp / "instackenv.json"
    path.write_text(json.dumps({"nodes": nodes}))
    for args in (("overcloud", "node", "import", str(path)),
                 ("overcloud", "node", "introspect", "--all-manageable", "--provide")):  # fmt: skip
        done = subprocess.run([TRIPLEO, *args], env=lab.env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"tripleo {' '.join(args)}: {done.stdout}{done.stderr}"
