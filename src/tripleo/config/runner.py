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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tripleo.config.download import Project
from tripleo.errors import OperationError

__all__ = ["Failure", "HostRecap", "PlaybookFailed", "ansible_playbook", "parse_recap", "run_playbook"]

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


@dataclass(frozen=True)
class Failure:
    """A failed task on one host: the task, its message and the tail of its output (Puppet's, for a step)."""

    host: str
    task: str
    message: str
    tail: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "task": self.task, "message": self.message, "tail": list(self.tail)}


class PlaybookFailed(OperationError):
    """config download failed; ``failures`` has every failed host and task."""

    def __init__(self, message: str, failures: Sequence[Failure]) -> None:
        super().__init__(message)
        self.failures = list(failures)


_TAIL = 25


def _failure(host: str, task: str, detail: str) -> Failure:
    try:
        data = json.loads(detail)
    except ValueError:
        data = None
    tail: list[str] = []
    if isinstance(data, dict):
        for key in ("stdout", "stderr", "msg"):
            text = str(data.get(key) or "")
            tail.extend(line for line in text.splitlines() if line.strip())
    return Failure(host, task, _message(detail), tuple(tail[-_TAIL:]))


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
    project: Project,
    log: Path,
    progress: Callable[[str], None] | None = None,
    timeout: float = 1800,
    limit: Sequence[str] | None = None,
    tags: Sequence[str] = (),
    skip_tags: Sequence[str] = (),
    append: bool = False,
) -> dict[str, HostRecap]:
    """Run the project's playbook (on the hosts of ``limit`` only, when given; only the tasks of ``tags``,
    none of ``skip_tags``, when given); the output goes to ``log`` (after what it holds, with ``append``).

    :raises PlaybookFailed: a task failed or a host was unreachable (the first one is named, ``failures``
        has them all).
    :raises OperationError: ansible-playbook failed otherwise, or the run timed out.
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
    failures: list[Failure] = []
    argv = [ansible_playbook(), project.playbook.name]
    if limit is not None:
        argv += ["--limit", ",".join(limit)]
    if tags:
        argv += ["--tags", ",".join(tags)]
    if skip_tags:
        argv += ["--skip-tags", ",".join(skip_tags)]
    try:
        with open(log, "a" if append else "w") as out, subprocess.Popen(
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
                elif match := _FATAL.match(line):
                    failures.append(_failure(match["host"], task, match["detail"]))
            code = proc.wait(timeout=timeout)
    finally:
        shutil.rmtree(control, ignore_errors=True)
    recap = parse_recap(lines)
    if code != 0 or failures:
        if failures:
            first = failures[0]
            raise PlaybookFailed(
                f"config download failed on {first.host}, task {first.task!r}: {first.message} (log: {log})",
                failures,
            )
        raise OperationError(f"ansible-playbook exited {code} (log: {log})")
    return recap
