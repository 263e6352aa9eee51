"""Acceptance 2: every broken network environment in tests/data/netenv fails its check with a message that
names the network, role or node and the value at fault (``netenv validate`` exits 1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tripleo.cli.main import cli

CASES = Path(__file__).resolve().parents[2] / "data" / "netenv"


def _cases() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if (p / "case.yaml").is_file())


def test_there_are_at_least_25_broken_environments_covering_every_check() -> None:
    cases = [yaml.safe_load((p / "case.yaml").read_text()) for p in _cases()]
    assert len(cases) >= 25
    checks = {c["check"] for c in cases}
    assert checks >= {"cidr-overlap", "gateway", "allocation-pools", "pool-capacity", "vlan", "mtu", "vip",
                      "fixed-ips", "role-networks", "nic-config", "nic-networks", "isolation"}  # fmt: skip


def _run(args: list[str]) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["overcloud", "netenv", "validate", *args, "-f", "json"])
    stdout = result.stdout
    data = json.loads(stdout[: stdout.rindex("}") + 1]) if "{" in stdout else {}
    return result.exit_code, data, result.output


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_broken_environment_fails_naming_the_culprit(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = yaml.safe_load((case / "case.yaml").read_text())
    monkeypatch.chdir(case)
    code, data, output = _run(spec["args"])
    assert code == 1, output
    assert data["valid"] is False
    failed = [
        row["detail"] for row in data["checks"] if row["status"] == "FAIL" and row["check"] == spec["check"]
    ]
    assert any(all(text in detail for text in spec["expect"]) for detail in failed), (spec["expect"], failed)


def test_the_defaults_pass_and_the_firewall_closes_a_routed_path(tmp_path: Path) -> None:
    code, data, output = _run([])
    assert code == 0, output
    assert data["valid"] is True and all(row["status"] == "ok" for row in data["checks"])
    # the same extra route as isolation-route-without-firewall, firewall on: no forbidden flow
    case = CASES / "isolation-route-without-firewall"
    env = yaml.safe_load((case / "env.yaml").read_text())
    env["parameter_defaults"]["ManageFirewall"] = True
    env["parameter_defaults"]["ComputeNetworkConfigTemplate"] = str(case / "compute.j2.yaml")
    (tmp_path / "env.yaml").write_text(yaml.safe_dump(env))
    code, data, output = _run(["-e", str(tmp_path / "env.yaml")])
    assert code == 0, output
    cell = [m for m in data["matrix"] if m["source"] == "compute-0" and m["network"] == "External"]
    assert (
        cell and cell[0]["proof"] is False and "firewall drops 10.0.0.4 arriving on nic1" in cell[0]["reason"]
    )


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    code, _, output = _run(["-e", str(tmp_path / "missing.yaml")])
    assert code == 2 and "missing.yaml" in output and ("not found" in output or "cannot read" in output)
    (tmp_path / "bad.yaml").write_text("parameter_defaults: [1, 2\n")
    code, _, output = _run(["-e", str(tmp_path / "bad.yaml")])
    assert code == 2 and ("invalid YAML" in output or "malformed YAML" in output)
