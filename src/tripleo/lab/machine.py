"""QEMU machines on a lab's networks: machines with their own Debian, the proof that a deploy leans on
nothing of the host's /usr (issue 25; docs/qemu-machines-plan.md).

- **Image** (:func:`build_image`): ``mmdebstrap --variant=minbase --format=directory`` of Debian 12 from the
  undercloud's own apt sources with the cloud kernel, systemd, udev, iproute2 and openssh-server; no Python,
  no Puppet: the deploy's packages unit brings those. The tree gets the drive reader below, an fstab, no
  SSH host keys and an empty machine-id, then becomes a raw ext4 disk with ``mke2fs -d`` (no loop device,
  no mount). Cached under ``<cache>/<digest>/`` by what it is built from; a build writes a scratch
  directory and renames it into place.
- **Config drive** (:func:`write_drive`): a small ext4 disk (``tl-drive``) with plain files the image's
  ``tl-drive.service`` applies before the network and sshd: the host name, root's keys, and a
  systemd-networkd file putting the ctlplane address on the NIC of its MAC.
- **Power** (:class:`MachinePower`, what the node's IPMI BMC drives): a qcow2 overlay over the cached disk
  on the node's disk, the drive from the config drive ``lab provision`` wrote, and ``qemu-system-x86_64``
  (TCG; KVM guests hang on this host) started in the node's network namespace, so everything that treats
  a node as its namespace's processes (power state, a hard power off, ``lab down``) holds for it. Its NICs
  are taps on the lab's bridges, made by ``lab up`` under the names a node's veths have, opened on the host
  and passed to QEMU as descriptors. The serial console goes to the node's console log; the image says
  ``tl-init: up`` there once sshd runs, as a namespace node's init does.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import socket
import struct
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tripleo.debian import DOC_EXCLUDES, mirror, mirror_text
from tripleo.errors import InputError, OperationError
from tripleo.lab.config import NodeSpec
from tripleo.lab.cpushare import group_argv, node_group
from tripleo.lab.drive import ConfigDrive, read_config_drive
from tripleo.lab.paths import NodePaths
from tripleo.lab.power import INIT_UP, NODE_ENV, POWER_ON_LINE, NodePower
from tripleo.lab.system import Runner

LOG = logging.getLogger(__name__)

__all__ = [
    "MACHINE_TOOLS",
    "MachineImage",
    "MachinePower",
    "build_image",
    "image_cache",
    "image_digest",
    "qemu_argv",
    "write_drive",
]

SUITE = "bookworm"
PACKAGES = ("linux-image-cloud-amd64", "initramfs-tools", "zstd", "systemd-sysv", "udev", "dbus", "kmod",
            "iproute2", "netbase", "openssh-server", "ca-certificates")  # fmt: skip
DISK_SIZE = "8G"  # sparse: the disk takes what the tree and the overlay's writes take
DRIVE_LABEL = "tl-drive"
ROOT_LABEL = "tl-root"
MACHINE_TOOLS = ("qemu-system-x86_64", "qemu-img", "mmdebstrap", "mke2fs")

_READER = f"""#!/bin/sh
# The lab's config drive (the second disk, labelled {DRIVE_LABEL}): host name, root's keys and the ctlplane
# address, applied before the network and sshd start. Written by tripleo's lab (tripleo.lab.machine).
set -e
dev=/dev/vdb
[ -b $dev ] || exit 0
mkdir -p /run/tl-drive
mount -o ro $dev /run/tl-drive
d=/run/tl-drive
if [ -f $d/hostname ]; then
  name=$(cat $d/hostname); cp $d/hostname /etc/hostname; hostname "$name"
  # its own name resolves without DNS, as Debian's installer writes it (package scripts run hostname -f)
  sed -i '/^127[.]0[.]1[.]1[[:space:]]/d' /etc/hosts; echo "127.0.1.1 $name" >> /etc/hosts
