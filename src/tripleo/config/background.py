"""A server tripleo starts on the undercloud and leaves running: the image registry, the package cache.

Each lives in a directory of ``$TRIPLEO_HOME`` (its configuration, data and log), runs in a session of its
own (stopping it stops what it started) and records its pid and address in ``state.json``, written once it
runs; ``start`` returns once it answers, ``stop`` sends SIGTERM, then SIGKILL after 5 s.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tripleo.errors import InputError, OperationError

__all__ = ["Background", "parse_bind"]


def parse_bind(value: str) -> tuple[str, int]:
    """``ADDRESS:PORT`` as a server binds it.

    :raises InputError: not an IPv4 address with a port.
    """
    host, _, port = value.rpartition(":")
    parts = host.split(".")
    if not (len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts) and port.isdigit()
            and 0 < int(port) < 65536):  # fmt: skip
        raise InputError(f"expected ADDRESS:PORT (an IPv4 address and a port), got {value!r}", path="--bind")
    return host, int(port)


@dataclass
class Background:
    """One background server: ``what`` names it in messages ("the registry"), ``log`` is its log file's name
    in ``directory``."""

    directory: Path
    what: str
    log: str

    @property
    def _state(self) -> Path:
        return self.directory / "state.json"

    def address(self) -> str | None:
        """``ADDRESS:PORT`` of the running server, or None when it is not running."""
        try:
            state = json.loads(self._state.read_text())
            os.kill(int(state["pid"]), 0)
        except (OSError, ValueError, KeyError):
            return None
        return str(state["bind"])

    def running_on(self, bind: str, answers: Callable[[str], bool]) -> bool:
        """It runs on ``bind`` and answers there.

        :raises InputError: it runs on another address (stop it first).
        """
        parse_bind(bind)
        running = self.address()
        if running is not None and running != bind:
            raise InputError(f"{self.what} runs on {running}: stop it first", path="--bind")
        return running == bind and answers(bind)

    def launch(self, argv: Sequence[str], bind: str, answers: Callable[[str], bool], binary: str) -> str:
        """Start ``argv`` in the background and wait up to 30 s for ``answers(bind)``; returns ``bind``.

        :raises OperationError: ``binary`` is not installed, or it did not answer (its log's last line).
        """
        log = (self.directory / self.log).open("a")
        try:
            proc = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        except FileNotFoundError as exc:
            raise OperationError(f"{binary} is not installed (scripts/debian-packages installs it)") from exc
        finally:
            log.close()
        scratch = self._state.with_suffix(".tmp")
        scratch.write_text(json.dumps({"pid": proc.pid, "bind": bind}))
        scratch.replace(self._state)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if answers(bind):
                return bind
            time.sleep(0.2)
        self.stop()
        lines = (self.directory / self.log).read_text(errors="replace").strip().splitlines()
        raise OperationError(f"{self.what} did not start on {bind}: {lines[-1] if lines else 'no output'}")

    def stop(self) -> bool:
        """Stop it; True when one was running."""
        try:
            pid = int(json.loads(self._state.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            return False
        self._state.unlink(missing_ok=True)
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        for _ in range(50):
            try:
                os.kill(pid, 0)
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            except ProcessLookupError:
                return True
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)
        return True
