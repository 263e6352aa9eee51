"""Helpers for the bare-metal functional tests: the emulator's systems and a handle on it, the CLI's env."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import requests

EMULATOR = Path(sys.executable).with_name("sushy-emulator")
USER, PASSWORD = "admin", "redfish-pw"
SYSTEMS = [
    {
        "uuid": f"5e1f0000-0000-4000-8000-00000000000{i}",
        "name": f"rf-{i}",
        "power_state": "Off",
        "nics": [{"mac": f"52:54:00:7f:00:{i}0", "ip": f"10.9.0.{i}"}, {"mac": f"52:54:00:7f:00:{i}1"}],
    }
    for i in range(3)
]


class Emulator:
    """A running sushy-emulator: its URL and a few direct Redfish calls (for set-up and checks)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.auth = (USER, PASSWORD)

    def system_url(self, index: int) -> str:
        return f"{self.url}/redfish/v1/Systems/{SYSTEMS[index]['uuid']}"

    def power_state(self, index: int) -> str:
        state: str = requests.get(self.system_url(index), auth=self.auth, timeout=10).json()["PowerState"]
        return state

    def reset(self, index: int, reset_type: str) -> None:
        target = f"{self.system_url(index)}/Actions/ComputerSystem.Reset"
        response = requests.post(target, json={"ResetType": reset_type}, auth=self.auth, timeout=10)
        assert response.status_code < 300, response.text


def tripleo_env(home: Path, db_url: str) -> dict[str, str]:
    return {**os.environ, "TRIPLEO_HOME": str(home), "TRIPLEO_DB_URL": db_url}
