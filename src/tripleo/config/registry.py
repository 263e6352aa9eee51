"""The undercloud's image registry: Debian's ``docker-registry`` (the distribution registry, API v2), as
TripleO's undercloud serves images on its ctlplane address, port 8787.

``tripleo container registry start --bind ADDRESS:PORT`` writes the registry's config under
``$TRIPLEO_HOME/registry/`` (storage beside it, kept across restarts), starts it in the background (its
log beside it) and returns once ``GET /v2/`` answers. Nodes pull over plain HTTP (their registries.conf
lists the address as insecure), as the undercloud registry is reached only on the provisioning network.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tripleo.config.background import Background, parse_bind

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


@dataclass
class Registry:
    directory: Path

    @classmethod
    def of(cls, home: Path) -> Registry:
        return cls(home / "registry")

    @property
    def _server(self) -> Background:
        return Background(self.directory, "the registry", "registry.log")

    def address(self) -> str | None:
        """``ADDRESS:PORT`` of the running registry, or None when it is not running."""
        return self._server.address()

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
        if self._server.running_on(bind, self.answers):
            return bind
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = self.directory / "data"
        data.mkdir(exist_ok=True)
        config = self.directory / "config.yml"
        config.write_text(_CONFIG.format(data=data, bind=bind))
        return self._server.launch([_BINARY, "serve", str(config)], bind, self.answers, _BINARY)

    def stop(self) -> bool:
        """Stop it; True when one was running."""
        return self._server.stop()

    def has(self, bind: str, repository: str, tag: str) -> bool:
        """Whether the registry at ``bind`` holds ``repository:tag``."""
        try:
            with urllib.request.urlopen(f"http://{bind}/v2/{repository}/tags/list", timeout=5) as answer:
                return tag in (json.loads(answer.read()).get("tags") or [])
        except (OSError, ValueError, urllib.error.URLError):
            return False
