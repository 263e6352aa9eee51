"""The node commands end to end in-process (fake machines): output formats, one line per problem, exits."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from bmkit import fake_node
from click.testing import CliRunner, Result

from tripleo.baremetal.drivers import FakeMachine, FakeMachines
from tripleo.cli.main import cli
from tripleo.storage import Database, LockRow


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, machines: FakeMachines) -> Any:
    monkeypatch.setenv("TRIPLEO_DB_URL", db_url)
    monkeypatch.setenv("TRIPLEO_HOME", str(tmp_path / "home"))

    def _run(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return _run


def write_nodes(tmp_path: Path, *entries: dict[str, Any]) -> str:
    path = tmp_path / "instackenv.json"
    path.write_text(json.dumps({"nodes": list(entries)}))
    return str(path)


def three(machines: FakeMachines, tmp_path: Path) -> str:
    for name in ("node-0", "node-1", "node-2"):
        machines.add(name, FakeMachine())
    return write_nodes(
        tmp_path,
        fake_node("node-0", "control", 0),
        fake_node("node-1", "compute", 1),
        fake_node("node-2", "compute", 2),
    )


def test_import_with_problems_prints_one_line_each_and_changes_nothing(
    run: Any, tmp_path: Path, machines: FakeMachines
) -> None:
    machines.add("node-0", FakeMachine())
    bad = {**fake_node("node-1", mac_index=0), "cpu": "many"}
    path = write_nodes(tmp_path, fake_node("node-0"), bad, fake_node("node-0", mac_index=2))
    result = run("overcloud", "node", "import", path)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"ERROR: {path}: nodes.1.cpu: expected an integer from 1 to 4096, got 'many'",
        f"ERROR: {path}: nodes.2.name: duplicate name 'node-0' (also nodes.0)",
        f"ERROR: {path}: nodes.2.pm_addr: duplicate BMC node-0 (also nodes.0)",
    ]
    assert json.loads(run("baremetal", "node", "list", "-f", "json").stdout) == []


def test_validate_only_checks_every_bmc_and_enrolls_nothing(
    run: Any, tmp_path: Path, machines: FakeMachines
) -> None:
    path = three(machines, tmp_path)
    del machines.machines["node-2"]
    machines.machines["node-1"].password = "another"
    result = run("overcloud", "node", "import", "--validate-only", path)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"ERROR: {path}: nodes.1.pm_addr: BMC unreachable: fake BMC node-1: power: access denied "
        "(check pm_user/pm_password)",
        f"ERROR: {path}: nodes.2.pm_addr: BMC unreachable: fake BMC node-2: power: no answer "
        "(check pm_addr and pm_port)",
    ]
    path = three(machines, tmp_path)
    result = run("overcloud", "node", "import", "--validate-only", path)
    assert (result.exit_code, result.stdout.strip()) == (
        0,
        f"{path}: 3 nodes are valid and their BMCs answer",
    )
    assert json.loads(run("baremetal", "node", "list", "-f", "json").stdout) == []


def test_import_provide_list_show_power_delete(run: Any, tmp_path: Path, machines: FakeMachines) -> None:
    path = three(machines, tmp_path)
    result = run("overcloud", "node", "import", "--provide", path)
    assert result.exit_code == 0, result.stdout
    assert result.stdout.splitlines() == [
        f"{path}: 3 nodes enrolled, 0 updated",
        "node-0: available",
        "node-1: available",
        "node-2: available",
    ]
    rows = json.loads(run("baremetal", "node", "list", "-f", "json").stdout)
    assert [(r["name"], r["provision_state"], r["power_state"], r["profile"]) for r in rows] == [
        ("node-0", "available", "power off", "control"),
        ("node-1", "available", "power off", "compute"),
        ("node-2", "available", "power off", "compute"),
    ]
    value = run("baremetal", "node", "list", "-f", "value", "-c", "name", "-c", "provision_state").stdout
    assert value.splitlines() == ["node-0 available", "node-1 available", "node-2 available"]
    shown = run("baremetal", "node", "show", "node-1", "-f", "json").stdout
    assert json.loads(shown)["driver_info"]["pm_password"] == "******"
    assert "s3cret-pw" not in shown and "s3cret-pw" not in run("baremetal", "node", "show", "node-1").stdout
    assert run("baremetal", "node", "power", "on", "node-1").stdout.strip() == "node-1: power on"
    assert machines.machines["node-1"].power == "power on"
    assert run("baremetal", "node", "power", "off", "node-1").stdout.strip() == "node-1: power off"
    assert run("baremetal", "node", "maintenance", "set", "node-0", "--reason", "disk").stdout == (
        "node-0: maintenance on\n"
    )
    assert (
        json.loads(run("baremetal", "node", "show", "node-0", "-f", "json").stdout)["maintenance_reason"]
        == "disk"
    )
    assert run("baremetal", "node", "maintenance", "unset", "node-0").stdout == "node-0: maintenance off\n"
    result = run("overcloud", "node", "delete", "node-2", "nope")
    assert result.exit_code == 1
    assert result.stdout.strip() == "node-2: deleted"
    assert result.stderr.strip() == "ERROR: no node named or with UUID 'nope'"
    again = run("overcloud", "node", "import", path)
    assert again.stdout.splitlines()[0] == f"{path}: 1 nodes enrolled, 2 updated"


def test_introspect_reports_what_was_not_inspected_and_usage_errors(
    run: Any, tmp_path: Path, machines: FakeMachines
) -> None:
    path = three(machines, tmp_path)
    assert run("overcloud", "node", "import", path).exit_code == 0
    result = run("overcloud", "node", "introspect", "node-0")
    assert result.stdout.strip() == (
        "node-0: manageable (cpus 2, memory_mb 4096, local_gb 20, cpu_arch x86_64, 1 ports); "
        "not inspected, imported values kept: cpus, memory_mb, local_gb, cpu_arch, macs"
    )
    both = run("overcloud", "node", "introspect", "--all-manageable", "node-0")
    assert (both.exit_code, both.stderr.strip()) == (
        2,
        "ERROR: name NODEs or give --all-manageable (not both)",
    )
    result = run("overcloud", "node", "introspect", "--all-manageable", "--provide")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["node-0", "node-1", "node-2"]
    assert all(": available (cpus 2, memory_mb 4096," in line for line in lines), lines
    assert run("overcloud", "node", "introspect", "--all-manageable").stdout.strip() == "no manageable nodes"


def test_a_locked_node_is_one_error_line_and_exit_1(
    run: Any, tmp_path: Path, machines: FakeMachines, db_url: str
) -> None:
    path = three(machines, tmp_path)
    run("overcloud", "node", "import", path)
    node_uuid = json.loads(run("baremetal", "node", "show", "node-0", "-f", "json").stdout)["uuid"]
    db = Database(db_url)
    with db.transaction() as session:  # held by a process on another host: taken as alive
        session.add(
            LockRow(
                name=f"node:{node_uuid}",
                host="other-host",
                pid=4242,
                started="1",
                purpose="deploy overcloud-controller-0",
                acquired_at=dt.datetime.now(dt.UTC),
            )
        )
    db.dispose()
    result = run("baremetal", "node", "power", "on", "node-0")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "ERROR: node node-0 is locked by deploy overcloud-controller-0 (pid 4242 on other-host)"
    )
    assert machines.machines["node-0"].power == "power off"


def test_profiles_list_and_match(run: Any, tmp_path: Path, machines: FakeMachines) -> None:
    path = three(machines, tmp_path)
    run("overcloud", "node", "import", "--provide", path)
    rows = json.loads(run("overcloud", "profiles", "list", "-f", "json").stdout)
    assert [(r["name"], r["current_profile"], r["possible_profiles"]) for r in rows] == [
        ("node-0", "control", []),
        ("node-1", "compute", []),
        ("node-2", "compute", []),
    ]
    result = run(
        "overcloud", "profiles", "match", "--control-scale", "1", "--compute-scale", "2", "-f", "value"
    )
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "Controller node-0 control has profile:control",
        "Compute node-1 compute has profile:compute",
        "Compute node-2 compute has profile:compute",
    ]
    short = run("overcloud", "profiles", "match", "--role", "Controller=1", "--role", "Compute=3")
    assert short.exit_code == 1
    assert short.stderr.splitlines() == [
        "ERROR: Compute needs 3 nodes with profile:compute, found 2 (node-1, node-2); the others lack it: "
        "node-0 went to Controller"
    ]
