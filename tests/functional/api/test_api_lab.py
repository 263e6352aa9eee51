"""Acceptance 1 (Bare Metal) on the virtual lab's nodes: ``openstack baremetal node list/show/power on/power
off/manage/provide`` through ``tripleo undercloud serve`` drive the lab's IPMI BMCs (lab ``ta``, 2 nodes)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from apikit import Undercloud, serve_process

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from labkit import RunningLab, running_lab, wait_until

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    yield from running_lab(tmp_path_factory.mktemp("api-lab-home"), "--nodes", "2", "--name", "ta")


@pytest.fixture(scope="module")
def cloud(lab: RunningLab) -> Iterator[Undercloud]:
    lab.cli("overcloud", "node", "import", str(lab.home / "lab" / "instackenv.json"))
    with serve_process(lab.home) as running:
        yield running


def _power(lab: RunningLab, node: str) -> str:
    return lab.ipmitool(node, "power", "status").strip()


def test_lab_nodes_through_the_bare_metal_api(lab: RunningLab, cloud: Undercloud) -> None:
    names = [n["name"] for n in lab.instackenv()["nodes"]]
    listed = {n["name"]: n for n in cloud.openstack_json("baremetal", "node", "list")}
    assert set(listed) == set(names) and len(names) == 2
    node = names[0]
    shown = cloud.openstack_json("baremetal", "node", "show", node)
    assert shown["driver"] == "lab" and shown["provision_state"] in ("enroll", "manageable")
    assert all(v == "******" for k, v in shown["driver_info"].items() if "password" in k)

    cloud.openstack("baremetal", "node", "power", "on", node)
    wait_until(lambda: _power(lab, node) == "Chassis Power is on", 30, f"{node} on at its BMC")
    assert cloud.openstack_json("baremetal", "node", "show", node)["power_state"] == "power on"
    cloud.openstack("baremetal", "node", "power", "off", node)
    wait_until(lambda: _power(lab, node) == "Chassis Power is off", 30, f"{node} off at its BMC")

    cloud.openstack("baremetal", "node", "manage", node)
    assert cloud.openstack_json("baremetal", "node", "show", node)["provision_state"] == "manageable"
    cloud.openstack("baremetal", "node", "provide", node)
    shown = cloud.openstack_json("baremetal", "node", "show", node)
    assert (shown["provision_state"], shown["power_state"]) == ("available", "power off")
    cli = cloud.tripleo("baremetal", "node", "show", node, "-f", "value", "-c", "provision_state").stdout
    assert cli.strip() == "available"  # the CLI's storage is the API's
