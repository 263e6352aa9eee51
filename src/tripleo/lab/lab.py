"""The lab facade: bring a lab up, take it down, report on it, and the provisioning primitives.

One :class:`Lab` per ``$TRIPLEO_HOME``. Labs with different names (``lab up --name``, default ``tl``) are up
side by side: each object on the host carries the lab's prefix, the default lab moves its subnets and BMC
ports out of the way of the labs already up, and ``down`` removes every object with its own prefix (and its
daemon), whatever state file is left, and nothing of another lab. ``up`` refuses a different config while
one is up.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tripleo.errors import InputError, OperationError
from tripleo.lab import network
from tripleo.lab.config import (
    CTLPLANE,
    DEFAULT_NAME,
    LAB_NAME,
    MACHINE,
    LabConfig,
    NodeSpec,
    parse_config,
    shifted,
)
from tripleo.lab.cpushare import remove_groups
from tripleo.lab.drive import ConfigDrive, read_config_drive, write_config_drive_files
from tripleo.lab.machine import MACHINE_TOOLS, build_image, image_cache
from tripleo.lab.paths import DISK_DIRS, LabPaths, tripleo_home, write_private
from tripleo.lab.power import INIT_UP, NODE_ENV, POWER_ON_LINE
from tripleo.lab.system import (
    Runner,
    SubprocessRunner,
    kill_netns_processes,
    netns_pids,
    pid_ns_init,
    send_signal,
)

__all__ = ["Lab", "NodeStatus", "TeardownReport", "lab_namespaces"]

LOG = logging.getLogger(__name__)
DAEMON_MODULE = "tripleo.lab.daemon"
_TOOLS = ("ip", "nft", "unshare", "nsenter", "mount", "ssh-keygen")
_SSHD = "/usr/sbin/sshd"
_SHIFTS = 10  # how far a movable lab may move (lab.config.shifted)


@dataclass(frozen=True)
class NodeStatus:
    """One node as ``lab status`` shows it."""

    name: str
    power: str
    pm_port: int
    ctlplane_ip: str | None
    boot_device: str
    profile: str | None
    networks: tuple[str, ...]
    macs: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "power": self.power,
            "pm_port": self.pm_port,
            "ctlplane_ip": self.ctlplane_ip,
            "boot_device": self.boot_device,
            "profile": self.profile,
            "networks": list(self.networks),
            "macs": list(self.macs),
        }


@dataclass(frozen=True)
class TeardownReport:
    """What ``down`` removed."""

    daemons: int
    namespaces: int
    links: int
    nft_table: bool
    state_dir: bool


class Lab:
    """The virtual lab of one ``$TRIPLEO_HOME``.

    :param home: TRIPLEO_HOME (default: the environment's, or ~/.local/share/tripleo).
    :param runner: runs host commands; a fake in unit tests.
    """

    def __init__(
        self,
        home: Path | None = None,
        runner: Runner | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.paths = LabPaths.from_home(home if home is not None else tripleo_home())
        self.runner: Runner = runner or SubprocessRunner()
        self.clock = clock
        self.sleep = sleep

    # -- bring up ---------------------------------------------------------------------------------------

    def up(self, config: LabConfig, movable: bool = False) -> Path:
        """Create the lab (or finish creating it), start the BMC daemon, write instackenv.json and the
        network environment of its subnets (``network-environment.yaml``, for ``overcloud deploy -e``).

        Idempotent: run twice with the same config, the second run creates nothing.

        :param movable: the subnets and BMC ports may move (:func:`~tripleo.lab.config.shifted`) out of the
            way of the host's routes and listening ports (another lab's): the default config.
        :returns: the path of instackenv.json.
        :raises InputError: a different lab is up, or a lab subnet clashes with the host's routes.
        :raises OperationError: not root, a tool is missing, or a host command failed.
        """
        machines = any(node.kind == MACHINE for node in config.nodes)
        preflight(self.paths.root, machines)
        routes = self.runner.run(["ip", "-j", "route", "show"]).stdout
        if movable:
            config = self._place(config, routes)
        password = self._claim_state(config)
        clashes = network.check_conflicts(config, routes)
        if clashes:
            raise InputError(f"lab networks clash with the host's: {'; '.join(clashes)}")
        self._ensure_key()
        if machines:  # before the BMCs answer: a power on must not wait for a build
            build_image(image_cache(self.paths.root))
        for node in config.nodes:
            write_private(self.paths.node(node.name).boot, self._boot_spec(config, node))
        facts = network.read_facts(self.runner, config.name)
        network.apply(self.runner, network.plan_up(config, facts), name=config.name)
        self._ensure_daemon(config.name)
        write_private(self.paths.instackenv, instackenv(config, password))
        self.paths.network_environment.write_text(network_environment(config))
        return self.paths.instackenv

    def _place(self, config: LabConfig, routes: str) -> LabConfig:
        """The lab that is up here, else the first shift of ``config`` with free subnets and BMC ports."""
        if self.paths.state.exists():
            up = self.config()
            same = any(shifted(config, step).to_dict() == up.to_dict() for step in range(_SHIFTS))
            return up if same else config  # another config: _claim_state says so
        for step in range(_SHIFTS):
            candidate = shifted(config, step)
            if not network.check_conflicts(candidate, routes) and _ports_free(candidate):
                return candidate
        raise InputError("no free subnets and BMC ports for another lab: take one down first")

    def _claim_state(self, config: LabConfig) -> str:
        """Record the config and the BMC password, or check that the lab already up has this config."""
        if self.paths.state.exists():
            state = self._state()
            if state["config"] != config.to_dict():
                raise InputError(
                    "a lab with a different config is up: run `tripleo lab down` first",
                    file=str(self.paths.state),
                )
            return str(state["bmc_password"])
        others = lab_namespaces(config.name, self.runner)
        if others:
            raise InputError(
                f"another lab named {config.name} is up on this host ({others[0]}): run "
                f"`tripleo lab down --name {config.name}` first, or choose another --name"
            )
        self.paths.root.mkdir(parents=True, exist_ok=True)
        self.paths.root.chmod(0o700)
        password = secrets.token_urlsafe(12)
        write_private(self.paths.state, {"config": config.to_dict(), "bmc_password": password})
        return password

    def _ensure_key(self) -> None:
        key = self.paths.ssh_key
        if not key.exists():
            cmd = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tripleo-lab", "-f", str(key)]
            self.runner.run(cmd)

    def _boot_spec(self, config: LabConfig, node: NodeSpec) -> dict[str, Any]:
        nics = [
            {"name": node.nic_name(i), "mac": mac, "network": net}
            for i, (net, mac) in enumerate(zip(node.networks, node.macs, strict=True))
        ]
        subnets = [n.cidr for n in config.networks]
        return {"name": node.name, "lab_dir": str(self.paths.root), "nics": nics, "lab_subnets": subnets}

    def _ensure_daemon(self, name: str, timeout: float = 15.0) -> None:
        if self._daemon_pids(name):
            return
        self.paths.pidfile.unlink(missing_ok=True)
        with open(self.paths.daemon_log, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", DAEMON_MODULE, str(self.paths.root), name],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = self.clock() + timeout
        while not self.paths.pidfile.exists():
            if proc.poll() is not None or self.clock() > deadline:
                proc.kill()
                proc.wait()
                tail = self.paths.daemon_log.read_text(errors="replace").strip().splitlines()[-1:]
                raise OperationError(f"the lab daemon did not start: {' '.join(tail) or 'no output'}")
            self.sleep(0.05)

    # -- state ------------------------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.paths.state.read_text())
        except OSError as exc:
            raise OperationError(f"no lab is up here ({self.paths.state}): run `tripleo lab up`") from exc
        except ValueError as exc:
            raise OperationError(f"corrupt lab state: {exc}", file=str(self.paths.state)) from exc
        return data

    def config(self) -> LabConfig:
        """The config of the lab that is up.

        :raises OperationError: no lab is up under this TRIPLEO_HOME.
        """
        return parse_config(self._state()["config"], file=str(self.paths.state))

    @property
    def ssh_key(self) -> Path:
        """The lab's private SSH key (its ``.pub`` goes into config drives)."""
        return self.paths.ssh_key

    def public_key(self) -> str:
        """The lab's public SSH key, for config drives.

        :raises OperationError: no lab is up.
        """
        try:
            return self.paths.ssh_key.with_suffix(".pub").read_text().strip()
        except OSError as exc:
            raise OperationError(f"no lab key ({exc.strerror}): run `tripleo lab up`") from exc

    def is_on(self, node: str) -> bool:
        return bool(netns_pids(self.runner, self.config().node(node).netns))

    def is_up(self, node: str) -> bool:
        """On, and its init finished booting (hostname, addresses, sshd) in the latest boot."""
        if not self.is_on(node):
            return False
        try:
            lines = self.paths.node(node).console_log.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return False
        for line in reversed(lines):
            if line == INIT_UP:
                return True
            if line == POWER_ON_LINE:
                return False
        return False

    def status(self) -> list[NodeStatus]:
        """Every node with its power state, BMC port, ctlplane address (from its config drive), NICs.

        :raises OperationError: no lab is up.
        """
        config = self.config()
        rows = []
        for node in config.nodes:
            paths = self.paths.node(node.name)
            try:
                drive = read_config_drive(paths.config_drive)
            except InputError:
                drive = None
            address = drive.ctlplane_address if drive else None
            try:
                boot = json.loads(paths.bmc_state.read_text()).get("boot_device", "default")
            except (OSError, ValueError):
                boot = "default"
            rows.append(
                NodeStatus(
                    name=node.name,
                    power="on" if netns_pids(self.runner, node.netns) else "off",
                    pm_port=config.bmc_port(node),
                    ctlplane_ip=address.split("/")[0] if address else None,
                    boot_device=str(boot),
                    profile=node.profile,
                    networks=node.networks,
                    macs=node.macs,
                )
            )
        return rows

    # -- provisioning primitives ------------------------------------------------------------------------

    def _powered_off(self, name: str, action: str) -> NodeSpec:
        node = self.config().node(name)
        if netns_pids(self.runner, node.netns):
            raise OperationError(f"{name} is powered on: power it off before you {action}")
        return node

    def write_config_drive(self, name: str, drive: ConfigDrive) -> None:
        """Put a config drive on a node's disk (replacing any); the node applies it at its next boot.

        :raises InputError: an unknown node or a malformed drive.
        :raises OperationError: the node is on.
        """
        drive.validate()
        node = self._powered_off(name, "write its config drive")
        root = self.paths.node(name).config_drive
        shutil.rmtree(root, ignore_errors=True)
        write_config_drive_files(root, drive, node.macs[0])

    def wipe_disk(self, name: str) -> None:
        """Erase a node's disk: its own /etc, /var, /root, /home, /opt, /srv and its config drive.

        :raises InputError: an unknown node.
        :raises OperationError: the node is on.
        """
        self._powered_off(name, "wipe its disk")
        shutil.rmtree(self.paths.node(name).disk, ignore_errors=True)

    def console_argv(self, name: str, command: Sequence[str] = ()) -> list[str]:
        """The command that runs ``command`` (default: a login shell) inside a running node, as root.

        :raises OperationError: the node is off.
        """
        node = self.config().node(name)
        init = pid_ns_init(netns_pids(self.runner, node.netns))
        if init is None:
            raise OperationError(f"{name} is powered off: power it on first (IPMI chassis power on)")
        enter = ["nsenter", "-t", str(init), "-m", "-u", "-i", "-n", "-p", "--wd=/root"]
        env = [
            "env",
            "-i",
            *(f"{k}={v}" for k, v in NODE_ENV.items()),
            f"TERM={os.environ.get('TERM', 'dumb')}",
        ]
        return [*enter, *env, *(command or ["/bin/bash", "-l"])]

    # -- tear down --------------------------------------------------------------------------------------

    def name(self) -> str:
        """The name of the lab recorded here (the default when none is)."""
        try:
            return str(self._state()["config"].get("name") or DEFAULT_NAME)
        except (OperationError, AttributeError):
            return DEFAULT_NAME

    def down(self, name: str | None = None) -> TeardownReport:
        """Remove everything lab ``name`` (default: the one recorded here) made: daemon, node processes,
        namespaces, links, firewall, and this home's lab files when they are that lab's.

        Works from whatever is left after a crash (it goes by the lab's prefix) and when nothing is left;
        another lab's objects are never touched.

        :raises OperationError: something with the lab's prefix survives.
        """
        mine = self.name()
        name = name or mine
        if not LAB_NAME.match(name):
            raise InputError(f"--name {name}: not a lab name (1 to 5 lower-case letters and digits)")
        prefix = f"{name}-"
        daemons = self._stop_daemons(name)
        facts = network.read_facts(self.runner, name)
        for ns in sorted(facts.netns):
            if ns.startswith(prefix):
                kill_netns_processes(self.runner, ns, clock=self.clock, sleep=self.sleep)
        network.apply(self.runner, network.plan_down(facts, name), ignore_missing=True, name=name)
        remove_groups(prefix)
        left = network.read_facts(self.runner, name)
        remains = sorted(n for n in left.links | left.netns if n.startswith(prefix))
        if remains or left.nft_table:
            raise OperationError(f"lab down left {', '.join(remains) or 'the nft table'} behind")
        had_dir = self.paths.root.exists() and name == mine
        if name == mine:
            shutil.rmtree(self.paths.root, ignore_errors=True)
        return TeardownReport(
            daemons=daemons,
            namespaces=sum(1 for n in facts.netns if n.startswith(prefix)),
            links=sum(1 for n in facts.links if n.startswith(prefix)),
            nft_table=facts.nft_table,
            state_dir=had_dir,
        )

    def _daemon_pids(self, name: str) -> list[int]:
        """Running daemons of lab ``name`` (whatever TRIPLEO_HOME they serve)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"-m" not in argv or DAEMON_MODULE.encode() not in argv:
                continue
            args = [a for a in argv[argv.index(DAEMON_MODULE.encode()) + 1 :] if a]
            served = args[1].decode() if len(args) > 1 else DEFAULT_NAME  # older daemons: the default lab
            if served == name:
                pids.append(int(entry.name))
        return pids

    def _stop_daemons(self, name: str, timeout: float = 5.0) -> int:
        pids = self._daemon_pids(name)
        for pid in pids:
            send_signal(pid, signal.SIGTERM)
        deadline = self.clock() + timeout
        while (alive := [p for p in pids if _alive(p)]) and self.clock() < deadline:
            self.sleep(0.05)
        for pid in alive:
            send_signal(pid, signal.SIGKILL)
        return len(pids)


def lab_namespaces(name: str, runner: Runner | None = None) -> list[str]:
    """The network namespaces of lab ``name`` on this host (its nodes'), whoever brought it up; [] also on a
    host that never had a namespace (no /run/netns)."""
    found = network.namespaces(runner or SubprocessRunner())
    return sorted(ns for ns in found if ns.startswith(f"{name}-"))


def _alive(pid: int) -> bool:
    """Running (a zombie left for its parent to collect counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _ports_free(config: LabConfig) -> bool:
    """Whether every BMC port of ``config`` can be bound on 127.0.0.1 (UDP: IPMI)."""
    for node in config.nodes:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", config.bmc_port(node)))
            except OSError:
                return False
    return True


def _param_prefix(name: str) -> str:
    """THT's parameter prefix of a network (``internal_api`` -> ``InternalApi``; ctlplane: ControlPlane)."""
    if name == CTLPLANE:
        return "ControlPlane"
    return "".join(part.capitalize() for part in name.split("_"))


def network_environment(config: LabConfig) -> str:
    """An environment of the lab's subnets (``<Net>NetCidr``, ``<Net>AllocationPools``, the default routes
    through the host's addresses, NtpServers), for an overcloud deployed onto this lab whatever its shift."""
    import yaml

    params: dict[str, Any] = {}
    for net in config.networks:
        cidr = ipaddress.IPv4Network(net.cidr)
        name = _param_prefix(net.name)
        first, last = (10, 99) if net.name == CTLPLANE else (4, min(250, cidr.num_addresses - 2))
        params[f"{name}NetCidr"] = net.cidr
        params[f"{name}AllocationPools"] = [
            {"start": str(cidr.network_address + first), "end": str(cidr.network_address + last)}
        ]
        if net.host_address:
            route = "ControlPlaneDefaultRoute" if net.name == CTLPLANE else f"{name}InterfaceDefaultRoute"
            params[route] = net.host_address
            if net.name == CTLPLANE:
                params["NtpServers"] = [net.host_address]
    head = f"# The subnets of lab {config.name} (written by tripleo lab up): pass it after lab.yaml.\n"
    return head + yaml.safe_dump({"parameter_defaults": params}, sort_keys=True)


def preflight(lab_dir: Path, machines: bool = False) -> None:
    """Check what ``lab up`` needs: root, the tools (QEMU's and mmdebstrap for ``machines``), a state
    directory the nodes' overlays do not cover.

    :raises OperationError: not root or a tool missing.
    :raises InputError: TRIPLEO_HOME below a directory that nodes overlay.
    """
    if os.geteuid() != 0:
        raise OperationError("the lab needs root (network namespaces, bridges, mounts): run as root")
    missing = [tool for tool in (*_TOOLS, *(MACHINE_TOOLS if machines else ())) if shutil.which(tool) is None]
    if not os.path.exists(_SSHD):
        missing.append("sshd (openssh-server)")
    if missing:
        raise OperationError(f"the lab needs these tools: {', '.join(missing)}")
    resolved = lab_dir.resolve()
    if _fs_type(resolved) == "overlay":
        raise OperationError(
            f"TRIPLEO_HOME is on overlayfs ({resolved}): node disks need ext4, xfs or tmpfs as overlay upper"
        )
    for name in DISK_DIRS:
        if name != "root" and resolved.is_relative_to(f"/{name}"):
            raise InputError(f"TRIPLEO_HOME must not be below /{name}: lab nodes overlay it ({resolved})")


def _fs_type(path: Path) -> str:
    """The filesystem type of the mount holding ``path`` (its nearest existing ancestor)."""
    best, fstype = "", ""
    for line in Path("/proc/mounts").read_text().splitlines():
        fields = line.split()
        mount = fields[1].replace("\\040", " ")
        inside = str(path) == mount or str(path).startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, fstype = mount, fields[2]
    return fstype


def instackenv(config: LabConfig, password: str) -> dict[str, Any]:
    """The lab's nodes in TripleO's instackenv.json format (pm_type ``lab``: IPMI power, lab provisioning)."""
    nodes = []
    for node in config.nodes:
        entry: dict[str, Any] = {
            "name": node.name,
            "pm_type": "lab",
            "pm_addr": "127.0.0.1",
            "pm_port": config.bmc_port(node),
            "pm_user": config.bmc_user,
            "pm_password": password,
            "mac": [node.macs[0]],
            "ports": [
                {"address": mac, "physical_network": net}
                for net, mac in zip(node.networks, node.macs, strict=True)
            ],
            "cpu": node.cpus,
            "memory": node.memory_mb,
            "disk": node.disk_gb,
            "arch": node.arch,
        }
        if node.profile:
            entry["capabilities"] = f"profile:{node.profile},boot_option:local"
        nodes.append(entry)
    return {"nodes": nodes}
