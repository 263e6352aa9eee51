"""Fixtures for the bare-metal functional tests: sushy-tools' Redfish emulator and the virtual lab.

Both are real processes on 127.0.0.1, started here and always stopped in finalizers. The lab fixture
reuses the lab tests' kit (tests/functional/lab/labkit.py) and is module-scoped: the lab's names are fixed
per host, so labs never overlap.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from labkit import RunningLab, running_lab
from metalkit import EMULATOR, PASSWORD, SYSTEMS, USER, Emulator


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """sushy-tools' emulator with its fake driver: 3 systems, basic auth, power changes after 1-11 s."""
    if not EMULATOR.exists():
        pytest.skip(f"no sushy-emulator next to {sys.executable} (pip install sushy-tools)")
    work = tmp_path_factory.mktemp("sushy")
    htpasswd = work / "htpasswd"
    htpasswd.write_text(f"{USER}:{bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()}\n")
    htpasswd.chmod(0o600)
    config = work / "emulator.conf"
    config.write_text(
        "SUSHY_EMULATOR_FAKE_DRIVER = True\n"
        f"SUSHY_EMULATOR_FAKE_SYSTEMS = {SYSTEMS!r}\n"
        f"SUSHY_EMULATOR_AUTH_FILE = {str(htpasswd)!r}\n"
    )
    port = _free_port()
    log = open(work / "emulator.log", "wb")  # noqa: SIM115 - closed in the finalizer
    proc = subprocess.Popen(
        [str(EMULATOR), "--config", str(config), "-i", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (work / "emulator.log").read_text()
            try:
                if requests.get(f"{url}/redfish/v1/Systems", auth=(USER, PASSWORD), timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "sushy-emulator did not answer within 30 s"
            time.sleep(0.1)
        yield Emulator(url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    """``tripleo lab up --nodes 3`` in a TRIPLEO_HOME of its own; torn down whatever happens."""
    yield from running_lab(tmp_path_factory.mktemp("bm-lab-home"), "--nodes", "3")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A TRIPLEO_HOME of the test's own."""
    path = tmp_path / "home"
    path.mkdir(mode=0o700)
    return path
