"""The node agent's boot check (tripleo.config.boot): which boot services do not run, from their status
commands (the lab's HA test powers a controller off and on for the start side)."""

from __future__ import annotations

import json
from pathlib import Path

from tripleo.config.boot import dead


def test_dead_lists_the_services_whose_status_fails(tmp_path: Path) -> None:
    boot = tmp_path / "boot-services.json"
    boot.write_text(json.dumps([
        {"name": "up", "status": "true"},
        {"name": "down", "status": "exit 3"},
        {"name": "no-such-init-script"},  # /etc/init.d/<name> status: not there, not running
        {"status": "true"},  # no name: not a boot service
    ]))  # fmt: skip
    assert dead(boot) == ["down", "no-such-init-script"]
    assert dead(tmp_path / "missing.json") == []
    boot.write_text("{not json")
    assert dead(boot) == []
