"""Issue 11: images built on this host from Debian packages (the base by mmdebstrap, memcached and haproxy
as layers), pushed to the undercloud registry (Debian's docker-registry, here on 127.0.0.1), listed, cached
by content, and a build killed half-way. The lab deploy of these images is test_containers_deploy.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from labkit import apt_installs, cached_packages, free_cache_port

from tripleo.config.images import Podman

TRIPLEO = str(Path(sys.executable).with_name("tripleo"))
pytestmark = [pytest.mark.slow]


def tripleo(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRIPLEO_HOME": str(home)}
    proc = subprocess.run([TRIPLEO, *args], env=env, capture_output=True, text=True, timeout=1800)
    if check:
        assert proc.returncode == 0, f"tripleo {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc


def rows(home: Path) -> dict[str, dict[str, object]]:
    out = json.loads(tripleo(home, "container", "image", "list", "-f", "json").stdout)
    return {str(r["name"]): r for r in out}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    missing = [t for t in ("podman", "mmdebstrap", "docker-registry") if shutil.which(t) is None]
    if os.geteuid() != 0 or missing:
        pytest.skip(f"image builds need root and {', '.join(missing) or 'podman'} (scripts/debian-packages)")
    home = tmp_path_factory.mktemp("images-home")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    tripleo(home, "container", "registry", "start", "--bind", f"127.0.0.1:{port}")
    try:
        yield home
    finally:
        tripleo(home, "container", "registry", "stop", check=False)


def test_built_pushed_listed_and_cached(home: Path) -> None:
    built = tripleo(home, "container", "image", "build", "--service", "memcached").stdout
    assert ": 2 pushed" in built  # the base and memcached, new in this registry (the store may be shared)
    found = rows(home)
    assert found["memcached"]["built"] and found["memcached"]["in_registry"] and found["base"]["in_registry"]
    assert not found["keystone"]["built"] and not found["keystone"]["in_registry"]
    assert str(found["memcached"]["image"]).startswith("tripleo/memcached:")
    started = time.monotonic()
    again = tripleo(home, "container", "image", "build", "--service", "memcached").stdout
    assert f"{found['memcached']['image']}: up to date" in again and ": 0 pushed" in again
    assert time.monotonic() - started < 30  # a rebuild of the same set does nothing (the benchmark times it)


def test_bad_arguments_are_one_line_and_exit_2(home: Path) -> None:
    proc = tripleo(home, "container", "image", "build", "--service", "nosuch", check=False)
    assert proc.returncode == 2
    assert (
        proc.stderr.startswith("ERROR: ")
        and "container-images.yaml: images: no image 'nosuch'" in proc.stderr
    )
    proc = tripleo(home, "container", "registry", "start", "--bind", "localhost", check=False)
    assert proc.returncode == 2 and "--bind: " in proc.stderr


def test_a_build_killed_half_way_tags_nothing_and_the_same_command_converges(home: Path) -> None:
    """SIGKILL while a service layer builds (the base is built): no tag for the half-built image, and the
    same command again builds it, leaving no working container of the killed build behind."""
    env = {**os.environ, "TRIPLEO_HOME": str(home)}
    argv = [TRIPLEO, "container", "image", "build", "--service", "haproxy"]
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            start_new_session=True)  # fmt: skip
    assert proc.stderr is not None
    digest = ""
    for line in proc.stderr:
        if line.startswith("building tripleo/haproxy:"):
            digest = line.strip().rsplit(":", 1)[1]
            break
    # killed once podman build runs the layer's apt step (a fixed sleep let a fast mirror finish the build)
    log = Podman(home).directory / "logs" / f"haproxy-{digest}.log"
    deadline = time.monotonic() + 300
    while True:
        time.sleep(0.05)  # the build truncates its log just after the line above
        if "RUN apt-get" in (log.read_text(errors="replace") if log.exists() else ""):
            break
        assert proc.poll() is None and time.monotonic() < deadline, f"the build never reached apt: {log}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not rows(home)["haproxy"]["built"]
    done = tripleo(home, "container", "image", "build", "--service", "haproxy").stdout
    found = rows(home)
    assert f"{found['haproxy']['image']}: built in" in done
    assert found["haproxy"]["built"] and found["haproxy"]["in_registry"]
    assert Podman(home).run("ps", "--all", "--external", "--format", "{{.ID}}").split() == []


def _debian_root(home: Path, directory: Path) -> Path:
    """The base image's file system (a Debian root with its own package database) under ``directory``."""
    podman = Podman(home)
    base = str(rows(home)["base"]["image"])
    name = f"tl-packages-{os.getpid()}"
    podman.run("create", "--name", name, base, "true")
    try:
        podman.run("export", "-o", str(directory / "root.tar"), name)
    finally:
        podman.run("rm", "-f", name, check=False)
    root = directory / "root"
    root.mkdir()
    subprocess.run(["tar", "-xf", str(directory / "root.tar"), "-C", str(root)], check=True)
    return root


def test_the_packages_unit_installs_only_what_is_missing_through_the_package_cache(
    home: Path, tmp_path: Path
) -> None:
    """Issue 25: the packages unit's shell (config download's first play) chrooted into the base image's
    file system, a Debian root with its own package database, through the real package cache on 127.0.0.1:
    the first run installs what is missing, the same list again installs nothing, one package more installs
    only that one (and what it depends on), no service may start meanwhile, and every .deb apt installed
    came through the cache. (A machine with its own Debian does the same in
    tests/functional/machine/test_machine_lab.py.)"""
    from tripleo.config.download import packages_script

    if shutil.which("apt-cacher-ng") is None:
        pytest.skip("apt-cacher-ng is not installed (scripts/debian-packages installs it)")
    tripleo(home, "container", "image", "build", "--service", "memcached")
    root = _debian_root(home, tmp_path)
    proxy = f"127.0.0.1:{free_cache_port()}"
    tripleo(home, "undercloud", "package-cache", "start", "--bind", proxy)
    try:

        def unit(packages: str) -> dict[str, object]:
            script = packages_script(packages, f"http://{proxy}")
            inside = (
                f'mount -t proc proc {root}/proc && mount --rbind /dev {root}/dev && chroot {root} sh -c "$0"'
            )
            argv = [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "--pid",
                "--fork",
                "sh",
                "-c",
                inside,
                script,
            ]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stdout + done.stderr
            return dict(json.loads(done.stdout.strip().splitlines()[-1]))

        assert unit("python3 puppet ipmitool") == {"changed": True, "installed": "ipmitool"}
        assert unit("python3 puppet ipmitool") == {"changed": False}
        assert unit("python3 puppet ipmitool socat") == {"changed": True, "installed": "socat"}
        installs = apt_installs((root / "var" / "log" / "apt" / "history.log").read_text())
        assert len(installs) == 2 and "ipmitool" in installs[0] and "socat" in installs[1], installs
        assert "ipmitool" not in installs[1]
        assert not (root / "usr" / "sbin" / "policy-rc.d").exists()  # the script's own is removed
        fetched = cached_packages(home / "package-cache" / "cache")
        assert installs[0] | installs[1] <= fetched, (installs, fetched)
    finally:
        tripleo(home, "undercloud", "package-cache", "stop", check=False)
