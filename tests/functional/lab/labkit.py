"""Helpers for the lab's functional tests: drive a running lab the way an operator would."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tripleo.lab import ConfigDrive, Lab
from tripleo.lab.config import default_config, shifted

TOOLS = ("ip", "nft", "ipmitool", "unshare", "nsenter", "ssh", "ssh-keygen", "ping")
TRIPLEO = str(Path(sys.executable).with_name("tripleo"))


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "lab tests need root (network namespaces, bridges, mounts)"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if not os.path.exists("/usr/sbin/sshd"):
        missing.append("sshd")
    if missing:
        return f"lab tests need {', '.join(missing)} (Debian: see .ci/run)"
    if not Path(TRIPLEO).exists():
        return f"no tripleo console script next to {sys.executable}"
    return None


def connects(address: str, port: int, timeout: float = 2) -> bool:
    """Whether a TCP connection from this host to ``address:port`` is accepted."""
    with socket.socket() as probe:
        probe.settimeout(timeout)
        return probe.connect_ex((address, port)) == 0


def reachable(targets: Iterable[tuple[str, int]]) -> dict[tuple[str, int], bool]:
    """:func:`connects` for every (address, port) at once: a firewall drops, so each refused probe waits
    out its timeout, and one at a time they add up to minutes."""
    pairs = list(dict.fromkeys(targets))
    with ThreadPoolExecutor(max_workers=max(len(pairs), 1)) as pool:
        return dict(zip(pairs, pool.map(lambda t: connects(*t), pairs), strict=True))


# the same from a node: `python3 - ADDRESS PORT...` prints "PORT True|False" for each, probed at once
NODE_PROBE = (
    "import socket, sys\n"
    "from concurrent.futures import ThreadPoolExecutor\n"
    "def probe(port):\n"
    "    s = socket.socket(); s.settimeout(3)\n"
    "    return s.connect_ex((sys.argv[1], int(port))) == 0\n"
    "ports = sys.argv[2:]\n"
    "with ThreadPoolExecutor(max(len(ports), 1)) as pool:\n"
    "    for port, ok in zip(ports, pool.map(probe, ports)):\n"
    "        print(port, ok)\n"
)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> float:
    """Poll ``predicate`` until true; return the seconds it took. Fails the test after ``timeout``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
    return time.monotonic() - start


def lab_names(name: str = "tl") -> dict[str, list[str]]:
    """Everything on the host that carries lab ``name``'s prefix."""
    prefix = f"{name}-"
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split("\n")
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout.splitlines()
    nft = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout.splitlines()
    mounts = Path("/proc/mounts").read_text().splitlines()
    return {
        "netns": [n for n in netns if n.startswith(prefix)],
        # index and name: a link made again has a new index; its state flags (a bridge's carrier) come and go
        "links": [
            ": ".join(ln.split(": ")[:2]) + ":" for ln in links if ln.split(": ")[1].startswith(prefix)
        ],
        "nft": [t for t in nft if t.split()[-1] == name],
        "mounts": [m for m in mounts if prefix in m or "/lab/nodes/" in m],
    }


DEFAULT_CTLPLANE = "192.168.24.0/24"


def default_subnets_taken() -> str | None:
    """Which interface holds the default lab's ctlplane subnet, when another lab (e.g. `make demo`'s, under
    its own name) has it: the modules that test the default lab's addresses then skip."""
    import ipaddress

    routes = json.loads(
        subprocess.run(["ip", "-j", "route", "show"], capture_output=True, text=True).stdout or "[]"
    )
    for route in routes:
        dev, dst = str(route.get("dev", "")), str(route.get("dst", ""))
        if dst == "default" or dev.startswith("tl-"):
            continue
        try:
            if ipaddress.ip_network(dst, strict=False).overlaps(ipaddress.ip_network(DEFAULT_CTLPLANE)):
                return dev
        except ValueError:
            continue
    return None


