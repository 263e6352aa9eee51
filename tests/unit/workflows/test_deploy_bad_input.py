"""``overcloud deploy`` with bad input: one line naming the file or parameter, exit 2, nothing changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy

TRIPLEO = str(Path(sys.executable).with_name("tripleo"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-e", "/nonexistent/env.yaml"], "ERROR: ../../nonexistent/env.yaml: file"),
        (["--templates", "/nonexistent"], "ERROR: no overcloud.j2.yaml in --templates /nonexistent"),
        (
            ["--parameter", "ControllerCount=-1"],
            'ERROR: --parameter ControllerCount: value of "-1" must be',
        ),
        (["--parameter", "Nope=1"], "ERROR: --parameter Nope: The Parameter (Nope) was not defined"),
        (["--parameter", "Nope"], "ERROR: "),
        (
            ["--roles-file", "/nonexistent/roles.yaml"],
            "ERROR: /nonexistent/roles.yaml: cannot read roles data",
        ),
    ],
)
def test_bad_input_exits_2_and_changes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    env = {**os.environ, "TRIPLEO_HOME": str(tmp_path)}
    env.pop("TRIPLEO_DB_URL", None)
    proc = subprocess.run([TRIPLEO, "overcloud", "deploy", *args], env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and errors[0].startswith(message), proc.stderr
    database = tmp_path / "tripleo.sqlite"
    if database.exists():
        engine = sqlalchemy.create_engine(f"sqlite:///{database}")
        with engine.connect() as conn:
            for table in ("stacks", "net_networks", "net_ports"):
                assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == 0
        engine.dispose()
    assert not (tmp_path / "config-download").exists()
    assert not (tmp_path / "plans").exists()  # the plan is checked in a scratch directory first
