"""Acceptance 1 and 4 against sushy-tools' Redfish emulator (fake driver, 3 systems) on both backends."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from metalkit import PASSWORD, SYSTEMS, USER, Emulator, tripleo_env

TRIPLEO = str(Path(sys.executable).with_name("tripleo"))
pytestmark = pytest.mark.slow


def instackenv(emulator: Emulator, path: Path, password: str = PASSWORD, **override: Any) -> Path:
    nodes = []
    for i, system in enumerate(SYSTEMS):
        nodes.append(
            {
                "name": system["name"],
                "pm_type": "redfish",
                "pm_addr": emulator.url,
                "pm_user": USER,
                "pm_password": password,
                "pm_system_id": f"/redfish/v1/Systems/{system['uuid']}",
                "mac": [system["nics"][0]["mac"]],
                "cpu": 4,
                "memory": 6144,
                "disk": 50,
                "arch": "x86_64",
                "capabilities": f"profile:{'control' if i == 0 else 'compute'},boot_option:local",
                **override.get(system["name"], {}),
            }
        )
    path.write_text(json.dumps({"nodes": nodes}))
    return path


def tripleo(
    env: dict[str, str], *args: str, code: int = 0, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([TRIPLEO, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == code, (
        f"tripleo {' '.join(args)} -> {proc.returncode}: {proc.stdout}{proc.stderr}"
    )
    return proc


def nodes_json(env: dict[str, str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(tripleo(env, "baremetal", "node", "list", "-f", "json").stdout)
    return rows


def test_import_manage_power_inspect_provide_list(emulator: Emulator, home: Path, db_url: str) -> None:
    env = tripleo_env(home, db_url)
    path = instackenv(emulator, home / "instackenv.json")
    out = tripleo(env, "overcloud", "node", "import", str(path)).stdout.splitlines()
    assert out == [
        f"{path}: 3 nodes enrolled, 0 updated",
        "rf-0: manageable",
        "rf-1: manageable",
        "rf-2: manageable",
    ]
    # power on and off through Redfish, the emulator's own state agrees (its changes take 1-11 s)
    assert tripleo(env, "baremetal", "node", "power", "on", "rf-1").stdout.strip() == "rf-1: power on"
    assert emulator.power_state(1) == "On"
    assert tripleo(env, "baremetal", "node", "power", "off", "rf-1").stdout.strip() == "rf-1: power off"
    assert emulator.power_state(1) == "Off"
    out = tripleo(env, "overcloud", "node", "introspect", "--all-manageable", "--provide").stdout.splitlines()
    kept = "not inspected, imported values kept: cpus, memory_mb, local_gb, cpu_arch"
    assert out == [
        f"rf-{i}: available (cpus 4, memory_mb 6144, local_gb 50, cpu_arch x86_64, 2 ports); {kept}"
        for i in range(3)
    ]
    rows = nodes_json(env)
    assert [(r["name"], r["provision_state"], r["power_state"], r["profile"]) for r in rows] == [
        ("rf-0", "available", "power off", "control"),
        ("rf-1", "available", "power off", "compute"),
        ("rf-2", "available", "power off", "compute"),
    ]
    shown = json.loads(tripleo(env, "baremetal", "node", "show", "rf-2", "-f", "json").stdout)
    assert shown["ports"] == ["52:54:00:7f:00:20", "52:54:00:7f:00:21"]  # the second NIC found by inspection
    assert shown["properties"]["capabilities"] == "boot_mode:uefi,boot_option:local,profile:compute"
    assert shown["extra"]["inspection"]["not_inspected"] == ["cpus", "memory_mb", "local_gb", "cpu_arch"]
    assert shown["driver_info"]["pm_password"] == "******"
    assert PASSWORD not in json.dumps(shown)


def test_wrong_password_and_unreachable_bmc_fail_validation_and_change_nothing(
    emulator: Emulator, home: Path, db_url: str
) -> None:
    env = tripleo_env(home, db_url)
    path = instackenv(
        emulator,
        home / "instackenv.json",
        **{"rf-1": {"pm_password": "bad-pw-7x"}, "rf-2": {"pm_addr": "http://127.0.0.1:1"}},
    )
    proc = tripleo(env, "overcloud", "node", "import", "--validate-only", str(path), code=2)
    assert proc.stderr.splitlines() == [
        f"ERROR: {path}: nodes.1.pm_addr: BMC unreachable: Redfish BMC {emulator.url}: power state: "
        "access denied (check pm_user/pm_password)",
        f"ERROR: {path}: nodes.2.pm_addr: BMC unreachable: Redfish BMC http://127.0.0.1:1: power state: "
        "no answer (check pm_addr and pm_port)",
    ]
    assert "bad-pw-7x" not in proc.stderr and PASSWORD not in proc.stderr
    tripleo(env, "overcloud", "node", "import", str(path), code=2)
    assert nodes_json(env) == []


def _states(db_url: str) -> tuple[dict[str, str], int]:
    engine = sqlalchemy.create_engine(db_url)
    try:
        with engine.connect() as conn:
            nodes = dict(conn.execute(sqlalchemy.text("SELECT name, provision_state FROM nodes")).all())
            locks = conn.execute(sqlalchemy.text("SELECT count(*) FROM locks")).scalar_one()
    finally:
        engine.dispose()
    return {str(k): str(v) for k, v in nodes.items()}, int(locks)


def test_sigkill_mid_introspect_then_rerun_ends_all_available_and_unlocked(
    emulator: Emulator, home: Path, db_url: str
) -> None:
    env = tripleo_env(home, db_url)
    for i in range(3):  # powered on, so cleaning has to wait 1-11 s for each power off
        emulator.reset(i, "On")
    deadline = time.monotonic() + 30
    while any(emulator.power_state(i) != "On" for i in range(3)):
        assert time.monotonic() < deadline, "emulator systems did not power on"
        time.sleep(0.5)
    tripleo(env, "overcloud", "node", "import", str(instackenv(emulator, home / "instackenv.json")))
    run = subprocess.Popen(
        [TRIPLEO, "overcloud", "node", "introspect", "--all-manageable", "--provide"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while "cleaning" not in _states(db_url)[0].values():
            assert run.poll() is None, "introspect finished before it could be killed"
            assert time.monotonic() < deadline, "no node reached cleaning"
            time.sleep(0.05)
        run.send_signal(signal.SIGKILL)
    finally:
        run.kill()
        run.wait()
    states, locks = _states(db_url)
    assert "cleaning" in states.values() and locks >= 1  # left behind by the dead process
    proc = tripleo(env, "overcloud", "node", "introspect", "--all-manageable", "--provide")
    assert len(proc.stdout.splitlines()) == len([s for s in states.values() if s != "available"])
    states, locks = _states(db_url)
    assert states == {"rf-0": "available", "rf-1": "available", "rf-2": "available"}
    assert locks == 0
    assert [emulator.power_state(i) for i in range(3)] == ["Off", "Off", "Off"]
