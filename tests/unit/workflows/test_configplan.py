"""The config plan's pieces: --limit names, the per-host lines, and the dry run's masked diffs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tripleo.config import Host
from tripleo.config.digests import HostPlan
from tripleo.errors import UsageError
from tripleo.workflows.configplan import describe, host_diff, plan_rows, selected

HOSTS = [Host("controller-0.lab", "Controller", "node-0", "192.168.24.10"),
         Host("compute-0.lab", "Compute", "node-1", "192.168.24.11")]  # fmt: skip


def test_limit_takes_names_short_names_and_nodes() -> None:
    assert selected(HOSTS, []) == HOSTS
    assert selected(HOSTS, ["compute-0"]) == [HOSTS[1]]
    assert selected(HOSTS, ["node-0", "compute-0.lab"]) == HOSTS
    with pytest.raises(
        UsageError, match=r"--limit compute-9: no such host in the stack \(hosts: controller-0"
    ):
        selected(HOSTS, ["compute-9"])


def test_each_host_line_says_what_runs_why_and_what_is_skipped() -> None:
    digests = {"network": "n", "step1": "a", "step3": "c"}
    plans = {
        "controller-0.lab": HostPlan(
            "controller-0.lab", digests, dict(digests), ["step3"], {"step3": "changed"}
        ),
        "compute-0.lab": HostPlan("compute-0.lab", digests, dict(digests)),
    }
    assert describe(plans) == [
        "controller-0.lab: run step3 (changed); skip network, step1",
        "compute-0.lab: nothing to run",
    ]
    rows = plan_rows(plans)
    assert {(r["host"], r["unit"]) for r in rows if r["action"] == "run"} == {("controller-0.lab", "step3")}
    assert {r["reason"] for r in rows if r["action"] == "skip"} == {"unchanged"}


def test_the_diff_masks_every_secret(tmp_path: Path) -> None:
    for project, value, secret in (("old", 3600, "s3cr3t-old-value"), ("new", 7200, "s3cr3t-new-value")):
        data = tmp_path / project / "hosts" / "h" / "hieradata"
        data.mkdir(parents=True)
        (data / "service_configs.json").write_text(f'{{\n  "expiration": {value},\n  "pw": "{secret}"\n}}\n')
    text = host_diff(tmp_path / "old", tmp_path / "new", "h", ["s3cr3t-old-value", "s3cr3t-new-value"])
    assert '-  "expiration": 3600,' in text and '+  "expiration": 7200,' in text
    assert "s3cr3t" not in text and '"pw": "******"' in text
    assert text.startswith("--- a/h/hieradata/service_configs.json\n+++ b/h/hieradata/service_configs.json")
