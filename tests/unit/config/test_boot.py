"""The node agent's boot check (tripleo.config.boot): which boot services do not run, from their status
commands (the lab's HA test powers a controller off and on for the start side)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tripleo.config.boot import check_script, dead
from tripleo.config.download import BOOT_UNIT, _boot_unit_script
from tripleo.shipped import AGENT_ON_NODE


def test_dead_lists_the_services_whose_status_fails(tmp_path: Path) -> None:
    boot = tmp_path / "boot-services.json"
    boot.write_text(json.dumps([
        {"name": "up", "status": "true"},
        {"name": "down", "status": "exit 3"},
        {"name": "no-such-init-script"},  # /etc/init.d/<name> status: not there, not running
        {"status": "true"},  # no name: not a boot service
    ]))  # fmt: skip
    assert dead(boot) == ["down", "no-such-init-script"]
    assert dead(tmp_path / "missing.json") == []
    boot.write_text("{not json")
    assert dead(boot) == []


def test_the_shell_check_names_what_dead_names(tmp_path: Path) -> None:
    """The script the config plan runs instead of the agent: same entries, same dead ones, quoting kept."""
    entries = [
        {"name": "up", "status": "true"},
        {"name": "down", "status": "exit 3"},
        {"name": "quoted", "status": "[ \"$(echo 'a b')\" = 'a b' ]"},  # runs, quotes and all
        {"name": "no-such-init-script"},
        {"status": "true"},
    ]
    boot = tmp_path / "boot-services.json"
    boot.write_text(json.dumps(entries))
    script = tmp_path / "boot-check.sh"
    script.write_text(check_script(entries))
    done = subprocess.run(["sh", str(script)], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split("\n") == [f"dead {name}" for name in dead(boot)] + [""]
    assert dead(boot) == ["down", "no-such-init-script"]


def _boot_unit(tmp_path: Path, systemd: bool) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The boot unit task's shell in a mount namespace: a scratch /run and /etc/systemd/system, and a
    recording ``systemctl`` first on PATH (``is-enabled`` answers from the calls it recorded)."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare: the shell runs in a mount namespace of its own")
    calls, fake = tmp_path / "calls", tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "systemctl").write_text(
        f'#!/bin/sh\necho "$*" >> {calls}\n'
        f'case "$*" in *is-enabled*) grep -q "enable tripleo" {calls};; esac\n'
    )
    (fake / "systemctl").chmod(0o755)
    setup = "mount -t tmpfs tl-run /run && mount -t tmpfs tl-units /etc/systemd/system"
    setup += " && mkdir -p /run/systemd/system" if systemd else ""
    twice = 'sh -c "$0" && sh -c "$0"'  # the second run finds the same unit enabled: no change
    script = f"{setup} && PATH={fake}:$PATH && {twice} && cat /etc/systemd/system/*.service"
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, _boot_unit_script()]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60), calls


def test_the_boot_unit_is_installed_and_enabled_once_where_systemd_is_init(tmp_path: Path) -> None:
    done, calls = _boot_unit(tmp_path, systemd=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("enabled\n[Unit]")
    assert f"ExecStart=/usr/bin/python3 {AGENT_ON_NODE} boot start" in done.stdout
    assert calls.read_text().splitlines() == [
        "daemon-reload",
        f"-q enable {BOOT_UNIT}",
        f"-q is-enabled {BOOT_UNIT}",
    ]


def test_no_boot_unit_where_systemd_is_not_init(tmp_path: Path) -> None:
    """A lab namespace node: its own init runs ``boot start``; nothing is written, systemctl never runs."""
    done, calls = _boot_unit(tmp_path, systemd=False)
    assert done.returncode != 0 and done.stdout == ""  # cat finds no unit
    assert not calls.exists()


def test_where_systemd_is_init_the_check_asks_systemd(tmp_path: Path) -> None:
    """Debian's units run the daemons without the pid files the templates' status commands read: on a
    systemd node both the agent's check and the shell script ask systemctl instead (here a recording one,
    in a mount namespace whose /run has systemd's directory)."""
    entries = [{"name": "up", "status": "exit 3"}, {"name": "down", "status": "true"}]
    script = tmp_path / "boot-check.sh"
    script.write_text(check_script(entries))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "systemctl"
    fake.write_text('#!/bin/sh\necho "$@" >> "$CALLS"\n[ "$3" = up ]\n')
    fake.chmod(0o755)
    calls = tmp_path / "calls"
    inner = f"mount -t tmpfs t /run && mkdir -p /run/systemd/system && sh {script}"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(calls)}
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", inner],
                          capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "dead down\n"  # the pid-file commands would have said the opposite
    assert calls.read_text().split("\n")[:2] == ["is-active --quiet up", "is-active --quiet down"]
