"""Helpers for the bare-metal unit tests: a fake clock and instackenv entries for fake machines."""

from __future__ import annotations

import subprocess
import sys
from typing import Any


class FakeClock:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1


def fake_node(name: str, profile: str | None = None, mac_index: int = 0, **extra: Any) -> dict[str, Any]:
    """An instackenv entry for a fake machine named like the node."""
    entry: dict[str, Any] = {
        "name": name,
        "pm_type": "fake",
        "pm_addr": name,
        "pm_password": "s3cret-pw",
        "mac": [f"52:54:00:00:00:{mac_index:02x}"],
        "cpu": 2,
        "memory": 4096,
        "disk": 20,
        "arch": "x86_64",
    }
    if profile:
        entry["capabilities"] = f"profile:{profile},boot_option:local"
    entry.update(extra)
    return entry


def die_holding_lock(db_url: str, node_uuid: str, purpose: str) -> None:
    """A real process takes the node's lock and dies without releasing it (a SIGKILL'd command)."""
    script = (
        "import os, sys\n"
        "from tripleo.storage import Database, acquire\n"
        "acquire(Database(sys.argv[1]), [sys.argv[2]], sys.argv[3])\n"
        "os._exit(0)  # dies holding the lock\n"
    )
    subprocess.run([sys.executable, "-c", script, db_url, f"node:{node_uuid}", purpose], check=True)
