"""How tripleo reaches a node: one small connector (run, put, get) with three implementations.

Every place that talks to a node (the config digests a node last applied, its containers, a ping from it,
its hostname) goes through a :class:`NodeShell`, so the way in is chosen once and a unit test swaps in
the fake:

- :class:`SshShell`: over SSH to the node's address, as root with tripleo's key, never prompting, never
  recording host keys (nodes are reinstalled under the same address);
- :class:`NetnsShell`: ``ip netns exec`` into a lab node's network namespace on this host (its network,
  this host's files);
- :class:`FakeShell`: a node in memory that answers commands from a table and keeps files in a dict,
  recording every call (the shipped mock, as httpx ships ``MockTransport``).

A command is an argv (quoted for the remote shell by SSH, run as is in a namespace) or a shell command
line. A command that runs and fails is a :class:`Result` with its exit code, not an error: callers decide
what a failure means. Errors::

    OperationError           (tripleo.errors)
    ├── the client could not be started (``ssh`` or ``ip`` missing), put or get failed
    └── ShellTimeout         the command did not finish in time (the client and all it started are killed)

Messages name the node and the program, never the whole command (a command may carry a secret).
"""

from __future__ import annotations

import abc
import contextlib
import logging
import os
import re
import shlex
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from tripleo.errors import OperationError

__all__ = [
    "SSH_OPTIONS",
    "Answer",
    "Call",
    "Command",
    "FakeShell",
    "NetnsShell",
    "NodeShell",
    "Result",
    "ShellTimeout",
    "SshShell",
]

LOG = logging.getLogger(__name__)

