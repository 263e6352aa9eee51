"""A tiny guest image for the overcloud's compute nodes, built locally from Debian packages.

The lab's computes run nova-compute with libvirt and ``virt_type = qemu`` (plain TCG: KVM guests hang on
this machine kind). Their guests need an image that boots in seconds under TCG, is built from the host's apt
sources alone, and tells a test through its serial console what it saw. This module makes one, AMI-style, as
Glance and Nova take it (a kernel, a ramdisk and a disk, linked by ``kernel_id``/``ramdisk_id``):

* ``kernel``: the vmlinuz of Debian 12's cloud kernel (``apt-get download`` + ``dpkg-deb -x``: the host has
  no /boot);
* ``ramdisk``: a gzip'd newc initramfs with busybox-static, the virtio NIC's modules and an ``/init`` that
  gets an address by DHCP on eth0 and pings the addresses listed as ``tripleo.ping=IP1,IP2`` on the kernel
  command line every 5 s, printing ``tripleo-guest: ...`` marker lines on ttyS0 (nova's console.log);
* ``disk``: 1 MiB of zeros, since Nova boots a kernel/ramdisk image with a root disk all the same.

Images are cached by content under ``cache_dir/<digest>/``; the digest covers the two .deb files' names and
the initramfs scripts. A build happens in a temporary directory renamed into place, so a killed build never
leaves a half-built image where a later call would take it.
"""

from __future__ import annotations

import gzip
import hashlib
import lzma
import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BUSYBOX_PACKAGE",
    "DHCP_SCRIPT",
    "KERNEL_METAPACKAGE",
    "MARKER",
    "CpioEntry",
    "GuestImage",
    "build_guest",
    "dhcp_script",
    "image_digest",
    "init_script",
    "module_load_order",
    "write_cpio",
]

KERNEL_METAPACKAGE = "linux-image-cloud-amd64"
BUSYBOX_PACKAGE = "busybox-static"
MARKER = "tripleo-guest:"
DHCP_SCRIPT = "/etc/udhcpc.script"
MODULE_LIST = "/etc/tripleo-modules"
# What the guest's virtio NIC needs when the kernel has it as modules (dependencies are added from modinfo).
NIC_MODULES = ("virtio_pci", "virtio_net")
DISK_SIZE = 1 << 20
# Parents before children: the kernel unpacking an initramfs makes no missing parent directory.
_DIRS = "bin sbin usr usr/bin usr/sbin usr/share usr/share/udhcpc dev proc sys tmp etc root lib lib/modules"


@dataclass(frozen=True)
class GuestImage:
    """A built guest: the files to upload to Glance (kernel, ramdisk, disk) and the digest naming them."""

    kernel: Path
    ramdisk: Path
    disk: Path
    digest: str


@dataclass(frozen=True)
class CpioEntry:
    """One member of a newc archive: a directory, regular file, symlink (``data`` is its target) or device."""

    name: str
    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)


def init_script() -> str:
    """The guest's /init (PID 1): console on ttyS0, modules, DHCP on eth0, then ping listed IPs forever."""
    return f"""#!/bin/busybox sh
# tripleo guest init: PID 1, so it must never end.
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
[ -c /dev/ttyS0 ] && exec </dev/null >/dev/ttyS0 2>&1
say() {{ echo "{MARKER} $*"; }}
say "init ran"
for m in $(cat {MODULE_LIST} 2>/dev/null); do
    insmod "/lib/modules/$m.ko" || say "insmod $m failed"
done
ip link set lo up
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 20 ]; do usleep 100000; n=$((n + 1)); done
if [ -e /sys/class/net/eth0 ]; then
    ip link set eth0 up
    # 40 discovers 2 s apart: the network's DHCP server and tunnels may still be coming up at boot
    udhcpc -i eth0 -n -q -t 40 -T 2 -s {DHCP_SCRIPT} >/dev/null 2>&1
fi
addr=$(ip -4 -o addr show dev eth0 2>/dev/null | awk '{{print $4; exit}}')
if [ -n "$addr" ]; then say "eth0 $addr"; else say "no dhcp lease"; fi
own=${{addr%/*}}
targets=$(sed -n 's/.*tripleo\\.ping=\\([^ ]*\\).*/\\1/p' /proc/cmdline | tr , ' ')
while true; do
    for t in $targets; do
        [ "$t" = "$own" ] && continue
        if ping -c 1 -W 2 "$t" >/dev/null 2>&1; then say "ping $t ok"; else say "ping $t failed"; fi
    done
    sleep 5
done
while true; do sleep 3600; done
"""


