"""Run a config-download project with ansible-playbook and translate its results at the edge.

Ansible's events reach the runner as JSON lines from the project's own callback plugin
(``callback_plugins/tripleo_events.py``, a notification callback writing to a pipe), while Ansible's own
words go to the log file as an operator reads them. :class:`Events` folds the lines into what callers get:
each task as it starts (the ``progress`` callback), the failed hosts and tasks (:class:`Failure`, one
:class:`PlaybookFailed` naming the first) and the recap (:class:`HostRecap` by host). An explicit map takes
each Ansible event to its handler; an event it does not name is ignored.

Each task has ``timeout`` seconds from its start (a deploy step is one task on all its hosts): past that the
runner stops ansible-playbook and every process under it, kills them, and fails naming the hosts that had
started the task and sent no result. The nodes end a step's Puppet themselves a grace later (the playbook's
``tripleo_step_timeout``), so a hung Puppet does not hold a node's step lock for the next run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tripleo.config.download import DEFAULT_TIMEOUT, NODE_GRACE, STEP_TIMEOUT_VARIABLE, Project
from tripleo.errors import OperationError

__all__ = [
    "DEFAULT_TIMEOUT",
    "Events",
    "Failure",
    "HostRecap",
    "PlaybookFailed",
    "ansible_playbook",
    "run_playbook",
]

LOG = logging.getLogger(__name__)

PLUGINS = Path(__file__).with_name("callback_plugins")
_PLUGIN = "tripleo_events"
_FD_VARIABLE = "TRIPLEO_ANSIBLE_EVENTS_FD"  # the plugin's FD_VARIABLE (importing it would import Ansible)
_TAIL = 25
_COUNTS = ("ok", "changed", "unreachable", "failures")  # Ansible's stats, as HostRecap counts them
_POLL = 0.2  # seconds between looks at a run whose pipe is quiet


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


def _message(said: Mapping[str, Any]) -> str:
    """One line for a failed result: a command's own words (its stderr) say more than Ansible's "non-zero
    return code": its first error line (Puppet's "Error: ..."), else its last line."""
    text = str(said.get("stderr") or said.get("msg") or said.get("stdout") or "").strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error")]
    return (errors or lines or ["failed"])[0 if errors else -1][:300]


def _failure(host: str, task: str, said: Mapping[str, Any]) -> Failure:
    tail: list[str] = []
    for key in ("stdout", "stderr", "msg"):
        text = str(said.get(key) or "")
        tail.extend(line for line in text.splitlines() if line.strip())
    return Failure(host, task, _message(said), tuple(tail[-_TAIL:]))