def lab_processes(home: Path, name: str = "tl") -> list[str]:
    """Processes of the lab: its daemon, node inits, anything started from its state directory (not those
    of another lab, which may be up beside it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(home) in cmdline or f" {name}-" in cmdline:
            found.append(f"{entry.name}: {cmdline}")
    return found


@dataclass
class RunningLab:
    """A lab brought up by a test module, and helpers to drive it the way an operator would."""

    home: Path
    api: Lab

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "TRIPLEO_HOME": str(self.home)}

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([TRIPLEO, *args], env=self.env, capture_output=True, text=True, timeout=60)
        if check:
            assert proc.returncode == 0, f"tripleo {' '.join(args)}: {proc.stdout}{proc.stderr}"
        return proc

    def instackenv(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.home / "lab" / "instackenv.json").read_text())
        return data

    def bmc(self, node: str) -> dict[str, Any]:
        entries = [n for n in self.instackenv()["nodes"] if n["name"] == node]
        return entries[0]

    def ipmitool(self, node: str, *args: str) -> str:
        bmc = self.bmc(node)
        cmd = ["ipmitool", "-I", "lanplus", "-H", bmc["pm_addr"], "-p", str(bmc["pm_port"])]
        cmd += ["-U", bmc["pm_user"], "-P", bmc["pm_password"], *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, f"ipmitool {' '.join(args)}: {proc.stdout}{proc.stderr}"
        return proc.stdout.strip()

    def provision(self, node: str, address: str) -> None:
        key = self.api.public_key()
        self.api.write_config_drive(
            node, ConfigDrive(hostname=f"{node}.lab", authorized_keys=(key,), ctlplane_address=address)
        )

    def power_on(self, node: str) -> None:
        assert self.ipmitool(node, "chassis", "power", "on") == "Chassis Power Control: Up/On"

    def power_off(self, node: str) -> None:
        assert self.ipmitool(node, "chassis", "power", "off") == "Chassis Power Control: Down/Off"

    def node_sh(self, node: str, script: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a shell script inside a node through ``tripleo lab console``."""
        return self.cli("lab", "console", node, "--", "sh", "-c", script, check=check)

    def ssh(self, address: str, command: str, timeout: float = 5) -> subprocess.CompletedProcess[str]:
        opts = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes"]
        opts += ["-o", f"ConnectTimeout={int(timeout)}", "-o", "LogLevel=ERROR"]
        cmd = ["ssh", "-i", str(self.api.ssh_key), *opts, f"root@{address}", command]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 5,
                                  stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin"})  # fmt: skip
        except subprocess.TimeoutExpired as exc:  # connected, then nothing (a node cut off or booting)
            return subprocess.CompletedProcess(cmd, 255, "", f"ssh: no answer within {exc.timeout} s")

    def wait_ssh(self, address: str, timeout: float = 10) -> float:
        return wait_until(
            lambda: self.ssh(address, "true", timeout=2).returncode == 0, timeout, f"ssh {address}"
        )


def pinned_lab(home: Path, name: str, nodes: int, shift: int, controllers: int = 1,
               machines: int = 0) -> list[str]:  # fmt: skip
    """``lab up`` arguments for a lab named ``name`` on the default lab's subnets and BMC ports moved
    ``shift`` times (lab.config.shifted), written as a config file: a lab with a config never moves, so it
    never takes the default lab's subnets, which the tests of the default lab (tl) need, whoever comes up
    first when test modules run side by side."""
    config = shifted(default_config(nodes, controllers, machines=machines), shift).named(name)
    path = home / f"{name}-lab.yaml"
    path.write_text(yaml.safe_dump(config.to_dict()))
    return ["--config", str(path), "--name", name]


def running_lab(home: Path, *up_args: str) -> Iterator[RunningLab]:
    """``tripleo lab up UP_ARGS`` in ``home`` for a fixture to yield from; ``lab down`` whatever happens.

    Skips when the host cannot run a lab, or when a lab of the same name (``--name``, default ``tl``) is up.
    """
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    name = up_args[up_args.index("--name") + 1] if "--name" in up_args else "tl"
    left = lab_names(name)
    if left["netns"] or left["links"]:
        pytest.skip(f"a lab named {name} is already up on this host ({left}): run `tripleo lab down` first")
    holder = default_subnets_taken() if name == "tl" else None
    if holder:
        pytest.skip(f"another lab holds the default lab's subnets ({DEFAULT_CTLPLANE} on {holder})")
    lab = RunningLab(home, Lab(home))
    try:
        lab.cli("lab", "up", *up_args)
        yield lab
    finally:
        Lab(home).down(name)  # this lab's objects only, even when its state file was never written


def free_cache_port() -> int:
    """A free port on 127.0.0.1 below 32768 (apt-cacher-ng binds none above; the kernel's own picks are
    above)."""
    for port in range(24000 + os.getpid() % 4000, 32768):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port below 32768")


def apt_installs(history: str) -> list[set[str]]:
    """The packages of each ``Install:`` line of apt's history.log (``name:arch (version[, automatic])``)."""
    out = []
    for line in history.splitlines():
        if line.startswith("Install: "):
            out.append({item.strip().split(":")[0].split(" ")[0] for item in line[9:].split("),") if item})
    return out


def cached_packages(cache: Path) -> set[str]:
    """The packages whose .deb the package cache under ``cache`` holds."""
    return {p.name.split("_")[0] for p in cache.resolve().rglob("*.deb")}
