"""Every Puppet manifest the project ships (and the test service's) parses: `puppet parser validate`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
MANIFESTS = sorted(
    [*(REPO / "templates" / "puppet").rglob("*.pp"), *(REPO / "tests" / "data" / "services").rglob("*.pp")]
)


def test_there_are_profiles_for_every_service_template() -> None:
    names = {p.stem for p in MANIFESTS}
    assert {"keystone", "api", "memcached", "mysql", "haproxy", "db", "base"} <= names


@pytest.mark.skipif(
    shutil.which("puppet") is None, reason="puppet is not installed (scripts/debian-packages)"
)
def test_every_manifest_parses() -> None:
    proc = subprocess.run(
        ["puppet", "parser", "validate", *map(str, MANIFESTS)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
