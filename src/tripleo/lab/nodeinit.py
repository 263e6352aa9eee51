"""A lab node's init: PID 1 inside the node's network, mount, UTS and PID namespaces.

Started by the lab daemon on power on as
``ip netns exec tl-<node> unshare --mount --uts --pid --fork --kill-child --mount-proc python -m
tripleo.lab.nodeinit <node dir>``. It lays the node's disk over the host (overlays for /etc, /var, /home,
/opt, /srv; /root over /etc/skel), mounts tmpfs on /run and /tmp, makes the rest read-only, applies the config
drive as cloud-init would (hostname, root's authorized_keys, ctlplane address, routes inside the lab) and
starts sshd on the ctlplane address, then what a deploy left for the node to start at power-on
(:func:`start_services`). Then it reaps orphans until SIGTERM (a soft power off: it stops every
process and takes the node's links down before it exits); SIGKILL from the host (a hard power off) ends it
and with it every process of the node, and the host takes the links down (:mod:`tripleo.lab.power`).

Everything it mounts lives in the node's own mount namespace and disappears with it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tripleo.lab.drive import ConfigDrive, read_config_drive
from tripleo.lab.network import plan_links_off
from tripleo.lab.paths import DISK_DIRS, NodePaths
from tripleo.shipped import AGENT_ON_NODE, BOOT_FILE

SSHD = "/usr/sbin/sshd"
HOST_KEY = "/etc/ssh/ssh_host_ed25519_key"
_KEYS_MARKER = "/etc/ssh/.tl-node-host-keys"


def log(message: str) -> None:
    print(f"tl-init: {message}", flush=True)


def sh(argv: Sequence[str], check: bool = True) -> int:
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        log(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()}")
        if check:
            raise SystemExit(1)
    return proc.returncode


def mount_disk(node: NodePaths, lab_dir: Path) -> None:
    """The node's filesystem view: its disk over the host's, tmpfs for /run and /tmp, the rest read-only."""
    sh(["mount", "--make-rprivate", "/"])
    # /root goes last: the lab's directory may live below the host's /root and is hidden from then on.
    for name in sorted(DISK_DIRS, key=lambda d: d == "root"):
        upper, work = node.layer(name)
        upper.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        lower = "/etc/skel" if name == "root" else f"/{name}"
        opts = f"lowerdir={lower},upperdir={upper},workdir={work}"
        sh(["mount", "-t", "overlay", "overlay", "-o", opts, f"/{name}"])
        if name == "var":  # now, while the node's directory is still visible
            bind_container_storage(node)
    if lab_dir.is_dir():  # still visible (not below /root or /tmp): hide the lab's state and secrets
        sh(["mount", "-t", "tmpfs", "-o", "ro,size=4k,mode=0700", "tl-hidden", str(lab_dir)])
    sh(["mount", "-t", "tmpfs", "-o", "mode=0755,nosuid,nodev", "tl-run", "/run"])
    sh(["mount", "-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "tl-tmp", "/tmp"])
    for sub in ("lock", "sshd"):
        Path("/run", sub).mkdir(mode=0o755, exist_ok=True)
    sh(["mount", "-o", "remount,bind,ro", "/"])
    if os.path.ismount("/usr"):
        sh(["mount", "-o", "remount,bind,ro", "/usr"])


_CONTAINERS_CONF = """\
# written by the lab's node init: a lab node has no systemd
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


def bind_container_storage(node: NodePaths) -> None:
    """A plain directory of the node's disk at /var/lib/containers (wiped with the disk)."""
    storage = Path("/var/lib/containers")
    storage.mkdir(parents=True, exist_ok=True)
    node.containers.mkdir(parents=True, exist_ok=True)
    sh(["mount", "--bind", str(node.containers), str(storage)], check=False)


def prepare_containers() -> None:
    """What podman needs in a node (../shared/LAB-NOTES.md): the cgroup hierarchies the host has (``ip netns
    exec`` leaves /sys/fs/cgroup empty), storage on a plain directory, and settings for a node without
    systemd in its /etc/containers (conmon's cleanup reads them there too). Storage is bound earlier
    (:func:`bind_container_storage`)."""
    hierarchies = []
    for line in Path("/proc/cgroups").read_text().splitlines()[1:]:
        name, hierarchy, _, enabled = line.split()
        if enabled == "1" and hierarchy != "0":
            hierarchies.append(name)
    cgroup = Path("/sys/fs/cgroup")
    sh(["mount", "-t", "tmpfs", "-o", "mode=0755,nosuid,nodev,noexec", "tl-cgroup", str(cgroup)], check=False)
    if not hierarchies:  # the unified hierarchy only
        sh(["mount", "-t", "cgroup2", "cgroup2", str(cgroup)], check=False)
    for name in [*hierarchies, "name=systemd"] if hierarchies else []:
        target = cgroup / name.removeprefix("name=")
        target.mkdir(exist_ok=True)
        sh(["mount", "-t", "cgroup", "-o", name, "cgroup", str(target)], check=False)
    conf = Path("/etc/containers/containers.conf")
    if Path("/etc/containers").is_dir() and not conf.exists():
        conf.write_text(_CONTAINERS_CONF)


