"""The undercloud's package cache (Debian's apt-cacher-ng, tripleo.config.packagecache) on 127.0.0.1: a
package fetched through it twice comes from the mirror once (this host's apt mirror, as its sources say),
whole both times; start is idempotent, refuses a second address, and stop keeps the cache."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from labkit import free_cache_port

from tripleo.config.packagecache import PackageCache, Traffic

TRIPLEO = str(Path(sys.executable).with_name("tripleo"))


def tripleo(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRIPLEO_HOME": str(home)}
    return subprocess.run([TRIPLEO, *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def package() -> tuple[str, int, str]:
    """The URI, size and SHA256 of an installed package's .deb on this host's mirror (apt's own lists)."""
    if shutil.which("apt-cacher-ng") is None:
        pytest.skip("apt-cacher-ng is not installed (scripts/debian-packages installs it)")
    done = subprocess.run(["apt-get", "download", "--print-uris", "ipmitool"], capture_output=True, text=True)
    words = done.stdout.split()
    if done.returncode != 0 or len(words) < 4 or not words[0].startswith("'http://"):
        pytest.skip(f"apt knows no http:// URI of ipmitool here: {done.stdout or done.stderr}")
    return words[0].strip("'"), int(words[2]), words[3].removeprefix("SHA256:")


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    PackageCache.of(tmp_path).stop()


def _fetch(bind: str, uri: str) -> bytes:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": f"http://{bind}"}))
    with opener.open(uri, timeout=120) as answer:
        return bytes(answer.read())


def _logged(cache: PackageCache, done: Callable[[Traffic], bool]) -> Traffic:
    """The cache's traffic once ``done`` holds (it logs a transfer just after the client has it all)."""
    deadline = time.monotonic() + 10
    while not done(traffic := cache.traffic()):
        assert time.monotonic() < deadline, traffic
        time.sleep(0.1)
    return traffic


def test_a_package_comes_from_the_mirror_once(home: Path, package: tuple[str, int, str]) -> None:
    uri, size, sha = package
    bind = f"127.0.0.1:{free_cache_port()}"
    started = tripleo(home, "undercloud", "package-cache", "start", "--bind", bind)
    assert started.returncode == 0 and started.stdout.strip() == f"package cache on {bind}", started.stderr
    again = tripleo(home, "undercloud", "package-cache", "start", "--bind", bind)
    assert again.returncode == 0 and again.stdout == started.stdout
    other = tripleo(home, "undercloud", "package-cache", "start", "--bind", f"127.0.0.1:{free_cache_port()}")
    assert other.returncode == 2 and f"the package cache runs on {bind}: stop it first" in other.stderr
    cache = PackageCache.of(home)

    first = _fetch(bind, uri)
    assert len(first) == size and hashlib.sha256(first).hexdigest() == sha
    fetched = _logged(cache, lambda t: t.fetched >= size and t.served >= size).fetched
    second = _fetch(bind, uri)
    assert second == first
    traffic = _logged(cache, lambda t: t.served >= 2 * size)
    assert traffic.fetched == fetched and traffic.files == 1
    status = tripleo(home, "undercloud", "package-cache", "status").stdout
    assert f"package cache on {bind}" in status and f"fetched from the mirror: {fetched} bytes" in status

    stopped = tripleo(home, "undercloud", "package-cache", "stop")
    assert stopped.stdout.strip() == "package cache stopped"
    assert not PackageCache.answers(bind)
    assert (
        tripleo(home, "undercloud", "package-cache", "stop").stdout.strip() == "no package cache was running"
    )
    assert any(p.name.startswith("ipmitool_") for p in (home / "package-cache" / "cache").rglob("*.deb"))


def test_a_bad_bind_is_one_line_and_exit_2(home: Path) -> None:
    done = tripleo(home, "undercloud", "package-cache", "start", "--bind", "localhost")
    assert done.returncode == 2 and done.stderr.startswith("ERROR: --bind: expected ADDRESS:PORT")
    done = tripleo(home, "undercloud", "package-cache", "start", "--bind", "127.0.0.1:40000")
    assert (
        done.returncode == 2
        and "--bind: apt-cacher-ng binds ports up to 32767 only, got 40000" in done.stderr
    )
    assert not (home / "package-cache").exists()
