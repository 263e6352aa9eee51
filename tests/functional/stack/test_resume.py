"""Issue 4, acceptance 4: SIGKILL during create, then create again: it completes, nothing is made twice."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from tripleo.storage import open_database
from tripleo.storage.stack_models import EventRow, ResourceRow


def _count(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar() or 0)
    except Exception:
        return 0
    finally:
        engine.dispose()


def test_sigkill_mid_create_then_resume(shared: Path, home: Path) -> None:
    cwd = shared / "bench" / "heat-shaped"
    args = ["-t", "overcloud.yaml", "-e", "env.yaml", "--parameter", "ComputeCount=50", "--backend", "noop"]
    cmd = [str(Path(sys.executable).parent / "tripleo"), "stack", "create", "hs", *args, "--workers", "4"]
    env = {**os.environ, "TRIPLEO_ACTION_DELAY": "0.01"}
    url = f"sqlite:///{home / 'tripleo.sqlite'}"
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        done = _count(url, "select count(*) from stack_events where status = 'COMPLETE'")
        if done >= 60:
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"create finished before it could be killed: {proc.communicate()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert done >= 60

    db = open_database()
    with db.transaction() as session:
        before = {r.path: r.physical_id for r in session.query(ResourceRow) if r.status == "COMPLETE"}
        unfinished = [r.path for r in session.query(ResourceRow) if r.status != "COMPLETE"]
    assert before and unfinished, "the kill must land mid-run"

    again = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "CREATE_COMPLETE" in again.stdout
    with db.transaction() as session:
        rows = list(session.query(ResourceRow))
        assert all(r.status == "COMPLETE" for r in rows)
        after = {r.path: r.physical_id for r in rows}
        completions = collections.Counter(
            e.path for e in session.query(EventRow) if e.status == "COMPLETE" and e.action == "CREATE"
        )
    # what completed before the kill was kept as it was, and every resource completed exactly once
    assert {p: after[p] for p in before} == before
    assert set(completions) == set(after)
    assert max(completions.values()) == 1
    # 50 computes x 7 + the rest: every resource exists once
    assert len(after) == 1 + 40 + 1 + 1 + 50 * 7 + 1 + 1 + 50 + 1
