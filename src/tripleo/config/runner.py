"""Run a config-download project with ansible-playbook and translate its results at the edge.

Ansible's vocabulary (``fatal: [host]: FAILED!``, the PLAY RECAP) becomes :class:`HostRecap` rows and one
:class:`~tripleo.errors.OperationError` naming the host, the task and Ansible's message. The full output goes
to a log file; callers get progress (each task as it starts) through a callback.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tripleo.config.download import Project
from tripleo.errors import OperationError

__all__ = ["HostRecap", "ansible_playbook", "parse_recap", "run_playbook"]

_RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
    r"failed=(?P<failed>\d+)"
)
_TASK = re.compile(r"^TASK \[(?P<task>.*)\]")
_FATAL = re.compile(r"^fatal: \[(?P<host>[^\]]+)\]: (?P<kind>FAILED|UNREACHABLE)! => (?P<detail>.*)$")


@dataclass(frozen=True)
class HostRecap:
    host: str
    ok: int
    changed: int
    unreachable: int
    failed: int


def ansible_playbook() -> str:
    """The ansible-playbook of this installation (ansible-core is a dependency), else the one on PATH.

    :raises OperationError: ansible-core is not installed.
    """
    beside = Path(sys.executable).with_name("ansible-playbook")
    if beside.exists():
        return str(beside)
    found = shutil.which("ansible-playbook")
    if found is None:
        raise OperationError("ansible-playbook not found: install ansible-core (pip install ansible-core)")
    return found


def parse_recap(lines: list[str]) -> dict[str, HostRecap]:
    """The PLAY RECAP rows of an ansible-playbook run, by host."""
    out = {}
    for line in lines:
        match = _RECAP.match(line)
        if match:
            counts = {k: int(v) for k, v in match.groupdict().items() if k != "host"}
            out[match["host"]] = HostRecap(match["host"], **counts)
    return out


def _message(detail: str) -> str:
    try:
        data = json.loads(detail)
    except ValueError:
        return detail.strip()[:300]
    if not isinstance(data, dict):
        return str(data)[:300]
    # a command's own words (its stderr) say more than Ansible's "non-zero return code": its first error
    # line (Puppet's "Error: ..."), else its last line
    text = str(data.get("stderr") or data.get("msg") or data.get("stdout") or "").strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error")]
    return (errors or lines or ["failed"])[0 if errors else -1][:300]


def run_playbook(
    project: Project, log: Path, progress: Callable[[str], None] | None = None, timeout: float = 1800
) -> dict[str, HostRecap]:
    """Run the project's playbook; the output goes to ``log``.

    :raises OperationError: a task failed or a host was unreachable (the first one is named), or the run
        timed out.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    control = tempfile.mkdtemp(prefix="tripleo-cp-")  # short: ssh control sockets have a 108-byte limit
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(project.directory / "ansible.cfg"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": control,
        "ANSIBLE_LOCAL_TEMP": os.path.join(control, "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    }
    lines: list[str] = []
    task = ""
    fatal: tuple[str, str, str] | None = None
    argv = [ansible_playbook(), project.playbook.name]
    try:
        with open(log, "w") as out, subprocess.Popen(
            argv, cwd=project.directory, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as proc:  # fmt: skip
            assert proc.stdout is not None
            for line in proc.stdout:
                out.write(line)
                line = line.rstrip("\n")
                lines.append(line)
                if match := _TASK.match(line):
                    task = match["task"]
                    if progress:
                        progress(task)
                elif (match := _FATAL.match(line)) and fatal is None:
                    fatal = (match["host"], task, _message(match["detail"]))
            code = proc.wait(timeout=timeout)
    finally:
        shutil.rmtree(control, ignore_errors=True)
    recap = parse_recap(lines)
    if code != 0 or fatal is not None:
        if fatal is not None:
            host, failed_task, message = fatal
            raise OperationError(
                f"config download failed on {host}, task {failed_task!r}: {message} (log: {log})"
            )
        raise OperationError(f"ansible-playbook exited {code} (log: {log})")
    return recap
