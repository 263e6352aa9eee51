"""The undercloud's package cache: Debian's apt-cacher-ng, through which nodes install their packages.

``tripleo undercloud package-cache start --bind ADDRESS:PORT`` (the undercloud's ctlplane address; the
usual port is 3142) writes its configuration under ``$TRIPLEO_HOME/package-cache/`` (the cache beside it, kept
across restarts), starts it in the background and returns once it answers. Nodes use it as their apt proxy
(``Acquire::http::Proxy``), so they need no route off the control plane: it fetches each file once from the
undercloud's own mirror (plain HTTP, as apt's Debian sources are) and serves it from the cache afterwards.
Its transfer log says what came from the mirror and what from the cache (:meth:`PackageCache.traffic`).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from tripleo.config.background import Background, parse_bind
from tripleo.errors import InputError

__all__ = ["PackageCache", "Traffic"]

_BINARY = "apt-cacher-ng"
_MAX_PORT = 32767
# a plain HTTP proxy with apt-cacher-ng's own file patterns; nothing of /etc/apt-cacher-ng is read
_CONFIG = """\
CacheDir: {cache}
LogDir: {logs}
SocketPath: {socket}
BindAddress: {host}
Port: {port}
ForeGround: 1
"""


@dataclass(frozen=True)
class Traffic:
    """Bytes fetched from the mirror and bytes served to clients, from the cache's transfer log."""

    fetched: int
    served: int
    files: int  # distinct files served


@dataclass
class PackageCache:
    directory: Path

    @classmethod
    def of(cls, home: Path) -> PackageCache:
        return cls(home / "package-cache")

    @property
    def _server(self) -> Background:
        return Background(self.directory, "the package cache", "package-cache.log")

    def address(self) -> str | None:
        """``ADDRESS:PORT`` of the running cache, or None when it is not running."""
        return self._server.address()

    @staticmethod
    def answers(bind: str, timeout: float = 2.0) -> bool:
        """It accepts connections on ``bind`` (a request to apt-cacher-ng's own page would need a mirror)."""
        host, port = parse_bind(bind)
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return True
        except OSError:
            return False

    def start(self, bind: str) -> str:
        """Start the cache on ``bind`` (a no-op when it already runs there); returns the address.

        :raises InputError: a bad ``bind`` (apt-cacher-ng takes ports up to 32767), or it runs on another
            address (stop it first).
        :raises OperationError: apt-cacher-ng is missing or did not answer within 30 s (its log's last line).
        """
        host, port = parse_bind(bind)
        if port > _MAX_PORT:  # Debian 12's 3.7.4 fails "Error resolving address for binding" above it
            raise InputError(f"apt-cacher-ng binds ports up to {_MAX_PORT} only, got {port}", path="--bind")
        if self._server.running_on(bind, self.answers):
            return bind
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        for sub in ("cache", "logs", "conf"):
            (self.directory / sub).mkdir(exist_ok=True)
        (self.directory / "conf" / "acng.conf").write_text(_CONFIG.format(
            cache=self.directory / "cache", logs=self.directory / "logs", socket=self.directory / "socket",
            host=host, port=port))  # fmt: skip
        argv = [_BINARY, "-c", str(self.directory / "conf")]
        return self._server.launch(argv, bind, self.answers, _BINARY)

    def stop(self) -> bool:
        """Stop it (its cache stays); True when one was running."""
        return self._server.stop()

    def traffic(self) -> Traffic:
        """What the cache fetched and served so far (its transfer log: ``time|I or O|bytes|client|file``)."""
        fetched = served = 0
        files: set[str] = set()
        log = self.directory / "logs" / "apt-cacher.log"
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        for line in lines:
            parts = line.split("|")
            if len(parts) < 5 or not parts[2].isdigit():
                continue
            if parts[1] == "I":
                fetched += int(parts[2])
            elif parts[1] == "O":
                served += int(parts[2])
                files.add(parts[4])
        return Traffic(fetched, served, len(files))