fi
if [ -f $d/authorized_keys ]; then
  install -d -m 0700 /root/.ssh && install -m 0600 $d/authorized_keys /root/.ssh/authorized_keys
fi
[ -f $d/ctlplane.network ] && install -m 0644 $d/ctlplane.network /etc/systemd/network/10-ctlplane.network
umount /run/tl-drive
ls /etc/ssh/ssh_host_*_key >/dev/null 2>&1 || ssh-keygen -A
"""
_UNIT = """[Unit]
Description=The lab's config drive (host name, root's keys, ctlplane address)
DefaultDependencies=no
After=local-fs.target
Before=network-pre.target systemd-networkd.service ssh.service
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/tl-drive

[Install]
WantedBy=multi-user.target
"""


_UP = f"""[Unit]
Description=Tell the lab this machine is up (its serial console, as a namespace node's init does)
After=ssh.service systemd-networkd.service tl-drive.service
Wants=ssh.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "{INIT_UP}" > /dev/ttyS0'

[Install]
WantedBy=multi-user.target
"""


@dataclass(frozen=True)
class MachineImage:
    """A built image: its raw ext4 disk, kernel and initramfs."""

    directory: Path

    @property
    def disk(self) -> Path:
        return self.directory / "disk.raw"

    @property
    def kernel(self) -> Path:
        return self.directory / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.directory / "initrd.img"


def _argv(tree: Path, proxy: str) -> list[str]:
    options = [f'--aptopt=Acquire::http::Proxy "{proxy}"'] if proxy else []
    return ["mmdebstrap", "--variant=minbase", "--mode=root", "--format=directory", "--quiet",
            f"--include={','.join(PACKAGES)}", *(f"--dpkgopt=path-exclude={p}" for p in DOC_EXCLUDES),
            *options, SUITE, str(tree), mirror()]  # fmt: skip


def image_digest() -> str:
    """What an image is built from: suite, packages, apt sources, the embedded files."""
    parts = [SUITE, PACKAGES, DOC_EXCLUDES, mirror_text(), _READER, _UNIT, _UP, DISK_SIZE]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def _customize(tree: Path) -> None:
    """The drive reader and its unit, systemd-networkd, an fstab; no host keys, no machine-id, no build
    proxy."""
    reader = tree / "usr" / "local" / "sbin" / "tl-drive"
    reader.parent.mkdir(parents=True, exist_ok=True)
    reader.write_text(_READER)
    reader.chmod(0o755)
    (tree / "etc" / "systemd" / "system" / "tl-drive.service").write_text(_UNIT)
    (tree / "etc" / "systemd" / "system" / "tl-up.service").write_text(_UP)
    (tree / "etc" / "fstab").write_text(f"LABEL={ROOT_LABEL} / ext4 defaults 0 1\n")
    units = ["systemd-networkd", "tl-drive", "tl-up"]
    argv = ["chroot", str(tree), "systemctl", "enable", *units]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise OperationError(f"machine image: systemctl enable failed: {done.stderr.strip()}")
    # mmdebstrap keeps its --aptopt (the build's proxy): the machine's apt goes its own way, or through the
    # proxy the packages unit names
    (tree / "etc" / "apt" / "apt.conf.d" / "99mmdebstrap").unlink(missing_ok=True)
    for key in (tree / "etc" / "ssh").glob("ssh_host_*"):
        key.unlink()
    (tree / "etc" / "machine-id").write_text("")


def _run(argv: Sequence[str], what: str, timeout: float = 1800) -> None:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise OperationError(f"{what}: {argv[0]} is not installed (scripts/debian-packages)") from exc
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise OperationError(f"{what} failed (rc {done.returncode}): {tail}")


def build_image(cache: Path, proxy: str = "") -> tuple[MachineImage, bool]:
    """The machine image under ``cache`` (built when missing; ``proxy``: the apt proxy mmdebstrap fetches
    through, e.g. the undercloud's package cache). Returns the image and whether it was built now.

    :raises OperationError: mmdebstrap or mke2fs failed (their last lines).
    """
    image = MachineImage(cache / image_digest())
    if image.disk.is_file():
        return image, False
    scratch = cache / f".{image.directory.name}.part"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        tree = scratch / "tree"
        _run(_argv(tree, proxy), "machine image: mmdebstrap")
        _customize(tree)
        boot = tree / "boot"
        shutil.copy(next(boot.glob("vmlinuz-*")), scratch / "vmlinuz")
        shutil.copy(next(boot.glob("initrd.img-*")), scratch / "initrd.img")
        _run(["truncate", "-s", DISK_SIZE, str(scratch / "disk.raw")], "machine image: truncate")
        _run(["mke2fs", "-q", "-t", "ext4", "-L", ROOT_LABEL, "-d", str(tree), str(scratch / "disk.raw")],
             "machine image: mke2fs")  # fmt: skip
        shutil.rmtree(tree)
        shutil.rmtree(image.directory, ignore_errors=True)
        os.replace(scratch, image.directory)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return image, True


def network_file(drive: ConfigDrive, mac: str) -> str:
    """The systemd-networkd file of the ctlplane NIC (by its MAC): the address and the drive's routes."""
    lines = ["[Match]", f"MACAddress={mac}", "", "[Network]", f"Address={drive.ctlplane_address}"]
    for route in drive.routes:
        lines += ["", "[Route]", f"Destination={route.destination}", f"Gateway={route.gateway}"]
    return "\n".join(lines) + "\n"


def write_drive(path: Path, drive: ConfigDrive, mac: str) -> None:
    """The config drive as an ext4 image at ``path`` (made anew each time)."""
    drive.validate()
    files = path.with_name(f".{path.name}.d")
    shutil.rmtree(files, ignore_errors=True)
    files.mkdir(mode=0o700)
    try:
        (files / "hostname").write_text(drive.hostname.split(".")[0] + "\n")
        (files / "authorized_keys").write_text("".join(k + "\n" for k in drive.authorized_keys))
        if drive.ctlplane_address:
            (files / "ctlplane.network").write_text(network_file(drive, mac))
        path.unlink(missing_ok=True)
        _run(["truncate", "-s", "8M", str(path)], "config drive: truncate")
        _run(["mke2fs", "-q", "-t", "ext4", "-L", DRIVE_LABEL, "-d", str(files), str(path)], "config drive")
        path.chmod(0o600)
    finally:
        shutil.rmtree(files, ignore_errors=True)


_TUNSETIFF = 0x400454CA
_IFF_TAP, _IFF_NO_PI = 0x0002, 0x1000


def open_tap(name: str) -> int:
    """A file descriptor of the host's tap ``name`` (made by ``lab up``), for QEMU's ``-netdev tap,fd=``."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    try:
        fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH", name.encode(), _IFF_TAP | _IFF_NO_PI))
    except OSError as exc:
        os.close(fd)
        raise OperationError(f"tap {name}: {exc.strerror} (is the lab up?)") from exc
    return fd


def qemu_argv(node: NodeSpec, paths: NodePaths, image: MachineImage, fds: Sequence[int]) -> list[str]:
    """QEMU for ``node``: its overlay and drive, one virtio NIC per tap descriptor with the node's MACs, the
    serial console appended to the node's console log, QMP on a socket for a soft power off."""
    argv = ["qemu-system-x86_64", "-name", node.name, "-machine", "q35", "-accel", "tcg,tb-size=256",
            "-m", str(node.memory_mb), "-smp", str(node.cpus), "-nodefaults", "-display", "none",
            "-kernel", str(image.kernel), "-initrd", str(image.initrd),
            "-append", f"root=LABEL={ROOT_LABEL} rw console=ttyS0 net.ifnames=0",
            "-drive", f"file={overlay(paths)},if=virtio,format=qcow2",
            "-drive", f"file={paths.root / 'drive.img'},if=virtio,format=raw,readonly=on",
            "-chardev", f"file,id=console,path={paths.console_log},append=on", "-serial", "chardev:console",
            "-qmp", f"unix:{paths.root / 'qmp.sock'},server=on,wait=off"]  # fmt: skip
    for i, (fd, mac) in enumerate(zip(fds, node.macs, strict=True)):
        argv += ["-netdev", f"tap,id=n{i},fd={fd}", "-device", f"virtio-net-pci,netdev=n{i},mac={mac}"]
    return argv


def overlay(paths: NodePaths) -> Path:
    """The machine's disk: an overlay over the image, on the node's disk (``wipe_disk`` removes it)."""
    return paths.disk / "machine.qcow2"


def image_cache(lab_dir: Path) -> Path:
    """Where machine images are kept: ``$TRIPLEO_MACHINE_CACHE``, else beside the lab's directory (``lab
    down`` keeps them)."""
    return Path(os.environ.get("TRIPLEO_MACHINE_CACHE") or lab_dir.parent / "machine-cache")


def _quit(socket_path: Path, command: str) -> bool:
    """Send one QMP command; True when QEMU took it."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(str(socket_path))
            reader = sock.makefile("rb")
            reader.readline()  # the greeting
            for message in ({"execute": "qmp_capabilities"}, {"execute": command}):
                sock.sendall(json.dumps(message).encode() + b"\n")
                if b'"return"' not in reader.readline():
                    return False
            return True
    except OSError:
        return False


class MachinePower(NodePower):
    """Power for a machine node: QEMU in the node's network namespace (so status, a hard power off and ``lab
    down`` treat it as any node's processes), its NICs the host's taps passed in as descriptors."""

    def __init__(self, node: NodeSpec, paths: NodePaths, runner: Runner, image: MachineImage,
                 taps: Sequence[str]) -> None:  # fmt: skip
        super().__init__(node, paths, runner)
        self.image = image
        self.taps = tuple(taps)  # the host's taps of its NICs, in NIC order

    def power_on(self) -> None:
        """A new overlay unless the disk has one, the config drive the lab wrote (none: the node's name
        only), then QEMU."""
        if self.is_on():
            return
        LOG.info("%s: power on (QEMU)", self.node.name)
        paths = self.paths
        paths.disk.mkdir(parents=True, exist_ok=True)
        if not overlay(paths).exists():
            create = ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(self.image.disk)]
            _run([*create, str(overlay(paths))], f"{self.node.name}: its disk")
        try:
            drive = read_config_drive(paths.config_drive)
        except InputError:
            drive = None
        write_drive(paths.root / "drive.img", drive or ConfigDrive(self.node.name), self.node.macs[0])
        taps = [open_tap(name) for name in self.taps]
        try:
            with open(paths.console_log, "ab") as console:
                console.write(POWER_ON_LINE.encode() + b"\n")
                console.flush()
                argv = qemu_argv(self.node, paths, self.image, taps)
                self._proc = subprocess.Popen(
                    group_argv(node_group(self.node.netns), ["ip", "netns", "exec", self.node.netns, *argv]),
                    stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT, env=NODE_ENV,
                    start_new_session=True, pass_fds=taps,
                )  # fmt: skip
        finally:
            for fd in taps:
                os.close(fd)
        self._wait_in_netns()

    def power_off(self, *, graceful: bool = False) -> None:
        """Hard: every process of the node ends (QEMU with it). Soft: QMP's ``system_powerdown``, the ACPI
        power button: the machine's systemd shuts it down and QEMU exits."""
        if graceful:
            LOG.info("%s: power off (soft, ACPI)", self.node.name)
            _quit(self.paths.root / "qmp.sock", "system_powerdown")
            return
        super().power_off()

    def links_off(self) -> None:
        """Nothing: a tap with no QEMU behind it has no carrier (the machine's addresses went with it)."""
