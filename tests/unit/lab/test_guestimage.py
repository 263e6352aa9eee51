"""The guest image's pieces that need no download: init scripts, the cpio writer, module order, digests."""

from __future__ import annotations

import gzip
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tripleo.lab.guestimage import (
    MARKER,
    CpioEntry,
    dhcp_script,
    image_digest,
    init_script,
    module_load_order,
    write_cpio,
)


def test_the_init_script_prints_every_marker_and_never_exits() -> None:
    script = init_script()
    assert script.startswith("#!/bin/busybox sh\n")
    for marker in ("init ran", "eth0 $addr", "no dhcp lease", "ping $t ok", "ping $t failed"):
        assert f'say "{marker}"' in script
    assert f'echo "{MARKER} $*"' in script
    assert "udhcpc -i eth0 -n -q" in script
    assert "tripleo\\.ping=" in script
    assert "exit" not in script.replace("; exit}", "")  # awk's exit only: PID 1 must not end
    assert script.rstrip().endswith("while true; do sleep 3600; done")


def test_the_dhcp_script_sets_address_prefix_and_default_route() -> None:
    script = dhcp_script()
    assert 'ip addr add "$ip/${prefix:-24}" dev "$interface"' in script
    assert 'ip route replace default via "$r"' in script
    assert "${mask:-" in script


def test_the_digest_changes_with_any_input() -> None:
    base = image_digest("linux_1.deb", "busybox_1.deb", "init")
    assert base == image_digest("linux_1.deb", "busybox_1.deb", "init")
    assert base != image_digest("linux_2.deb", "busybox_1.deb", "init")
    assert base != image_digest("linux_1.deb", "busybox_1.deb", "init2")
    assert image_digest("a", "bc") != image_digest("ab", "c")


@pytest.mark.skipif(shutil.which("cpio") is None, reason="needs cpio to read the archive back")
def test_the_cpio_writer_makes_an_archive_cpio_lists(tmp_path: Path) -> None:
    entries = [
        CpioEntry("bin", stat.S_IFDIR | 0o755),
        CpioEntry("bin/busybox", stat.S_IFREG | 0o755, b"\x7fELF" + b"x" * 13),
        CpioEntry("bin/sh", stat.S_IFLNK | 0o777, b"busybox"),
        CpioEntry("init", stat.S_IFREG | 0o755, init_script().encode()),
        CpioEntry("dev", stat.S_IFDIR | 0o755),
        CpioEntry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1)),
    ]
    archive = tmp_path / "initrd.img"
    write_cpio(entries, archive)
    raw = gzip.decompress(archive.read_bytes())
    assert raw.startswith(b"070701") and len(raw) % 4 == 0
    listing = subprocess.run(["cpio", "-t"], input=raw, capture_output=True, check=True).stdout.decode()
    assert listing.split() == [e.name for e in entries]
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(["cpio", "-id", "--quiet", "bin/*", "init"], input=raw, cwd=out, check=True)
    assert (out / "init").read_text() == init_script()
    assert (out / "bin" / "sh").readlink() == Path("busybox")
    assert (out / "init").stat().st_mode & 0o777 == 0o755


def _module(path: Path, depends: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x7fELF\0license=GPL\0depends=" + depends.encode() + b"\0vermagic=6.1\0")


def test_modules_load_after_their_dependencies(tmp_path: Path) -> None:
    _module(tmp_path / "kernel/drivers/net/virtio_net.ko", "virtio_ring,virtio,net_failover")
    _module(tmp_path / "kernel/drivers/net/net_failover.ko", "failover")
    _module(tmp_path / "kernel/net/core/failover.ko", "")
    _module(tmp_path / "kernel/drivers/virtio/virtio.ko", "virtio_ring")
    _module(tmp_path / "kernel/drivers/virtio/virtio_ring.ko", "")
    _module(tmp_path / "kernel/drivers/virtio/virtio_pci.ko", "virtio_ring,virtio")
    _module(tmp_path / "kernel/drivers/block/virtio_blk.ko", "virtio")
    order = [name for name, _ in module_load_order(tmp_path, ["virtio_pci", "virtio_net"])]
    assert order == ["virtio_ring", "virtio", "virtio_pci", "failover", "net_failover", "virtio_net"]


def test_xz_modules_are_read_decompressed(tmp_path: Path) -> None:
    import lzma

    _module(tmp_path / "a.ko", "b")
    (tmp_path / "a.ko.xz").write_bytes(lzma.compress((tmp_path / "a.ko").read_bytes()))
    (tmp_path / "a.ko").unlink()
    _module(tmp_path / "b.ko", "")
    assert [(n, p.name) for n, p in module_load_order(tmp_path, ["a"])] == [("b", "b.ko"), ("a", "a.ko.xz")]


def test_a_missing_module_is_an_error(tmp_path: Path) -> None:
    _module(tmp_path / "a.ko", "gone")
    with pytest.raises(RuntimeError, match="gone not found"):
        module_load_order(tmp_path, ["a"])
