"""The lab's guest image boots under plain QEMU (TCG) on the host and its /init reports on the serial line.

No network device at all (``-net none``): nothing the guest does can leave the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tripleo.lab.guestimage import MARKER, build_guest

pytestmark = pytest.mark.slow

QEMU = "qemu-system-x86_64"


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "building and booting the guest image runs as root here (apt-get download, qemu)"
    missing = [tool for tool in (QEMU, "apt-get", "dpkg-deb") if shutil.which(tool) is None]
    if missing:
        return f"needs {', '.join(missing)} (Debian: qemu-system-x86, apt, dpkg)"
    return None


def _wait_for(log: Path, text: str, proc: subprocess.Popen[bytes], timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if text in log.read_text(errors="replace"):
            return time.monotonic() - start
        if proc.poll() is not None:
            pytest.fail(f"qemu exited with {proc.returncode} before {text!r}:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    pytest.fail(f"no {text!r} on the serial console within {timeout} s:\n{log.read_text()[-3000:]}")


def test_the_guest_boots_to_its_init_under_tcg(tmp_path_factory: pytest.TempPathFactory) -> None:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    image = build_guest(tmp_path_factory.mktemp("guest-cache"))
    assert image.disk.stat().st_size == 1 << 20
    log = tmp_path_factory.mktemp("guest-boot") / "serial.log"
    argv = [QEMU, "-accel", "tcg", "-m", "128", "-nographic", "-net", "none", "-no-reboot"]
    argv += ["-kernel", str(image.kernel), "-initrd", str(image.ramdisk)]
    argv += ["-append", "console=ttyS0 tripleo.ping=192.0.2.1"]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        took = _wait_for(log, f"{MARKER} init ran", proc, timeout=60)
        _wait_for(log, f"{MARKER} no dhcp lease", proc, timeout=30)  # no NIC: no lease, and init goes on
        _wait_for(log, f"{MARKER} ping 192.0.2.1 failed", proc, timeout=30)
        assert took < 60
    finally:
        proc.kill()
        proc.wait(timeout=10)
