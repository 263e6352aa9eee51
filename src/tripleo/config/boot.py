"""The node agent's ``boot`` command: what a node runs by itself at power-on, and what it tells a deploy.

Config download gives each node ``/etc/tripleo/boot-services.json``: the init scripts of the services it
runs (role_data ``boot_services``), in the order of the role's services, each with the command that says
whether it runs. A real machine's init, or the lab's node init, runs ``boot start`` once sshd is up: the
NIC config and firewall rules are applied again (os-net-config at boot), then each service that is not
running is started through its init script, one after the other; a start that has not ended after a minute
goes on by itself while the next service starts (a Galera member that finds no primary component waits for
``overcloud database recover``). ``boot check`` prints ``dead <name>`` for each service that is not
running: the deploy's config plan asks it beside the unit records, so that the next deploy runs the steps of
a dead service again (Puppet's ``ensure => running`` then starts it). Config download also ships the same
check as a plain shell script (:func:`check_script`), which the config plan runs instead: no Python starts
on the node for a deploy that finds nothing to do (a second or more on an emulated machine).

Standard library only: it runs inside the agent zip with the node's own python3.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tripleo.shipped import BOOT_FILE, FIREWALL_ON_NODE, NETWORK_CONFIG_ON_NODE

__all__ = ["check_script", "dead", "main", "start"]

_ENV = {**os.environ, "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}  # init's own
CHECK_TIMEOUT = 15.0
START_WAIT = 60.0  # then the next service: a start still waiting (a Galera member with no primary) goes on


def _entries(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return (
        [e for e in data if isinstance(e, dict) and isinstance(e.get("name"), str)]
        if isinstance(data, list)
        else []
    )


def _runs(command: str, timeout: float) -> bool:
    try:
        quiet = subprocess.DEVNULL
        done = subprocess.run(["sh", "-c", command], stdin=quiet, stdout=quiet, stderr=quiet, env=_ENV,
                              timeout=timeout)  # fmt: skip
        return done.returncode == 0
    except subprocess.TimeoutExpired:
        return False


SYSTEMD = "/run/systemd/system"  # where systemd is init: it knows what runs


def _status(entry: dict[str, Any], systemd: bool | None = None) -> str:
    """The command that says whether the entry's service runs: systemd's word where it is init (Debian's
    units run the daemons without the pid files the templates' status commands read), else the entry's."""
    if systemd if systemd is not None else os.path.isdir(SYSTEMD):
        return f"systemctl is-active --quiet {shlex.quote(entry['name'])}"
    return str(entry.get("status") or f"/etc/init.d/{entry['name']} status")


def _settled(entry: dict[str, Any], tries: int = 5) -> bool:
    """The service runs, asked a few times: a daemon's pid file may come a moment after its start returned."""
    for _ in range(tries):
        if _runs(_status(entry), CHECK_TIMEOUT):
            return True
        time.sleep(1)
    return False


def dead(path: Path = Path(BOOT_FILE)) -> list[str]:
    """The boot services of ``path`` that are not running."""
    return [e["name"] for e in _entries(path) if not _runs(_status(e), CHECK_TIMEOUT)]


def check_script(entries: Sequence[dict[str, Any]]) -> str:
    """:func:`dead` as a POSIX shell script for ``entries`` (the boot file's list): one ``dead <name>`` line
    per service whose status command (systemd's, where it is init on the node) fails or takes more than
    :data:`CHECK_TIMEOUT`."""
    lines = ["# tripleo: the boot services that do not run (written by config download)",
             f"s=; [ -d {SYSTEMD} ] && s=1"]  # fmt: skip
    for entry in entries:
        if not isinstance(entry.get("name"), str):
            continue
        on, off = (shlex.quote(_status(entry, systemd)) for systemd in (True, False))
        run = f"timeout {CHECK_TIMEOUT:.0f} sh -c"
        quiet = "</dev/null >/dev/null 2>&1"
        name = shlex.quote(entry["name"])
        lines.append(
            f'if [ -n "$s" ]; then {run} {on} {quiet}; else {run} {off} {quiet}; fi || echo dead {name}'
        )
    return "\n".join(lines) + "\n"


def _log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}", flush=True)


def start(path: Path = Path(BOOT_FILE)) -> int:
    """Apply the network again, then start every boot service that does not run; the number that failed."""
    os.chdir("/")  # as init runs them: HAProxy refuses to start from a directory it cannot get back to
    if Path(NETWORK_CONFIG_ON_NODE).is_file():
        # the agent's own NIC applier (this zip without a command), in a process of its own
        args = [sys.executable, sys.argv[0], NETWORK_CONFIG_ON_NODE]
        args += ["--firewall", FIREWALL_ON_NODE] if Path(FIREWALL_ON_NODE).is_file() else []
        done = subprocess.run(
            args, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=_ENV, check=False
        )
        _log(f"network: applier exited {done.returncode}: {(done.stdout + done.stderr).strip()}")
    failed = 0
    for entry in _entries(path):
        name = entry["name"]
        if _runs(_status(entry), CHECK_TIMEOUT):
            _log(f"{name}: running")
            continue
        # what the init script says goes to this command's output (the node's boot log)
        starting = subprocess.Popen(["sh", "-c", f"/etc/init.d/{name} start"], stdin=subprocess.DEVNULL,
                                    env=_ENV, start_new_session=True)  # fmt: skip
        try:
            starting.wait(START_WAIT)
        except subprocess.TimeoutExpired:
            _log(f"{name}: still starting after {START_WAIT:.0f} s, going on")
            continue
        ok = _settled(entry)
        failed += not ok
        _log(f"{name}: {'started' if ok else 'did not start'}")
    return failed


def main(argv: Sequence[str]) -> int:
    """``boot start`` or ``boot check``."""
    if list(argv) == ["start"]:
        return 1 if start() else 0
    if list(argv) == ["check"]:
        for name in dead():
            print(f"dead {name}")
        return 0
    print("usage: boot start|check", file=sys.stderr)
    return 2
