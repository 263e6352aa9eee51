"""Where tripleo keeps its state: ``$TRIPLEO_HOME`` (default ``~/.local/share/tripleo``), mode 0700."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["tripleo_home"]


def tripleo_home(create: bool = True) -> Path:
    """The state directory (created 0700 on first use)."""
    home = Path(os.environ.get("TRIPLEO_HOME") or Path.home() / ".local" / "share" / "tripleo")
    if create:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return home
