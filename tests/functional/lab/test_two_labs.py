"""Issue 10: two labs with different names up at once on one host, each with its own bridges, namespaces,
veths, nftables table, daemon, subnets and BMC ports; each node reachable on its own lab's ctlplane; `lab
down --name` removes only its own."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from labkit import RunningLab, lab_names, running_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    yield from running_lab(tmp_path_factory.mktemp("lab-ta"), "--nodes", "2", "--name", "ta")


@pytest.fixture(scope="module")
def second(first: RunningLab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    yield from running_lab(tmp_path_factory.mktemp("lab-tb"), "--nodes", "1", "--name", "tb")


def _netns(name: str) -> list[str]:
    return sorted(n.split()[0] for n in lab_names(name)["netns"])


def _config(lab: RunningLab) -> dict[str, object]:
    data: dict[str, object] = json.loads((lab.home / "lab" / "lab.json").read_text())["config"]
    return data


def _ctlplane(lab: RunningLab) -> str:
    config = _config(lab)
    networks = config["networks"]
    assert isinstance(networks, list)
    return str(next(n["cidr"] for n in networks if n["name"] == "ctlplane"))


def test_two_named_labs_run_side_by_side(first: RunningLab, second: RunningLab) -> None:
    a, b = _ctlplane(first), _ctlplane(second)
    assert a != b  # the second lab moved its subnets out of the first one's way
    ports = {n["pm_port"] for n in first.instackenv()["nodes"]} & {
        n["pm_port"] for n in second.instackenv()["nodes"]
    }
    assert not ports
    assert _netns("ta") == ["ta-node-0", "ta-node-1"] and _netns("tb") == ["tb-node-0"]
    assert lab_names("ta")["nft"] and lab_names("tb")["nft"]
    env = (second.home / "lab" / "network-environment.yaml").read_text()
    assert f"ControlPlaneNetCidr: {b}" in env
    # a node of each lab boots and answers on its own lab's ctlplane
    for lab, cidr in ((first, a), (second, b)):
        address = cidr.replace(".0/24", ".10")
        lab.provision("node-0", f"{address}/24")
        lab.power_on("node-0")
        lab.wait_ssh(address, timeout=20)
        assert lab.ssh(address, "hostname").stdout.strip() == "node-0.lab"
    # each lab's host firewall keeps its traffic in: from tb's node, ta's node is not reachable
    probe = second.node_sh(
        "node-0", f"ping -c1 -W1 {a.replace('.0/24', '.10')} >/dev/null; echo $?", check=False
    )
    assert probe.stdout.strip().splitlines()[-1] != "0"


def test_down_by_name_removes_only_its_own(first: RunningLab, second: RunningLab) -> None:
    out = second.cli("lab", "down", "--name", "tb").stdout
    assert "1 namespace(s)" in out
    assert lab_names("tb")["netns"] == [] and not lab_names("tb")["nft"]
    assert _netns("ta") == ["ta-node-0", "ta-node-1"]
    address = _ctlplane(first).replace(".0/24", ".10")
    assert first.ssh(address, "true").returncode == 0  # the other lab's node still answers
    daemons = subprocess.run(["pgrep", "-af", "tripleo.lab.daemon"], capture_output=True, text=True).stdout
    assert str(first.home / "lab") in daemons and str(second.home / "lab") not in daemons
    assert not Path(second.home / "lab").exists()
