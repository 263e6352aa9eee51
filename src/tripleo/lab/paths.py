"""Where the lab keeps its state: ``$TRIPLEO_HOME/lab`` (TRIPLEO_HOME defaults to ~/.local/share/tripleo)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LabPaths", "NodePaths", "tripleo_home", "write_private"]

# The directories a node gets its own copy of (its "disk"): an overlay over the host's directory, except
# /root, which is laid over /etc/skel so the host's /root (shell start-up, credentials) never shows
# inside a node.
DISK_DIRS = ("etc", "var", "root", "home", "opt", "srv")


def tripleo_home() -> Path:
    """``$TRIPLEO_HOME``, or ``~/.local/share/tripleo``."""
    env = os.environ.get("TRIPLEO_HOME")
    return Path(env) if env else Path.home() / ".local" / "share" / "tripleo"


@dataclass(frozen=True)
class NodePaths:
    """One node's files: its boot description, its disk (with the config drive) and its console log."""

    root: Path

    @property
    def boot(self) -> Path:
        return self.root / "boot.json"

    @property
    def disk(self) -> Path:
        return self.root / "disk"

    @property
    def config_drive(self) -> Path:
        return self.disk / "config-drive"

    @property
    def console_log(self) -> Path:
        return self.root / "console.log"

    @property
    def bmc_state(self) -> Path:
        return self.root / "bmc.json"

    @property
    def containers(self) -> Path:
        """Container storage: a plain directory on the node's disk, bind-mounted at /var/lib/containers
        (overlayfs, podman's driver, cannot sit on the node's overlay /var)."""
        return self.disk / "containers"

    def layer(self, name: str) -> tuple[Path, Path]:
        """The overlay upper and work directories of one disk directory (``etc``, ``var``, ...)."""
        return self.disk / name / "upper", self.disk / name / "work"


@dataclass(frozen=True)
class LabPaths:
    """The lab's state directory. Everything the lab writes lives below it; ``lab down`` removes it."""

    root: Path

    @classmethod
    def from_home(cls, home: Path | None = None) -> LabPaths:
        return cls((home if home is not None else tripleo_home()) / "lab")

    @property
    def state(self) -> Path:
        return self.root / "lab.json"

    @property
    def instackenv(self) -> Path:
        return self.root / "instackenv.json"

    @property
    def network_environment(self) -> Path:
        return self.root / "network-environment.yaml"

    @property
    def pidfile(self) -> Path:
        return self.root / "daemon.pid"

    @property
    def daemon_log(self) -> Path:
        return self.root / "daemon.log"

    @property
    def ssh_key(self) -> Path:
        return self.root / "id_ed25519"

    def node(self, name: str) -> NodePaths:
        return NodePaths(self.root / "nodes" / name)


def write_private(path: Path, data: Any) -> None:
    """Write JSON readable by root only (0600 from creation on: the file may hold BMC passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)
