"""Acceptance 3, in the virtual lab: 1 controller + 2 computes (one NIC per network) get their rendered NIC
configs and firewall rules applied by the node-side applier; ``validate network`` then measures the proof's
matrix with real pings. A listener on the controller's InternalApi address is reachable through a host route
via its ctlplane address until the firewall is applied (the weak host model), and never after, while a
compute still reaches it on InternalApi.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from labkit import default_subnets_taken

from tripleo.lab import Lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

TRIPLEO = str(Path(sys.executable).with_name("tripleo"))
NODES = {"node-0": "Controller", "node-1": "Compute", "node-2": "Compute"}
PORT = 11211  # memcached: an InternalApi service of the Controller role


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "lab tests need root (network namespaces, bridges, nftables)"
    missing = [t for t in ("ip", "nft", "ping", "unshare") if shutil.which(t) is None]
    if missing:
        return f"lab tests need {', '.join(missing)} (Debian: iproute2 nftables iputils-ping util-linux)"
    return None


def sh(*argv: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, f"{' '.join(argv)}: {proc.stdout}{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``tripleo lab up --nodes 3`` in a TRIPLEO_HOME of its own; always torn down."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    if any(line.startswith("tl-") for line in sh("ip", "netns", "list").stdout.splitlines()):
        pytest.skip("a lab is already up on this host: run `tripleo lab down` first")
    holder = default_subnets_taken()
    if holder:
        pytest.skip(f"another lab holds the default lab's subnets (192.168.24.0/24 on {holder})")
    path = tmp_path_factory.mktemp("tripleo-home")
    try:
        proc = subprocess.run([TRIPLEO, "lab", "up", "--nodes", "3"], env=_env(path), capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        yield path
    finally:
        Lab(path).down()


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "TRIPLEO_HOME": str(home)}


def tripleo(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([TRIPLEO, *args], env=_env(home), capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, f"tripleo {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc


def apply(home: Path, node: str, firewall: bool = False) -> str:
    out = home / "network" / node
    argv = ["ip", "netns", "exec", f"tl-{node}", sys.executable, "-m", "tripleo.network.apply"]
    argv += [str(out / "network_config.json")]
    if firewall:
        argv += ["--firewall", str(out / "firewall.nft")]
    return sh(*argv).stdout


@pytest.fixture(scope="module")
def plan(home: Path) -> dict[str, Any]:
    """Render (IPAM in the home's database) and apply the NIC configs, no firewall yet."""
    args = [a for node, role in NODES.items() for a in ("--node", f"{node}={role}")]
    tripleo(home, "overcloud", "netenv", "render", "--lab", *args)
    for node in NODES:
        assert "network: no changes" not in apply(home, node)
    data: dict[str, Any] = json.loads((home / "network" / "network-plan.json").read_text())
    return data


def _addresses(node: str) -> dict[str, list[str]]:
    links = json.loads(sh("ip", "-n", f"tl-{node}", "-j", "addr", "show").stdout)
    return {
        link["ifname"]: [
            f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"] if a["scope"] == "global"
        ]
        for link in links
    }


def test_configs_are_applied_once_and_a_compute_has_no_external_address(
    plan: dict[str, Any], home: Path
) -> None:
    nodes = {n["name"]: n for n in plan["nodes"]}
    controller = _addresses("node-0")
    assert controller["eth1"] == [nodes["node-0"]["addresses"]["External"]]
    assert controller["eth2"] == [nodes["node-0"]["addresses"]["InternalApi"]]
    compute = _addresses("node-1")
    assert "External" not in nodes["node-1"]["addresses"]
    assert not any(a.startswith("10.0.0.") for addrs in compute.values() for a in addrs)
    assert compute["eth1"] == [nodes["node-1"]["addresses"]["InternalApi"]]
    for node in NODES:
        assert "network: no changes" in apply(home, node)  # idempotent: the second run changes nothing


def _connect(address: str, netns: str | None = None) -> bool:
    code = f"import socket; socket.create_connection(('{address}', {PORT}), timeout=2).close()"
    argv = [sys.executable, "-c", code]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    return subprocess.run(argv, capture_output=True, timeout=10).returncode == 0


@pytest.fixture
def listener(plan: dict[str, Any]) -> Iterator[str]:
    address = plan["nodes"][0]["addresses"]["InternalApi"].split("/")[0]
    code = (
        "import socket\n"
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('{address}', {PORT}))\n"
        "s.listen(16)\n"
        "while True:\n    c, _ = s.accept(); c.close()\n"
    )
    proc = subprocess.Popen(["ip", "netns", "exec", "tl-node-0", sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 10
        while not _connect(address, "tl-node-0"):
            assert time.monotonic() < deadline, "listener did not start"
            time.sleep(0.1)
        yield address
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def host_route(plan: dict[str, Any], listener: str) -> Iterator[str]:
    """The host routes the controller's InternalApi address via its ctlplane address (removed afterwards)."""
    via = plan["nodes"][0]["ctlplane"]
    sh("ip", "route", "add", f"{listener}/32", "via", via, "dev", "tl-ctlplane")
    try:
        yield listener
    finally:
        sh("ip", "route", "del", f"{listener}/32", "via", via, "dev", "tl-ctlplane", check=False)


def test_firewall_closes_the_weak_host_path(home: Path, host_route: str) -> None:
    assert _connect(host_route), "without the firewall the routed path reaches InternalApi (weak host model)"
    for node in NODES:
        assert "firewall: applied" in apply(home, node, firewall=True)
    assert "firewall: no changes" in apply(home, "node-0", firewall=True)
    assert not _connect(host_route), "the firewall must drop InternalApi traffic arriving on ctlplane"
    assert _connect(host_route, "tl-node-1"), "a compute reaches the listener on InternalApi"
    assert "table inet tripleo" in sh("ip", "netns", "exec", "tl-node-0", "nft", "list", "tables").stdout
    assert "tripleo" not in sh("nft", "list", "tables").stdout  # the host's own rules are untouched


def test_validate_network_measures_the_proof(home: Path, plan: dict[str, Any]) -> None:
    for node in NODES:
        apply(home, node, firewall=True)
    proc = tripleo(home, "overcloud", "validate", "network", "-f", "json")
    cells = json.loads(proc.stdout)
    assert len(cells) == len(plan["matrix"]) > 20
    assert all(c["match"] for c in cells)
    assert {c["network"] for c in cells if c["measured"]} >= {"ctlplane", "InternalApi", "Storage", "Tenant"}
    external = [c for c in cells if c["network"] == "External" and c["source"] != "node-0"]
    assert external and not any(c["measured"] or c["proof"] for c in external)
    # a flow the proof forbids and the lab allows is reported: exit 1 naming it
    broken = dict(
        plan, matrix=[dict(c, proof=not c["proof"]) if i == 0 else c for i, c in enumerate(plan["matrix"])]
    )
    path = home / "network" / "broken-plan.json"
    path.write_text(json.dumps(broken))
    proc = tripleo(home, "overcloud", "validate", "network", "--plan", str(path), check=False)
    first = plan["matrix"][0]
    assert proc.returncode == 1 and f"{first['source']} -> {first['target']}" in proc.stderr