class Events:
    """A run as its events tell it, fed one JSON line at a time (:meth:`feed`).

    ``task`` is the task that started last, ``since`` when (``clock``'s time; the run's start before the
    first), ``running`` the hosts that started a task and sent no result yet (host -> task), ``failures``
    every failed or unreachable host, ``recap`` the counts by host once the run has ended.
    """

    def __init__(self, progress: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.progress = progress
        self.clock = clock
        self.task = ""
        self.since = clock()
        self.running: dict[str, str] = {}
        self.failures: list[Failure] = []
        self.recap: dict[str, HostRecap] = {}

    def feed(self, line: str) -> None:
        """Take one event line; a line that is not an event object, or names no event handled, is ignored.

        :raises Exception: what ``progress`` raises.
        """
        try:
            event = json.loads(line)
        except ValueError:
            LOG.debug("not an Ansible event line: %.200s", line)
            return
        handler = _HANDLERS.get(str(event.get("event"))) if isinstance(event, dict) else None
        if handler is not None:
            handler(self, event)

    def _started(self, event: Mapping[str, Any]) -> None:
        self.task = str(event.get("task") or "")
        self.since = self.clock()

    def _task(self, event: Mapping[str, Any]) -> None:
        self._started(event)
        if self.progress:
            self.progress(self.task)

    def _begun(self, event: Mapping[str, Any]) -> None:
        self.since = self.clock()  # the playbook loaded, or a play began: each has the time a task has

    def _host_started(self, event: Mapping[str, Any]) -> None:
        self.running[str(event.get("host"))] = str(event.get("task") or "")

    def _done(self, event: Mapping[str, Any]) -> None:
        self.running.pop(str(event.get("host")), None)

    def _failed(self, event: Mapping[str, Any]) -> None:
        self._done(event)
        if not event.get("ignore_errors"):
            said = event.get("result")
            self.failures.append(_failure(str(event.get("host")), str(event.get("task") or ""),
                                          said if isinstance(said, dict) else {}))  # fmt: skip

    def _stats(self, event: Mapping[str, Any]) -> None:
        hosts = event.get("hosts")
        for host, counts in (hosts if isinstance(hosts, dict) else {}).items():
            if isinstance(counts, dict):
                ok, changed, unreachable, failed = (int(counts.get(k) or 0) for k in _COUNTS)
                self.recap[host] = HostRecap(host, ok, changed, unreachable, failed)


# Ansible's callback names (without v2_), as the plugin writes them -> what each means for the run
_HANDLERS: dict[str, Callable[[Events, Mapping[str, Any]], None]] = {
    "playbook_on_start": Events._begun,
    "playbook_on_play_start": Events._begun,
    "playbook_on_task_start": Events._task,
    "playbook_on_handler_task_start": Events._started,  # a handler has no progress line, as before
    "runner_on_start": Events._host_started,
    "runner_on_ok": Events._done,
    "runner_on_skipped": Events._done,
    "runner_on_failed": Events._failed,
    "runner_on_unreachable": Events._failed,
    "playbook_on_stats": Events._stats,
}


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


def _feed(events: Events, pending: bytes) -> bytes:
    """Feed the complete lines of ``pending`` to ``events``; the incomplete rest is returned."""
    *lines, rest = pending.split(b"\n")
    for line in lines:
        if line.strip():
            events.feed(line.decode(errors="replace"))
    return rest


def _follow(proc: subprocess.Popen[bytes], fd: int, events: Events, timeout: float) -> bool:
    """Feed ``events`` from the pipe ``fd`` until ansible-playbook ends: True then; False as soon as the
    task that runs has run ``timeout`` seconds (ansible-playbook still runs)."""
    pending = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            left = events.since + timeout - time.monotonic()
            if left <= 0:
                return False
            if selector.select(min(left, _POLL)):
                chunk = os.read(fd, 1 << 16)
                if not chunk:  # no writer left: ansible-playbook is ending
                    break
                pending = _feed(events, pending + chunk)
            elif proc.poll() is not None:
                break  # it ended, and a process it left still holds the pipe: read what is there
    os.set_blocking(fd, False)
    try:
        while chunk := os.read(fd, 1 << 16):
            pending += chunk
    except BlockingIOError:
        pass
    _feed(events, pending + b"\n")
    try:
        proc.wait(timeout=max(events.since + timeout - time.monotonic(), _POLL))
    except subprocess.TimeoutExpired:
        return False
    return True


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc (parent pid -> pids)."""
    out: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue  # it ended meanwhile
            out.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    return out


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _kill_tree(pid: int) -> None:
    """Kill process ``pid`` and every process under it. ansible-core's workers call setsid(), so no
    process group holds them all; each is stopped first (SIGSTOP), so none forks or leaves the tree between
    the look and the kill, then all get SIGKILL. Our own child ``pid`` stays a zombie until it is reaped,
    so its pid is not reused meanwhile."""
    stopped: set[int] = set()
    while True:
        children = _children()
        tree, todo = set(), [pid]
        while todo:
            current = todo.pop()
            tree.add(current)
            todo.extend(children.get(current, []))
        new = tree - stopped
        if not new:
            break
        for member in new:
            _signal(member, signal.SIGSTOP)
        stopped |= new
    for member in stopped:
        _signal(member, signal.SIGKILL)


def _environment(project: Project, control: str, fd: int) -> dict[str, str]:
    """ansible-playbook's environment: the project's config, ssh control sockets in ``control``, and the
    event plugin enabled (after the callbacks the caller's environment enables) writing to ``fd``."""
    enabled = [name for name in os.environ.get("ANSIBLE_CALLBACKS_ENABLED", "").split(",") if name.strip()]
    paths = [str(PLUGINS), *filter(None, [os.environ.get("ANSIBLE_CALLBACK_PLUGINS")])]
    return {
        **os.environ,
        "ANSIBLE_CONFIG": str(project.directory / "ansible.cfg"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": control,
        "ANSIBLE_LOCAL_TEMP": os.path.join(control, "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_CALLBACK_PLUGINS": os.pathsep.join(paths),
        "ANSIBLE_CALLBACKS_ENABLED": ",".join([*enabled, _PLUGIN]),
        _FD_VARIABLE: str(fd),
    }


def _argv(
    limit: Sequence[str] | None, tags: Sequence[str], skip_tags: Sequence[str], playbook: str, timeout: float
) -> list[str]:
    # the nodes end a step's Puppet a little after the undercloud gave up on it (a Puppet that hung
    # would hold the node's step lock, and the next deploy's steps would wait for it)
    node_timeout = int(timeout) + NODE_GRACE
    argv = [ansible_playbook(), playbook, "-e", f"{STEP_TIMEOUT_VARIABLE}={node_timeout}"]
    if limit is not None:
        argv += ["--limit", ",".join(limit)]
    if tags:
        argv += ["--tags", ",".join(tags)]
    if skip_tags:
        argv += ["--skip-tags", ",".join(skip_tags)]
    return argv


def _play(argv: list[str], project: Project, out: IO[bytes], events: Events, timeout: float) -> int | None:
    """Run ansible-playbook, its output to ``out``, its events into ``events``: its exit code, or None
    when a task ran past ``timeout`` (it and every process under it are killed then, and on any error)."""
    control = tempfile.mkdtemp(prefix="tripleo-cp-")  # short: ssh control sockets have a 108-byte limit
    read, write = os.pipe()
    try:
        # ansible-playbook stays in our process group: a deploy killed with its group takes it along. It
        # reads nothing, and refuses to start on a non-blocking stdin (which an ssh run before under the
        # same stdin may leave behind): /dev/null
        proc = subprocess.Popen(argv, cwd=project.directory, env=_environment(project, control, write),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                pass_fds=(write,))  # fmt: skip
        os.close(write)
        write = -1
        try:
            finished = _follow(proc, read, events, timeout)
        finally:
            if proc.poll() is None:
                _kill_tree(proc.pid)
            code = proc.wait()
        return code if finished else None
    finally:
        os.close(read)
        if write >= 0:
            os.close(write)
        shutil.rmtree(control, ignore_errors=True)


def _timed_out(events: Events, timeout: float) -> tuple[str, list[Failure]]:
    """What a run killed at its timeout failed with: a line naming the hosts the task hung on, and one
    failure each."""
    said = f"no result after {timeout:g} s"
    hung = sorted(events.running.items())
    if not hung:
        return f"config download timed out: {said} (last task {events.task!r})", []
    tasks = ", ".join(sorted({repr(task) for _, task in hung}))
    text = f"config download timed out on {', '.join(host for host, _ in hung)}, task {tasks}: {said}"
    return text, [Failure(host, task, f"timed out: {said}") for host, task in hung]


def run_playbook(
    project: Project,
    log: Path,
    progress: Callable[[str], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    limit: Sequence[str] | None = None,
    tags: Sequence[str] = (),
    skip_tags: Sequence[str] = (),
    append: bool = False,
) -> dict[str, HostRecap]:
    """Run the project's playbook (on the hosts of ``limit`` only, when given; only the tasks of ``tags``,
    none of ``skip_tags``, when given); the output goes to ``log`` (after what it holds, with ``append``);
    ``progress`` gets each task's name as it starts. Each task may run ``timeout`` seconds on all its hosts.

    :returns: the recap, by host.
    :raises PlaybookFailed: a task failed or a host was unreachable (the first one is named, ``failures``
        has them all), or a task ran past ``timeout`` (the hosts it hung on are named; nothing of the run
        is left running on the undercloud).
    :raises OperationError: ansible-playbook failed otherwise.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    if not append:
        log.write_bytes(b"")
    events = Events(progress)
    argv = _argv(limit, tags, skip_tags, project.playbook.name, timeout)
    with open(log, "ab") as out:
        code = _play(argv, project, out, events, timeout)
        if code is None:
            text, failures = _timed_out(events, timeout)
            out.write(f"\ntripleo: {text}: ansible-playbook and every process under it killed\n".encode())
            raise PlaybookFailed(f"{text} (log: {log})", failures)
    if code != 0 or events.failures:
        if events.failures:
            first = events.failures[0]
            raise PlaybookFailed(
                f"config download failed on {first.host}, task {first.task!r}: {first.message} (log: {log})",
                events.failures,
            )
        raise OperationError(f"ansible-playbook exited {code} (log: {log})")
    return events.recap