Command = str | Sequence[str]
# never prompt; a node reinstalled under the same address has a new host key, which is not recorded
SSH_OPTIONS = ("StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "BatchMode=yes", "LogLevel=ERROR")
_PART = ".tripleo-part"
_WORD = re.compile(r"[\w./+-]+")


@dataclass(frozen=True)
class Result:
    """What a command did: its exit code and output (decoded as UTF-8, bad bytes replaced)."""

    returncode: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class ShellTimeout(OperationError):
    """A command on a node did not finish within its timeout (it was killed).

    :param shell: the node's name (:attr:`NodeShell.name`).
    :param program: the command's program (its first word).
    :param timeout: the seconds it had.
    """

    def __init__(self, shell: str, program: str, timeout: float) -> None:
        super().__init__(f"{shell}: {program} did not finish within {timeout:g} s")
        self.shell = shell
        self.program = program
        self.timeout = timeout


@runtime_checkable
class NodeShell(Protocol):
    """A way into one node: run a command, write a file, read a file."""

    @property
    def name(self) -> str:
        """The node as messages name it (its address, or its namespace)."""
        ...

    def run(self, command: Command, *, stdin: str | bytes | None = None, timeout: float = 60.0) -> Result:
        """Run ``command`` (an argv or a shell command line) on the node, ``stdin`` on its input.

        :raises ShellTimeout: it did not finish within ``timeout`` seconds.
        :raises OperationError: the client could not be started.
        """
        ...

    def put(self, source: Path | bytes, remote: str, *, mode: int = 0o644, timeout: float = 60.0) -> None:
        """Write ``source`` (a local file or bytes) to ``remote`` on the node with ``mode``; a reader sees the
        old file or the whole new one.

        :raises OperationError: it could not be written (or the local file read).
        """
        ...

    def get(self, remote: str, *, timeout: float = 60.0) -> bytes:
        """The bytes of ``remote`` on the node.

        :raises OperationError: it could not be read.
        """
        ...


def _text(command: Command) -> str:
    return command if isinstance(command, str) else shlex.join(command)


def _program(command: Command) -> str:
    """What a message calls the command: its program, or "a shell command" when the line starts otherwise."""
    words = command.split() if isinstance(command, str) else list(command)
    first = words[0] if words else ""
    return first if _WORD.fullmatch(first) else "a shell command"


def _reason(result: Result) -> str:
    said = result.stderr.strip().splitlines()
    return said[-1] if said else f"exit code {result.returncode}"


def _put_command(remote: str, mode: int) -> str:
    """Write stdin aside, then rename it over ``remote``: a reader never sees half a file."""
    part, dest = shlex.quote(remote + _PART), shlex.quote(remote)
    return (
        f"umask 077 && cat > {part} && chmod {mode:o} {part} && mv -f {part} {dest}"
        f" || {{ rc=$?; rm -f {part}; exit $rc; }}"
    )


def _source_bytes(source: Path | bytes) -> bytes:
    if isinstance(source, bytes):
        return source
    try:
        return source.read_bytes()
    except OSError as exc:
        raise OperationError(f"cannot read {source}: {exc.strerror}") from exc


def _kill_session(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


class _ProcessShell(abc.ABC):
    """A shell reached through a local client process (``ssh``, ``ip netns exec``)."""

    @property
    @abc.abstractmethod
    def name(self) -> str: ...

    @abc.abstractmethod
    def argv(self, command: Command) -> list[str]:
        """The local argv that runs ``command`` on the node."""

    def _exec(self, command: Command, stdin: bytes | None, timeout: float) -> tuple[int, bytes, bytes]:
        """Run the client in a session of its own, so that a timeout kills it and all it started."""
        argv = self.argv(command)
        LOG.debug("%s: running %s", self.name, _program(command))
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise OperationError(f"{self.name}: cannot run {argv[0]}: {exc.strerror}") from exc
        with proc:
            try:
                out, err = proc.communicate(stdin, timeout=timeout)
            except BaseException as exc:  # the timeout, or an interrupt: nothing of it is left running
                _kill_session(proc)
                if isinstance(exc, subprocess.TimeoutExpired):
                    raise ShellTimeout(self.name, _program(command), timeout) from exc
                raise
        return proc.returncode, out, err

    def run(self, command: Command, *, stdin: str | bytes | None = None, timeout: float = 60.0) -> Result:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        code, out, err = self._exec(command, data, timeout)
        return Result(code, out.decode(errors="replace"), err.decode(errors="replace"))

    def put(self, source: Path | bytes, remote: str, *, mode: int = 0o644, timeout: float = 60.0) -> None:
        done = self.run(_put_command(remote, mode), stdin=_source_bytes(source), timeout=timeout)
        if not done.ok:
            raise OperationError(f"{self.name}: cannot write {remote}: {_reason(done)}")

    def get(self, remote: str, *, timeout: float = 60.0) -> bytes:
        code, out, err = self._exec(["cat", "--", remote], None, timeout)
        if code != 0:
            reason = Result(code, "", err.decode(errors="replace"))
            raise OperationError(f"{self.name}: cannot read {remote}: {_reason(reason)}")
        return out


class SshShell(_ProcessShell):
    """A node over SSH (see the module docstring).

    :param address: the node's address (its ctlplane address).
    :param key: the private key to offer (``ssh -i``); None: ssh's own defaults.
    :param user: who logs in.
    :param connect_timeout: seconds to wait for the TCP connection (``ConnectTimeout``).
    :param options: more ``-o`` options, after the fixed ones.
    """

    def __init__(
        self,
        address: str,
        key: Path | None = None,
        *,
        user: str = "root",
        connect_timeout: int = 10,
        options: Sequence[str] = (),
    ) -> None:
        self.address = address
        self.key = key
        self.user = user
        self.connect_timeout = connect_timeout
        self.options = tuple(options)

    @property
    def name(self) -> str:
        return self.address

    def argv(self, command: Command) -> list[str]:
        ident = ["-i", str(self.key)] if self.key is not None else []
        options = (*SSH_OPTIONS, f"ConnectTimeout={self.connect_timeout}", *self.options)
        flags = [word for option in options for word in ("-o", option)]
        return ["ssh", *ident, *flags, f"{self.user}@{self.address}", _text(command)]


class NetnsShell(_ProcessShell):
    """A lab node's network namespace on this host (``ip netns exec``): its network, this host's files.

    :param netns: the namespace's name.
    """

    def __init__(self, netns: str) -> None:
        self.netns = netns

    @property
    def name(self) -> str:
        return f"netns {self.netns}"

    def argv(self, command: Command) -> list[str]:
        inner = ["sh", "-c", command] if isinstance(command, str) else list(command)
        return ["ip", "netns", "exec", self.netns, *inner]


@dataclass(frozen=True)
class Call:
    """One command a :class:`FakeShell` was asked to run, as the node's shell would see it."""

    command: str
    stdin: bytes | None
    timeout: float


# a canned answer: a result, an error to raise (ShellTimeout: a node that hangs) or a function of the call
Answer = Result | OperationError | Callable[[Call], Result]


class FakeShell:
    """A node in memory for unit tests: commands are answered from a table, files kept in a dict.

    :param name: the node's name.
    :param answers: command (an argv is joined as :func:`shlex.join` would) -> its answer.
    :param default: the answer to any other command; None: such a command is an error, so a test
        notices a command it did not expect.
    :param files: the node's files (path -> bytes) that :meth:`get` reads and :meth:`put` writes.

    Every run is recorded in :attr:`calls` (thread-safe, in call order); :attr:`modes` keeps the mode each
    put gave.
    """

    def __init__(
        self,
        name: str = "fake",
        answers: Mapping[str, Answer] | None = None,
        *,
        default: Answer | None = None,
        files: Mapping[str, bytes] | None = None,
    ) -> None:
        self._name = name
        self.answers = dict(answers or {})
        self.default = default
        self.files = dict(files or {})
        self.modes: dict[str, int] = {}
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def commands(self) -> list[str]:
        """The commands run so far, in order."""
        with self._lock:
            return [call.command for call in self.calls]

    def run(self, command: Command, *, stdin: str | bytes | None = None, timeout: float = 60.0) -> Result:
        """The canned answer to ``command``.

        :raises OperationError: the table has no answer for it (and no default), or its answer is an error.
        """
        call = Call(_text(command), stdin.encode() if isinstance(stdin, str) else stdin, timeout)
        with self._lock:
            self.calls.append(call)
        answer = self.answers.get(call.command, self.default)
        if answer is None:
            raise OperationError(f"{self._name}: the fake shell has no answer for {call.command!r}")
        if isinstance(answer, OperationError):
            raise answer
        return answer if isinstance(answer, Result) else answer(call)

    def put(self, source: Path | bytes, remote: str, *, mode: int = 0o644, timeout: float = 60.0) -> None:
        data = _source_bytes(source)
        with self._lock:
            self.files[remote] = data
            self.modes[remote] = mode

    def get(self, remote: str, *, timeout: float = 60.0) -> bytes:
        with self._lock:
            data = self.files.get(remote)
        if data is None:
            raise OperationError(f"{self._name}: cannot read {remote}: No such file or directory")
        return data
