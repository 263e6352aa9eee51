"""An unchanged re-deploy is recognised from the database and the files alone: without parsing a
template, and (on the default SQLite database) without importing SQLAlchemy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tripleo.resources.service import Options, StackService
from tripleo.resources.unchanged import quick_unchanged
from tripleo.storage import open_database

TEMPLATE = (
    "heat_template_version: wallaby\nresources:\n  V: {type: OS::Heat::Value, properties: {value: 1}}\n"
)
PROBE = """
import sys
from tripleo.cli.main import cli
sys.argv = ["tripleo", "stack", "update", "s", "-t", sys.argv[1], "--backend", "noop"]
try:
    cli()
except SystemExit:
    pass
print("sqlalchemy loaded" if "sqlalchemy" in sys.modules else "sqlalchemy not loaded")
print("engine loaded" if "tripleo.engine.stack" in sys.modules else "engine not loaded")
"""


def test_an_unchanged_update_needs_neither_the_engine_nor_sqlalchemy(home: Path, tmp_path: Path) -> None:
    template = tmp_path / "t.yaml"
    template.write_text(TEMPLATE)
    StackService(open_database()).create("s", str(template), [], {}, Options(backend="noop"))
    assert quick_unchanged("s", str(template), [], {}, "noop")
    assert not quick_unchanged("s", str(template), [], {"x": "1"}, "noop")
    assert not quick_unchanged("other", str(template), [], {}, "noop")
    env = {**os.environ, "TRIPLEO_HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", PROBE, str(template)], env=env, capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    assert "UPDATE_COMPLETE (no changes" in out
    assert "sqlalchemy not loaded" in out and "engine not loaded" in out
    template.write_text(TEMPLATE.replace("value: 1", "value: 2"))
    assert not quick_unchanged("s", str(template), [], {}, "noop")
    out = subprocess.run([sys.executable, "-c", PROBE, str(template)], env=env, capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    assert "1 updated in place" in out
