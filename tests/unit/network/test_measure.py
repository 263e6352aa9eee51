"""``validate network`` on fake nodes: each cell of the plan's matrix is one ping from its source node's
shell, and the measured matrix is paired with the proof."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tripleo.network.measure import measure, netns_probe, shell_probe, ssh_probe
from tripleo.nodeshell import FakeShell, Result, ShellTimeout

NODES = [{"name": "controller-0", "ctlplane": "192.168.24.10", "netns": "tl-node-0"},
         {"name": "compute-0", "ctlplane": "192.168.24.11", "netns": "tl-node-1"}]  # fmt: skip

# (source, target, network, address, proof, the ping the source runs, its exit code)
CELLS = [
    ("controller-0", "compute-0", "ctlplane", "192.168.24.11", True,
     "ping -4 -c 1 -W 1 -n -q 192.168.24.11", 0),
    ("controller-0", "compute-0", "InternalApi", "172.16.2.11", True,
     "ping -4 -c 1 -W 1 -n -q 172.16.2.11", 0),
    ("controller-0", "compute-0", "Storage", "fd00:fd00:fd00:3000::11", True,
     "ping -6 -c 1 -W 1 -n -q fd00:fd00:fd00:3000::11", 1),  # the proof says yes, the ping says no
    ("compute-0", "controller-0", "External", "10.0.0.10", False, "ping -4 -c 1 -W 1 -n -q 10.0.0.10", 0),
    ("compute-0", "controller-0", "Tenant", "172.16.0.10", False, "ping -4 -c 1 -W 1 -n -q 172.16.0.10", 1),
]  # fmt: skip

PLAN = {
    "nodes": NODES,
    "matrix": [
        {"source": s, "target": t, "network": n, "address": a, "proof": p} for s, t, n, a, p, _, _ in CELLS
    ],
}


def _shells() -> dict[str, FakeShell]:
    shells = {node["name"]: FakeShell(node["name"]) for node in NODES}
    for source, *_, ping, code in CELLS:
        shells[source].answers[ping] = Result(
            code, "", "" if code == 0 else "1 packets transmitted, 0 received"
        )
    return shells


def test_each_cell_is_one_ping_from_its_source_and_is_paired_with_the_proof() -> None:
    shells = _shells()
    results = measure(PLAN, shell_probe(lambda node: shells[node["name"]], 10), workers=4)
    got = [(m.source, m.network, m.proof, m.measured, m.match) for m in results]
    assert got == [(s, n, p, code == 0, p == (code == 0)) for s, _, n, _, p, _, code in CELLS]
    for name, shell in shells.items():
        assert sorted(shell.commands) == sorted(ping for source, *_, ping, _ in CELLS if source == name)
        assert {(call.stdin, call.timeout) for call in shell.calls} == {(None, 10)}  # the probe's timeout
    assert results[2].to_dict() == {
        "source": "controller-0", "target": "compute-0", "network": "Storage",
        "address": "fd00:fd00:fd00:3000::11", "proof": True, "measured": False, "match": False,
    }  # fmt: skip


def test_a_source_that_hangs_fails_the_measure_naming_it() -> None:
    shells = _shells()
    hang = ShellTimeout("compute-0", "ping", 10)
    shells["compute-0"].answers = dict.fromkeys(shells["compute-0"].answers, hang)

    def connect(node: Mapping[str, Any]) -> FakeShell:
        return shells[node["name"]]

    with pytest.raises(ShellTimeout, match=r"^compute-0: ping did not finish within 10 s$"):
        measure(PLAN, shell_probe(connect, 10))


@pytest.fixture
def clients(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``ssh`` and ``ip`` first on PATH that write their argv, one word a line, and answer 0; their log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("ssh", "ip"):
        (bin_dir / name).write_text(f'#!/bin/sh\nprintf \'%s\\n\' {name} "$@" >> "$ARGV_LOG"\n')
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("ARGV_LOG", str(tmp_path / "argv"))
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return tmp_path / "argv"


def test_the_lab_and_the_ssh_probes_run_these_clients(clients: Path) -> None:
    key = Path("/var/lib/tripleo/ssh/id_ed25519")
    assert ssh_probe(key)(NODES[0], "fd00:fd00:fd00:3000::11")
    assert clients.read_text().splitlines() == [
        "ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5", "root@192.168.24.10",
        "ping -6 -c 1 -W 1 -n -q fd00:fd00:fd00:3000::11",
    ]  # fmt: skip
    clients.unlink()
    assert netns_probe(NODES[1], "172.16.0.10")
    assert clients.read_text().splitlines() == [
        "ip", "netns", "exec", "tl-node-1", "ping", "-4", "-c", "1", "-W", "1", "-n", "-q", "172.16.0.10",
    ]  # fmt: skip
