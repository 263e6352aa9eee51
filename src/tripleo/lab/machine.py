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
- **Machine** (:class:`Machine`): a qcow2 overlay over the cached disk, one tap per lab network (named
  ``<lab prefix>q<index>-<nic>``, on that network's bridge), and ``qemu-system-x86_64`` (TCG; KVM hangs on
  this host) daemonized with a pid file and its serial console in ``console.log``. :meth:`Machine.stop`
  ends QEMU and removes the taps.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tripleo.errors import OperationError
from tripleo.lab.drive import ConfigDrive

__all__ = ["Machine", "MachineImage", "build_image", "write_drive"]

SUITE = "bookworm"
PACKAGES = ("linux-image-cloud-amd64", "initramfs-tools", "zstd", "systemd-sysv", "udev", "dbus", "kmod",
            "iproute2", "netbase", "openssh-server", "ca-certificates")  # fmt: skip
_EXCLUDES = ("/usr/share/man/*", "/usr/share/doc/*", "/usr/share/locale/*", "/usr/share/info/*")
_HOST_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
_DEFAULT_MIRROR = "http://deb.debian.org/debian"
DISK_SIZE = "8G"  # sparse: the disk takes what the tree and the overlay's writes take
DRIVE_LABEL = "tl-drive"
ROOT_LABEL = "tl-root"

_READER = f"""#!/bin/sh
# The lab's config drive (the second disk, labelled {DRIVE_LABEL}): host name, root's keys and the ctlplane
# address, applied before the network and sshd start. Written by tripleo's lab (tripleo.lab.machine).
set -e
dev=/dev/vdb
[ -b $dev ] || exit 0
mkdir -p /run/tl-drive
mount -o ro $dev /run/tl-drive
d=/run/tl-drive
if [ -f $d/hostname ]; then cp $d/hostname /etc/hostname; hostname "$(cat $d/hostname)"; fi
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


def _mirror() -> str:
    return str(_HOST_SOURCES) if _HOST_SOURCES.is_file() else _DEFAULT_MIRROR


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
            f"--include={','.join(PACKAGES)}", *(f"--dpkgopt=path-exclude={p}" for p in _EXCLUDES),
            *options, SUITE, str(tree), _mirror()]  # fmt: skip


def image_digest() -> str:
    """What an image is built from: suite, packages, apt sources, the embedded files."""
    mirror = _mirror()
    sources = Path(mirror).read_text() if mirror.startswith("/") else mirror
    parts = [SUITE, PACKAGES, _EXCLUDES, sources, _READER, _UNIT, DISK_SIZE]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def _customize(tree: Path) -> None:
    """The drive reader and its unit, systemd-networkd, an fstab; no host keys, no machine-id, no build
    proxy."""
    reader = tree / "usr" / "local" / "sbin" / "tl-drive"
    reader.parent.mkdir(parents=True, exist_ok=True)
    reader.write_text(_READER)
    reader.chmod(0o755)
    (tree / "etc" / "systemd" / "system" / "tl-drive.service").write_text(_UNIT)
    (tree / "etc" / "fstab").write_text(f"LABEL={ROOT_LABEL} / ext4 defaults 0 1\n")
    done = subprocess.run(["chroot", str(tree), "systemctl", "enable", "systemd-networkd", "tl-drive"],
                          capture_output=True, text=True, check=False)  # fmt: skip
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


@dataclass(frozen=True)
class Machine:
    """One QEMU machine: its directory (overlay, drive, console, pid file), its taps with their bridges and
    MACs (in NIC order), and its memory."""

    name: str
    directory: Path
    nics: tuple[tuple[str, str, str], ...]  # (tap, bridge, MAC)
    memory_mb: int = 2048
    cpus: int = 2

    @property
    def console(self) -> Path:
        return self.directory / "console.log"

    @property
    def _pidfile(self) -> Path:
        return self.directory / "qemu.pid"

    def qemu_argv(self, image: MachineImage) -> list[str]:
        argv = ["qemu-system-x86_64", "-name", self.name, "-machine", "q35", "-accel", "tcg,tb-size=256",
                "-m", str(self.memory_mb), "-smp", str(self.cpus), "-nodefaults", "-display", "none",
                "-kernel", str(image.kernel), "-initrd", str(image.initrd),
                "-append", f"root=LABEL={ROOT_LABEL} rw console=ttyS0 net.ifnames=0",
                "-drive", f"file={self.directory / 'disk.qcow2'},if=virtio,format=qcow2",
                "-drive", f"file={self.directory / 'drive.img'},if=virtio,format=raw,readonly=on",
                "-serial", f"file:{self.console}", "-pidfile", str(self._pidfile), "-daemonize"]  # fmt: skip
        for i, (tap, _, mac) in enumerate(self.nics):
            argv += ["-netdev", f"tap,id=n{i},ifname={tap},script=no,downscript=no",
                     "-device", f"virtio-net-pci,netdev=n{i},mac={mac}"]  # fmt: skip
        return argv

    def start(self, image: MachineImage, drive: ConfigDrive) -> None:
        """Its disk (a new overlay unless it has one), its drive, its taps, then QEMU.

        :raises OperationError: a tool failed, or QEMU did not start.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        overlay = self.directory / "disk.qcow2"
        if not overlay.exists():
            create = ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(image.disk)]
            _run([*create, str(overlay)], "machine disk")
        write_drive(self.directory / "drive.img", drive, self.nics[0][2])
        for tap, bridge, _ in self.nics:
            if not Path("/sys/class/net", tap).exists():
                _run(["ip", "tuntap", "add", "dev", tap, "mode", "tap"], f"tap {tap}")
            _run(["ip", "link", "set", tap, "master", bridge, "up"], f"tap {tap}")
        self.console.unlink(missing_ok=True)
        _run(self.qemu_argv(image), f"machine {self.name}: qemu", timeout=60)

    def pid(self) -> int | None:
        try:
            pid = int(self._pidfile.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def stop(self, timeout: float = 20) -> None:
        """End QEMU (SIGTERM, then SIGKILL) and remove its taps; the disk stays."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.pid() is not None and time.monotonic() < deadline:
                time.sleep(0.2)
            if self.pid() is not None:
                os.kill(pid, signal.SIGKILL)
        self._pidfile.unlink(missing_ok=True)
        for tap, _, _ in self.nics:
            subprocess.run(["ip", "link", "del", tap], capture_output=True, check=False)
