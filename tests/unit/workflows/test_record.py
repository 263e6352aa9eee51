"""The deploy record and lock: a second deploy is refused naming the holder; a killed deploy reads as
interrupted at the phase it was in."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tripleo.errors import OperationError
from tripleo.storage import Database, open_database
from tripleo.workflows.record import COMPLETE, FAILED, IN_PROGRESS, DeployRecord, deploy_lock, read

HOLDER = textwrap.dedent("""
    import sys, time
    from tripleo.storage import Database, open_database
    from tripleo.workflows.record import DeployRecord, deploy_lock
    db = open_database(sys.argv[1])
    with deploy_lock(db, "overcloud", "overcloud deploy of overcloud"):
        record = DeployRecord("overcloud")
        record.begin()
        record.enter(sys.argv[2])
        print("holding", flush=True)
        time.sleep(60)
""")


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("TRIPLEO_HOME", str(tmp_path))
    return open_database(f"sqlite:///{tmp_path / 'state.sqlite'}")


def _holder(db: Database, phase: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(db.url), phase], stdout=subprocess.PIPE,
                            text=True, env=os.environ.copy())  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    return proc


@pytest.mark.parametrize("phase", ["stack", "network", "step 1", "step 3", "step 5"])
def test_a_deploy_killed_in_any_phase_reads_as_interrupted_there(state: Database, phase: str) -> None:
    proc = _holder(state, phase)
    try:
        assert read(state, "overcloud")["status"] == IN_PROGRESS  # alive: still in progress
        with pytest.raises(OperationError) as caught, deploy_lock(state, "overcloud", "a second deploy"):
            pass
        assert f"overcloud deploy of overcloud (pid {proc.pid} on " in str(caught.value)
        assert "is running; wait for it to end" in str(caught.value)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    data = read(state, "overcloud")
    assert (data["status"], data["reason"]) == (FAILED, f"interrupted at {phase}")
    with deploy_lock(state, "overcloud", "the next deploy"):  # the dead holder's lock is stale
        record = DeployRecord("overcloud")
        record.begin()
        assert read(state, "overcloud")["status"] == IN_PROGRESS
        record.finish(COMPLETE, {"hosts": []})
    assert read(state, "overcloud")["status"] == COMPLETE


def test_the_record_keeps_the_last_hosts_while_a_deploy_runs(state: Database) -> None:
    first = DeployRecord("overcloud")
    first.begin()
    first.finish(COMPLETE, {"hosts": [{"name": "controller-0"}]})
    again = DeployRecord("overcloud")
    again.begin()
    again.enter("step 2")
    time.sleep(0)
    data = read(state, "overcloud")
    assert data["hosts"] == [{"name": "controller-0"}]
    assert (data["status"], data["reason"]) == (FAILED, "interrupted at step 2")  # no lock held here
