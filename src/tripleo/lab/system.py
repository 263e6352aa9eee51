"""The lab's one boundary with the host: running commands (``ip``, ``nft``, ...) and looking at processes.

Everything that changes the host goes through a :class:`Runner`, so unit tests pass a fake that records the
commands and the functional tests run the real thing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tripleo.errors import OperationError

__all__ = [
    "Result",
    "Runner",
    "SubprocessRunner",
    "kill_netns_processes",
    "netns_pids",
    "pid_ns_init",
    "send_signal",
]

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Result:
    """What a command did."""

    returncode: int
    stdout: str = ""
    stderr: str = ""


class Runner(Protocol):
    """Runs one command. ``check=True`` turns a non-zero exit into :class:`OperationError`."""

    def run(self, argv: Sequence[str], *, check: bool = True, stdin: str | None = None) -> Result: ...


class SubprocessRunner:
    """The real runner: no shell, captured output, a timeout."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout

    def run(self, argv: Sequence[str], *, check: bool = True, stdin: str | None = None) -> Result:
        LOG.debug("run: %s", " ".join(argv))
        try:
            proc = subprocess.run(
                list(argv), input=stdin, capture_output=True, text=True, timeout=self.timeout, check=False
            )
        except FileNotFoundError as exc:
            raise OperationError(f"{argv[0]}: command not found (install it and retry)") from exc
        except subprocess.TimeoutExpired as exc:
            raise OperationError(f"{' '.join(argv)}: no answer after {self.timeout:.0f} s") from exc
        result = Result(proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            err = proc.stderr.strip().splitlines()
            raise OperationError(f"{' '.join(argv)} failed: {err[-1] if err else f'exit {proc.returncode}'}")
        return result


def netns_pids(runner: Runner, netns: str) -> list[int]:
    """Every process inside a network namespace (all of a running node's processes); [] if it has none."""
    result = runner.run(["ip", "netns", "pids", netns], check=False)
    if result.returncode != 0:
        return []
    return [int(word) for word in result.stdout.split() if word.isdigit()]


def pid_ns_init(pids: Sequence[int], proc: Path = Path("/proc")) -> int | None:
    """The process among ``pids`` that is PID 1 of a nested PID namespace (a node's init), if any."""
    for pid in pids:
        try:
            status = (proc / str(pid) / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("NSpid:"):
                ids = line.split()[1:]
                if len(ids) > 1 and ids[-1] == "1":
                    return pid
    return None


def send_signal(pid: int, sig: signal.Signals) -> None:
    """Signal a process that may have exited meanwhile."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def kill_netns_processes(
    runner: Runner,
    netns: str,
    *,
    timeout: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """SIGKILL every process in a network namespace until none is left.

    The node's init goes first: when a PID namespace's init dies the kernel ends all of its processes.

    :raises OperationError: processes remain after ``timeout`` seconds.
    """
    deadline = clock() + timeout
    while True:
        pids = netns_pids(runner, netns)
        if not pids:
            return
        if clock() > deadline:
            raise OperationError(f"{netns}: processes {pids} survive SIGKILL")
        init = pid_ns_init(pids)
        for pid in ([init] if init else []) + [p for p in pids if p != init]:
            send_signal(pid, signal.SIGKILL)
        sleep(0.02)


class RecordingRunner:
    """A fake :class:`Runner` for tests: records every command and answers from a table.

    :param answers: maps a command prefix (a tuple of leading words) to its :class:`Result`; the longest
        matching prefix wins; anything else succeeds with no output.
    """

    def __init__(self, answers: dict[tuple[str, ...], Result] | None = None) -> None:
        self.answers = dict(answers or {})
        self.commands: list[tuple[str, ...]] = []
        self.stdin: list[str | None] = []

    def run(self, argv: Sequence[str], *, check: bool = True, stdin: str | None = None) -> Result:
        cmd = tuple(argv)
        self.commands.append(cmd)
        self.stdin.append(stdin)
        matches = [p for p in self.answers if cmd[: len(p)] == p]
        result = self.answers[max(matches, key=len)] if matches else Result(0)
        if check and result.returncode != 0:
            raise OperationError(f"{' '.join(cmd)} failed: {result.stderr.strip() or result.returncode}")
        return result
