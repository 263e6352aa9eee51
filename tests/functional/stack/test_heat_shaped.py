"""Issue 4, acceptance 1: ../shared/bench/heat-shaped: create, outputs, update, no-op update, delete."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

Run = Callable[..., Result]


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


@pytest.fixture
def shaped(shared: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(shared / "bench" / "heat-shaped")
    return ["-t", "overcloud.yaml", "-e", "env.yaml", "--backend", "noop", "--parameter", "ComputeCount=3"]


def _resources(tripleo: Run) -> dict[str, dict[str, str]]:
    rows = as_json(tripleo("stack", "resource", "list", "hs", "--nested-depth", "5", "-f", "json"))
    return {r["resource_name"]: r for r in rows}


def test_create_outputs_update_noop_delete(tripleo: Run, shaped: list[str]) -> None:
    out = tripleo("stack", "create", "hs", *shaped).output
    assert "CREATE_COMPLETE" in out
    outputs = as_json(tripleo("stack", "output", "show", "hs", "--all", "-f", "json"))
    assert outputs["hostnames"] == [f"compute-{i}.overcloud.example.com" for i in range(3)]
    assert outputs["first_host"] == "compute-0.overcloud.example.com"
    assert [d["service_name"] for d in outputs["role_data"]] == [
        f"overcloud-ServiceChain-{i}" for i in range(20)
    ]
    secrets = [d["config_settings"]["secret"] for d in outputs["role_data"]]
    assert all(len(s) == 16 for s in secrets) and len(set(secrets)) == 20
    before = _resources(tripleo)
    seen = len(as_json(tripleo("stack", "event", "list", "hs", "-f", "json")))
    # chain + 20 services x 2 + NetworkConfig + group + 3 x (node + 6) + AllNodesConfig
    # + deploy group + 3 members + its config
    assert len(before) == 1 + 20 * 2 + 1 + 1 + 3 * 7 + 1 + 1 + 3 + 1

    update = [*shaped, "--parameter", "CloudName=cloud.example.org"]
    plan = as_json(tripleo("stack", "update", "hs", *update, "--dry-run", "-f", "json"))
    planned = {row["resource"]: row["action"] for row in plan}
    out = tripleo("stack", "update", "hs", *update).output
    assert "UPDATE_COMPLETE" in out
    after = _resources(tripleo)
    changed = {p for p in after if after[p]["physical_resource_id"] != before[p]["physical_resource_id"]}
    events = as_json(tripleo("stack", "event", "list", "hs", "-f", "json"))[seen:]
    touched = {e["resource_name"] for e in events}
    for i in range(3):
        # the fqdn feeds HostData (in place), the script config (immutable: replaced) and its deployment
        assert f"Compute/{i}/HostData" in touched and f"Compute/{i}/HostData" not in changed
        assert f"Compute/{i}/HostConfig" in changed and f"Compute/{i}/HostDeployment" in changed
        # the server and the random suffix do not depend on CloudName: untouched
        assert f"Compute/{i}/Server" not in touched and f"Compute/{i}/Suffix" not in touched
    assert "ServiceChain/0/Secret" not in touched
    assert planned == {p: a for p, a in planned.items()}  # plan is well-formed
    assert {p for p, a in planned.items() if a == "replaced"} == changed
    new_outputs = as_json(tripleo("stack", "output", "show", "hs", "--all", "-f", "json"))
    assert new_outputs["first_host"] == "compute-0.cloud.example.org"
    assert [d["config_settings"]["secret"] for d in new_outputs["role_data"]] == secrets

    out = tripleo("stack", "update", "hs", *update).output
    assert "no changes" in out
    assert _resources(tripleo) == after

    tripleo("stack", "delete", "hs")
    assert "not found" in tripleo("stack", "show", "hs", code=2).stderr
    assert as_json(tripleo("stack", "list", "-f", "json")) == []


def test_scale_down_removes_highest_members(tripleo: Run, shaped: list[str]) -> None:
    tripleo("stack", "create", "hs", *shaped)
    args = [a if a != "ComputeCount=3" else "ComputeCount=1" for a in shaped]
    tripleo("stack", "update", "hs", *args)
    names = set(_resources(tripleo))
    assert "Compute/0/Server" in names and "Compute/1" not in names and "Compute/2/Server" not in names
    assert "AllNodesDeploy/1" not in names
    outputs = as_json(tripleo("stack", "output", "show", "hs", "--all", "-f", "json"))
    assert outputs["hostnames"] == ["compute-0.overcloud.example.com"]


def test_second_operation_on_a_locked_stack_is_refused(tripleo: Run, shaped: list[str], home: Path) -> None:
    from tripleo.storage import acquire, open_database, release

    db = open_database()
    acquire(db, ["stack:hs"], "stack create")
    try:
        # held by this very process: simulate another live owner (pid 1)
        from tripleo.storage.locks import LockRow, _start_time

        with db.transaction() as session:
            row = session.get(LockRow, "stack:hs")
            assert row is not None
            row.pid, row.started = 1, _start_time(1) or "?"
        err = tripleo("stack", "create", "hs", *shaped, code=1).stderr
        assert "stack:hs is locked by stack create (pid 1" in err
    finally:
        with db.transaction() as session:
            session.query(LockRow).delete()
        release(db, ["stack:hs"])
    assert os.environ["TRIPLEO_HOME"] == str(home)