def dhcp_script() -> str:
    """udhcpc's hook: set the lease's address, prefix and default route on the interface."""
    return """#!/bin/sh
# udhcpc passes the lease as $interface, $ip, $mask (prefix length), $subnet (netmask) and $router.
case "$1" in
    deconfig)
        ip -4 addr flush dev "$interface"
        ip link set "$interface" up
        ;;
    bound|renew)
        prefix=${mask:-$(ipcalc -p "$ip" "$subnet" 2>/dev/null | sed 's/.*=//')}
        ip -4 addr flush dev "$interface"
        ip addr add "$ip/${prefix:-24}" dev "$interface"
        for r in $router; do
            ip route replace default via "$r" dev "$interface"
            break
        done
        ;;
esac
exit 0
"""


def image_digest(kernel_deb: str, busybox_deb: str, *scripts: str) -> str:
    """What names a build: the .deb files it came from and the scripts put in its initramfs."""
    sha = hashlib.sha256()
    for part in (kernel_deb, busybox_deb, *scripts):
        sha.update(part.encode())
        sha.update(b"\0")
    return sha.hexdigest()[:16]


def write_cpio(entries: Iterable[CpioEntry], path: Path) -> None:
    """Write ``entries`` as a gzip'd newc cpio archive (what the kernel unpacks as an initramfs)."""

    def pad(length: int) -> bytes:
        return b"\0" * (-length % 4)

    with gzip.GzipFile(path, "wb", mtime=0) as out:
        members = [*entries, CpioEntry("TRAILER!!!", 0)]
        for ino, entry in enumerate(members, start=1):
            name = entry.name.encode() + b"\0"
            nlink = 2 if stat.S_ISDIR(entry.mode) else 1
            fields = (ino, entry.mode, 0, 0, nlink, 0, len(entry.data), 0, 0, *entry.rdev, len(name), 0)
            header = b"070701" + b"".join(b"%08X" % value for value in fields)
            out.write(header + name + pad(len(header) + len(name)))
            out.write(entry.data + pad(len(entry.data)))


def _run(argv: Sequence[str], cwd: Path | None = None) -> str:
    proc = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def _deb_file_names(packages: Sequence[str]) -> list[str]:
    """The .deb files ``apt-get download PACKAGES`` would write, without downloading them (one apt call)."""
    found = {}
    for line in _run(["apt-get", "download", "--print-uris", *packages]).splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[1].endswith(".deb"):
            found[fields[1].split("_")[0]] = fields[1]
    if any(package not in found for package in packages):
        raise RuntimeError(f"apt-get download --print-uris {packages}: got {sorted(found.values())}")
    return [found[package] for package in packages]


def _download(packages: Sequence[str], debs: Path) -> list[Path]:
    """``apt-get download PACKAGES`` into ``debs``, once: a .deb already there is taken as is."""
    targets = [debs / name for name in _deb_file_names(packages)]
    missing = [package for package, target in zip(packages, targets, strict=True) if not target.exists()]
    if missing:
        debs.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=debs, prefix=".download-") as tmp:
            _run(["apt-get", "-q", "download", *missing], cwd=Path(tmp))
            for target in targets:
                if (Path(tmp) / target.name).exists():
                    os.replace(Path(tmp) / target.name, target)
    return targets


def _kernel_package(metapackage_deb: Path) -> str:
    """The real kernel package the metapackage depends on (linux-image-6.1.0-NN-cloud-amd64)."""
    depends = _run(["dpkg-deb", "-f", str(metapackage_deb), "Depends"])
    for alternative in re.split(r"[,|]", depends):
        name = alternative.split("(")[0].strip()
        if name.startswith("linux-image-") and name != KERNEL_METAPACKAGE:
            return name
    raise RuntimeError(f"{metapackage_deb.name}: no linux-image dependency in {depends.strip()!r}")


def _module_depends(module: Path) -> list[str]:
    """The ``depends=`` entry of a kernel module's .modinfo section."""
    match = re.search(rb"(?:^|\0)depends=([^\0]*)\0", _module_bytes(module))
    if not match or not match.group(1):
        return []
    return [name.decode() for name in match.group(1).split(b",")]


def _module_bytes(module: Path) -> bytes:
    data = module.read_bytes()
    return lzma.decompress(data) if module.name.endswith(".xz") else data


