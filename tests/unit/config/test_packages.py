"""The ``packages`` unit: each service's Debian packages (role_data ``packages``), the unit's digest, its
play, and its shell (:func:`tripleo.config.download.packages_script`) run for real with /usr read-only as on
a lab node, and against a recording ``apt-get`` for what it would install. The install itself, through
the real package cache into a real Debian root, is tests/functional/containers/test_build_images.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tripleo.config.digests import PACKAGES, UnitInputs, unit_digests, units
from tripleo.config.download import Host, packages_script, write_project
from tripleo.config.roledata import parse_service
from tripleo.errors import InputError

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "templates" / "deployment"


def _template_packages() -> dict[str, tuple[str, ...]]:
    out = {}
    for path in sorted(TEMPLATES.glob("*/*.yaml")):
        role_data = yaml.safe_load(path.read_text())["outputs"]["role_data"]["value"]
        service = parse_service({"service_name": role_data["service_name"],
                                 "packages": role_data.get("packages")}, "Role", str(path))  # fmt: skip
        out[path.name] = service.packages
    return out


def test_every_service_template_lists_its_packages_and_the_lab_host_installs_them_all() -> None:
    listed = _template_packages()
    assert all(listed.values()), [name for name, packages in listed.items() if not packages]
    script = (ROOT / "scripts" / "debian-packages").read_text()
    found = re.search(r"pkgs=\((.*?)\)", script, re.S)
    assert found is not None
    lab = set(found.group(1).split())
    missing = {p for packages in listed.values() for p in packages} - lab
    assert not missing, f"lab nodes share the host's /usr: add {sorted(missing)} to scripts/debian-packages"
    assert "keystone" in listed["keystone-baremetal-puppet.yaml"]
    assert "podman" in listed["keystone-container-puppet.yaml"]


def test_a_bad_package_list_names_the_template_and_the_path() -> None:
    good = parse_service({"service_name": "x", "packages": ["libstdc++6", "python3.11"]}, "R", "x.yaml")
    assert good.packages == ("libstdc++6", "python3.11")
    assert parse_service({"service_name": "x"}, "R").packages == ()
    with pytest.raises(InputError) as caught:
        parse_service({"service_name": "x", "packages": ["ok", "rm -rf /"]}, "R", "x.yaml")
    assert caught.value.file == "x.yaml" and caught.value.path == "outputs.role_data.value.packages.1"
    assert "'rm -rf /' is not a Debian package name" in str(caught.value)
    with pytest.raises(InputError, match="packages must be a list of Debian package names"):
        parse_service({"service_name": "x", "packages": "keystone"}, "R", "x.yaml")


def _digests(packages: list[str]) -> dict[str, str]:
    return unit_digests(hieradata={}, network_config=None, firewall="", services=[], acting={},
                        shared=UnitInputs(modules="m"), packages=packages)  # fmt: skip


def test_the_unit_comes_first_and_its_digest_is_the_set_of_packages() -> None:
    assert units(5)[:2] == [PACKAGES, "network"]
    before = _digests(["keystone", "python3"])
    assert _digests(["python3", "keystone", "python3"]) == before  # order and repeats: the same set
    after = _digests(["keystone", "python3", "memcached"])
    assert [u for u in before if before[u] != after[u]] == [PACKAGES]


def test_the_play_runs_first_without_python_and_records_the_unit(tmp_path: Path) -> None:
    host = Host("c0", "Controller", "n0", "192.0.2.5", packages=("keystone", "python3"))
    project = write_project(tmp_path / "p", "overcloud", [host], ssh_key=tmp_path / "k",
                            package_proxy="http://192.0.2.1:3142")  # fmt: skip
    plays = yaml.safe_load(project.playbook.read_text())
    assert plays[0]["name"] == "Packages"
    (task,) = plays[0]["tasks"]
    assert "ansible.builtin.raw" in task and task["when"] == "'packages' in tripleo_run"
    assert "{{ tripleo_packages | join(' ') }}" in task["ansible.builtin.raw"]
    assert task["ansible.builtin.raw"].endswith("/var/lib/tripleo/applied/packages")
    inventory = yaml.safe_load(project.inventory.read_text())["all"]
    assert inventory["vars"]["tripleo_package_proxy"] == "http://192.0.2.1:3142"
    assert inventory["children"]["Controller"]["hosts"]["c0"]["tripleo_packages"] == ["keystone", "python3"]


def _installed() -> str:
    """Two packages this host has installed."""
    done = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}${Package}\\n", "dpkg", "sed"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    names = [line.split()[-1] for line in done.stdout.splitlines() if line.startswith("ii")]
    assert len(names) == 2, done.stdout
    return " ".join(names)


def _run(script: str, *, read_only: bool, path: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``script`` in a mount namespace of its own: /usr read-only as on a lab node, or a scratch
    /usr/sbin and /var/log (where the script writes its policy-rc.d and apt's log) with ``path`` first on
    PATH."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare: the shell runs in a mount namespace of its own")
    if read_only:
        setup = "mount --bind /usr /usr && mount -o remount,bind,ro /usr"
    else:
        scratch = "mount -t tmpfs tl-sbin /usr/sbin && mount -t tmpfs tl-log /var/log"
        setup = f"{scratch} && export PATH={path}:$PATH"
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", f'{setup} && sh -c "$0"', script]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_nothing_missing_is_no_change_even_on_a_read_only_usr() -> None:
    done = _run(packages_script(_installed(), ""), read_only=True)
    assert done.returncode == 0 and json.loads(done.stdout) == {"changed": False}, done.stderr


def test_a_missing_package_on_a_read_only_usr_fails_naming_it() -> None:
    done = _run(packages_script(f"{_installed()} tl-no-such-package", ""), read_only=True)
    assert done.returncode == 3 and done.stdout == ""
    assert "packages missing on a node whose /usr is read-only" in done.stderr
    assert done.stderr.strip().endswith(": tl-no-such-package")


def test_only_the_missing_packages_are_installed_through_the_proxy_with_no_service_started(
    tmp_path: Path,
) -> None:
    calls = tmp_path / "calls"
    fake = tmp_path / "bin"
    fake.mkdir()
    # records its arguments and whether services may start (policy-rc.d says 101: no)
    (fake / "apt-get").write_text(
        f'#!/bin/sh\necho "$* | $(/usr/sbin/policy-rc.d >/dev/null 2>&1; echo $?)" >> {calls}\n'
    )
    (fake / "apt-get").chmod(0o755)
    done = _run(packages_script(f"{_installed()} tl-one tl-two", "http://192.0.2.1:3142"), read_only=False,
                path=fake)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"changed": True, "installed": "tl-one tl-two"}
    update, install = calls.read_text().splitlines()
    proxy = "-o Acquire::http::Proxy=http://192.0.2.1:3142"
    assert update.startswith("-q -o DPkg::Lock::Timeout=300 " + proxy + " update |")
    options = f"-q -o DPkg::Lock::Timeout=300 {proxy}"
    assert install == f"{options} install -y --no-install-recommends tl-one tl-two | 101"
