"""The undercloud's image registry: Debian's ``docker-registry`` (the distribution registry, API v2), as
TripleO's undercloud serves images on its ctlplane address, port 8787.

``tripleo container registry start --bind ADDRESS:PORT`` writes the registry's config under
``$TRIPLEO_HOME/registry/`` (storage beside it, kept across restarts), starts it in the background (its
log beside it) and returns once ``GET /v2/`` answers. Nodes pull over plain HTTP (their registries.conf
lists the address as insecure), as the undercloud registry is reached only on the provisioning network.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tripleo.errors import InputError, OperationError

__all__ = ["Registry", "parse_bind"]

_BINARY = "docker-registry"
_CONFIG = """\
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: {data}
  delete:
    enabled: true
http:
  addr: {bind}
"""


def parse_bind(value: str) -> tuple[str, int]:
    """``ADDRESS:PORT`` as the registry binds it.

    :raises InputError: not an IPv4 address with a port.
    """
    host, _, port = value.rpartition(":")
    parts = host.split(".")
    if not (len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts) and port.isdigit()
            and 0 < int(port) < 65536):  # fmt: skip
        raise InputError(f"expected ADDRESS:PORT (an IPv4 address and a port), got {value!r}", path="--bind")
    return host, int(port)


@dataclass
class Registry:
    directory: Path

    @classmethod
    def of(cls, home: Path) -> Registry:
        return cls(home / "registry")

    @property
    def _state(self) -> Path:
        return self.directory / "state.json"

    def address(self) -> str | None:
        """``ADDRESS:PORT`` of the running registry, or None when it is not running."""
        try:
            state = json.loads(self._state.read_text())
            os.kill(int(state["pid"]), 0)
        except (OSError, ValueError, KeyError):
            return None
        return str(state["bind"])

    def answers(self, bind: str, timeout: float = 2.0) -> bool:
        try:
            with urllib.request.urlopen(f"http://{bind}/v2/", timeout=timeout) as answer:
                return bool(answer.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def start(self, bind: str) -> str:
        """Start the registry on ``bind`` (a no-op when it already runs there); returns the address.

        :raises InputError: it runs on another address (stop it first).
        :raises OperationError: it did not answer within 30 s (its log's last line).
        """
        parse_bind(bind)
        running = self.address()
        if running == bind and self.answers(bind):
            return bind
        if running is not None:
            raise InputError(f"the registry runs on {running}: stop it first", path="--bind")
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = self.directory / "data"
        data.mkdir(exist_ok=True)
        config = self.directory / "config.yml"
        config.write_text(_CONFIG.format(data=data, bind=bind))
        log = (self.directory / "registry.log").open("a")
        try:
            proc = subprocess.Popen([_BINARY, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        except FileNotFoundError as exc:
            raise OperationError(f"{_BINARY} is not installed (scripts/debian-packages installs it)") from exc
        finally:
            log.close()
        scratch = self._state.with_suffix(".tmp")
        scratch.write_text(json.dumps({"pid": proc.pid, "bind": bind}))
        scratch.replace(self._state)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if self.answers(bind):
                return bind
            time.sleep(0.2)
        self.stop()
        lines = (self.directory / "registry.log").read_text(errors="replace").strip().splitlines()
        raise OperationError(f"the registry did not start on {bind}: {lines[-1] if lines else 'no output'}")

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

    def has(self, bind: str, repository: str, tag: str) -> bool:
        """Whether the registry at ``bind`` holds ``repository:tag``."""
        try:
            with urllib.request.urlopen(f"http://{bind}/v2/{repository}/tags/list", timeout=5) as answer:
                return tag in (json.loads(answer.read()).get("tags") or [])
        except (OSError, ValueError, urllib.error.URLError):
            return False