def module_load_order(modules_dir: Path, wanted: Sequence[str]) -> list[tuple[str, Path]]:
    """``wanted`` modules and their dependencies under ``modules_dir``, each after what it needs."""
    found: dict[str, Path] = {}
    for path in sorted(modules_dir.rglob("*.ko*")):
        found.setdefault(path.name.split(".ko")[0].replace("-", "_"), path)
    order: list[tuple[str, Path]] = []

    def visit(name: str, seen: tuple[str, ...]) -> None:
        key = name.replace("-", "_")
        if key in seen or any(key == done for done, _ in order):
            return
        if key not in found:
            raise RuntimeError(f"kernel module {name} not found under {modules_dir}")
        for dep in _module_depends(found[key]):
            visit(dep, (*seen, key))
        order.append((key, found[key]))

    for name in wanted:
        visit(name, ())
    return order


def _kernel_tree(kernel_deb: Path, into: Path) -> tuple[Path, Path, str]:
    """Unpack the kernel package; return its vmlinuz, its modules directory and ``CONFIG_VIRTIO_NET``."""
    _run(["dpkg-deb", "-x", str(kernel_deb), str(into)])
    vmlinuz = sorted((into / "boot").glob("vmlinuz-*"))
    configs = sorted((into / "boot").glob("config-*"))
    if not vmlinuz or not configs:
        raise RuntimeError(f"{kernel_deb.name}: no /boot/vmlinuz-* or /boot/config-* in the package")
    version = vmlinuz[0].name.removeprefix("vmlinuz-")
    match = re.search(r"^CONFIG_VIRTIO_NET=(\w)", configs[0].read_text(), re.MULTILINE)
    virtio_net = match.group(1) if match else "n"
    return vmlinuz[0], into / "lib" / "modules" / version, virtio_net


def _initramfs_entries(busybox: bytes, modules: Sequence[tuple[str, Path]]) -> list[CpioEntry]:
    directory, executable, plain = stat.S_IFDIR | 0o755, stat.S_IFREG | 0o755, stat.S_IFREG | 0o644
    entries = [CpioEntry(name, directory) for name in _DIRS.split()]
    entries.append(CpioEntry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1)))
    entries.append(CpioEntry("bin/busybox", executable, busybox))
    entries.append(CpioEntry("bin/sh", stat.S_IFLNK | 0o777, b"busybox"))
    entries.append(CpioEntry("init", executable, init_script().encode()))
    entries.append(CpioEntry(DHCP_SCRIPT.lstrip("/"), executable, dhcp_script().encode()))
    entries.append(CpioEntry("usr/share/udhcpc/default.script", stat.S_IFLNK | 0o777, DHCP_SCRIPT.encode()))
    for name, path in modules:
        entries.append(CpioEntry(f"lib/modules/{name}.ko", plain, _module_bytes(path)))
    listing = "".join(f"{name}\n" for name, _ in modules)
    entries.append(CpioEntry(MODULE_LIST.lstrip("/"), plain, listing.encode()))
    return entries


def _build(kernel_deb: Path, busybox_deb: Path, out: Path) -> None:
    """Make vmlinuz, initrd.img and disk.raw in ``out`` (an empty directory)."""
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".unpack-") as tmp:
        unpack = Path(tmp)
        vmlinuz, modules_dir, virtio_net = _kernel_tree(kernel_deb, unpack / "kernel")
        modules = module_load_order(modules_dir, NIC_MODULES) if virtio_net == "m" else []
        _run(["dpkg-deb", "-x", str(busybox_deb), str(unpack / "busybox")])
        busybox = (unpack / "busybox" / "bin" / "busybox").read_bytes()
        shutil.copyfile(vmlinuz, out / "vmlinuz")
        write_cpio(_initramfs_entries(busybox, modules), out / "initrd.img")
    with (out / "disk.raw").open("wb") as disk:
        disk.truncate(DISK_SIZE)


def _image(directory: Path, digest: str) -> GuestImage:
    return GuestImage(directory / "vmlinuz", directory / "initrd.img", directory / "disk.raw", digest)


def build_guest(cache_dir: Path) -> GuestImage:
    """The guest image for the current Debian cloud kernel and busybox-static, built once per content."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    debs = cache_dir / "debs"
    [metapackage] = _download([KERNEL_METAPACKAGE], debs)
    kernel_deb, busybox_deb = _download([_kernel_package(metapackage), BUSYBOX_PACKAGE], debs)
    digest = image_digest(kernel_deb.name, busybox_deb.name, init_script(), dhcp_script())
    final = cache_dir / digest
    if final.is_dir():  # only ever made by the rename below, so complete
        return _image(final, digest)
    building = Path(tempfile.mkdtemp(dir=cache_dir, prefix=f".build-{digest}-"))
    try:
        _build(kernel_deb, busybox_deb, building)
        building.chmod(0o755)
        try:
            building.rename(final)
        except OSError:
            if not final.is_dir():  # not a concurrent build that finished first
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return _image(final, digest)