def set_hostname(name: str, with_files: bool) -> None:
    """The hostname; /etc/hostname and /etc/hosts once per instance, as cloud-init does: a node that boots
    again under the same name keeps the /etc/hosts a deploy wrote (the overcloud's names on every network,
    which RabbitMQ's node names need)."""
    socket.sethostname(name)
    hostname = Path("/etc/hostname")
    same = hostname.is_file() and hostname.read_text().strip() == name
    if with_files and not same:
        hostname.write_text(name + "\n")
        short = name.split(".")[0]
        aliases = name if short == name else f"{name} {short}"
        Path("/etc/hosts").write_text(
            f"127.0.0.1\tlocalhost\n127.0.1.1\t{aliases}\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        )


def configure_network(boot: dict[str, Any], drive: ConfigDrive | None) -> str | None:
    """Bring the NICs up clean; put the drive's ctlplane address and in-lab routes on. Returns the address."""
    sh(["ip", "link", "set", "lo", "up"])
    for nic in boot["nics"]:
        sh(["ip", "addr", "flush", "dev", nic["name"]], check=False)
        sh(["ip", "link", "set", nic["name"], "up"])
    if drive is None or drive.ctlplane_address is None:
        return None
    ctlplane = boot["nics"][0]["name"]
    sh(["ip", "addr", "add", drive.ctlplane_address, "dev", ctlplane])
    lab = [ipaddress.IPv4Network(cidr) for cidr in boot["lab_subnets"]]
    for route in drive.routes:
        dest = ipaddress.IPv4Network(route.destination)
        if not any(dest.subnet_of(net) for net in lab):
            log(f"route {dest} via {route.gateway} skipped: lab nodes get no route off the lab's subnets")
            continue
        sh(["ip", "route", "replace", str(dest), "via", route.gateway], check=False)
    return str(ipaddress.IPv4Interface(drive.ctlplane_address).ip)


def links_off(boot: dict[str, Any]) -> None:
    """What power off leaves of the node's network: its NICs down without addresses, nothing it made."""
    listed = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True, check=False)
    for cmd in plan_links_off(listed.stdout, [nic["name"] for nic in boot["nics"]]):
        sh(cmd, check=False)


def install_keys(keys: Sequence[str]) -> None:
    ssh = Path("/root/.ssh")
    ssh.mkdir(mode=0o700, exist_ok=True)
    auth = ssh / "authorized_keys"
    have = auth.read_text().splitlines() if auth.exists() else []
    missing = [k for k in keys if k not in have]
    if missing or not auth.exists():
        auth.write_text("".join(line + "\n" for line in [*have, *missing]))
    auth.chmod(0o600)


def start_sshd(address: str) -> None:
    """sshd on the ctlplane address, with the node's own host key (made on first boot)."""
    if not Path(_KEYS_MARKER).exists():
        for old in Path("/etc/ssh").glob("ssh_host_*"):
            old.unlink()
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", HOST_KEY])
        Path(_KEYS_MARKER).touch()
    sh([SSHD, "-o", f"ListenAddress={address}", "-o", f"HostKey={HOST_KEY}", "-o", "PidFile=/run/sshd.pid"])
    log(f"sshd listening on {address}:22")


def start_services() -> None:
    """What a deployed node's init runs by itself (tripleo.config.boot): the NIC config and firewall again,
    then the services the deploy enabled, in a process of their own (PID 1 goes on reaping); its log is
    /var/log/tripleo-boot.log on the node's disk. Nothing on a node no deploy reached."""
    if not (Path(AGENT_ON_NODE).is_file() and Path(BOOT_FILE).is_file()):
        return
    with open("/var/log/tripleo-boot.log", "ab") as out:
        subprocess.Popen(["/usr/bin/python3", AGENT_ON_NODE, "boot", "start"], stdin=subprocess.DEVNULL,
                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    log("boot services starting (/var/log/tripleo-boot.log)")


class _Init:
    """PID 1 duties: reap every orphan; on SIGTERM stop all processes and exit."""

    def __init__(self) -> None:
        self.stopping = False
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, self._on_term)

    def _on_term(self, signum: int, frame: object) -> None:
        self.stopping = True

    def reap(self) -> bool:
        """Collect every exited child; True while children remain."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return False
            if pid == 0:
                return True

    def serve(self, grace: float = 5.0) -> None:
        while not self.stopping:
            self.reap()
            time.sleep(0.2)
        log("power off: stopping all processes")
        os.kill(-1, signal.SIGTERM)  # from PID 1: every other process of the node
        deadline = time.monotonic() + grace
        while self.reap() and time.monotonic() < deadline:
            time.sleep(0.05)
        # returning ends PID 1, and the kernel ends whatever is left of the node


def boot(node_dir: Path) -> None:
    """Boot the node whose files are in ``node_dir``."""
    init = _Init()
    node = NodePaths(node_dir)
    spec = json.loads(node.boot.read_text())
    try:
        drive = read_config_drive(node.config_drive)
    except Exception as exc:  # a broken drive must not keep the node from booting
        log(f"config drive ignored: {exc}")
        drive = None
    log(f"booting {spec['name']} ({'with' if drive else 'without'} config drive)")
    mount_disk(node, Path(spec["lab_dir"]))
    os.chdir("/")  # the host's working directory is not the node's (its /tmp is the node's own)
    prepare_containers()
    set_hostname(drive.hostname if drive else spec["name"], with_files=drive is not None)
    address = configure_network(spec, drive)
    if drive is not None:
        install_keys(drive.authorized_keys)
    if address is not None:
        start_sshd(address)
        start_services()
    log("up")
    init.serve()
    links_off(spec)
    log("off")


def main(argv: Sequence[str]) -> int:
    if len(argv) != 2 or os.getpid() != 1:
        print("usage: python -m tripleo.lab.nodeinit NODE_DIR (as PID 1 of a lab node)", file=sys.stderr)
        return 2
    boot(Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
