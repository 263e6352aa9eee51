"""Where tripleo keeps its state: ``$TRIPLEO_HOME`` (default ``~/.local/share/tripleo``), mode 0700."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["database_file", "tripleo_home", "write_private_text"]


def tripleo_home(create: bool = True) -> Path:
    """The state directory (created 0700 on first use)."""
    home = Path(os.environ.get("TRIPLEO_HOME") or Path.home() / ".local" / "share" / "tripleo")
    if create:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return home


def database_file(create: bool = True) -> Path | None:
    """The SQLite file holding the state (``$TRIPLEO_HOME/tripleo.sqlite``), or None when TRIPLEO_DB_URL
    names another database."""
    if os.environ.get("TRIPLEO_DB_URL"):
        return None
    return tripleo_home(create) / "tripleo.sqlite"


def write_private_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only: 0600 from creation on (the file may hold
    passwords), through a scratch file renamed into place, so a crash leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)
