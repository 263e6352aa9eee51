"""``tripleo lab`` argument handling (no root needed: nothing reaches the host)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tripleo.cli.main import cli


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TRIPLEO_HOME", str(tmp_path))
    return CliRunner()


def test_lab_group_is_registered(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["lab", "--help"])
    assert result.exit_code == 0
    for command in ("up", "down", "status", "console", "provision", "wipe"):
        assert command in result.output


def test_config_and_nodes_exclude_each_other(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["lab", "up", "--config", str(tmp_path / "x.yaml"), "--nodes", "2"])
    assert result.exit_code == 2
    assert "exclude each other" in result.output


def test_a_bad_config_file_is_exit_2_with_its_path(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text("nodes:\n  - {name: n, cpus: -1}\n")
    result = runner.invoke(cli, ["lab", "up", "--config", str(path)])
    assert result.exit_code == 2
    assert f"ERROR: {path}: nodes.0.cpus: expected an integer" in result.output


def test_status_without_a_lab_is_exit_1(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["lab", "status"])
    assert result.exit_code == 1
    assert "no lab is up" in result.output


def test_provision_route_syntax(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["lab", "provision", "node-0", "--address", "192.168.24.10/24", "--route", "x"]
    )
    assert result.exit_code == 2
    assert "CIDR=GATEWAY" in result.output
