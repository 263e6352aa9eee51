"""Node files: every problem reported with its path; good files parse to specs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tripleo.baremetal import ImportProblems, load_nodes, parse_nodes
from tripleo.baremetal.enroll import check_existing

GOOD = {
    "name": "node-0",
    "pm_type": "ipmi",
    "pm_addr": "10.0.0.5",
    "pm_user": "admin",
    "pm_password": "pw",
    "mac": ["52:54:00:AA:BB:01"],
    "cpu": "4",
    "memory": 8192,
    "disk": 40,
    "arch": "x86_64",
    "capabilities": "profile:control,boot_option:local",
}


def problems(data: Any) -> list[str]:
    with pytest.raises(ImportProblems) as info:
        parse_nodes(data, file="nodes.json")
    return [str(p) for p in info.value.problems]


def test_good_entry_parses_to_driver_info_properties_and_ports() -> None:
    (spec,) = parse_nodes({"nodes": [GOOD]})
    assert spec.driver == "ipmi"
    assert spec.driver_info == {"pm_addr": "10.0.0.5", "pm_user": "admin", "pm_password": "pw"}
    assert spec.properties == {
        "cpus": 4,
        "memory_mb": 8192,
        "local_gb": 40,
        "cpu_arch": "x86_64",
        "capabilities": "boot_option:local,profile:control",
    }
    assert [(p.address, p.pxe_enabled) for p in spec.ports] == [("52:54:00:aa:bb:01", True)]


def test_redfish_and_ports_with_physical_networks() -> None:
    entry = {
        "name": "rf",
        "pm_type": "redfish",
        "pm_addr": "https://bmc:8000",
        "pm_system_id": "/redfish/v1/Systems/1",
        "ports": [{"address": "52:54:00:00:00:01", "physical_network": "ctlplane"}],
    }
    (spec,) = parse_nodes([entry])
    assert spec.driver_info["pm_system_id"] == "/redfish/v1/Systems/1"
    assert spec.ports[0].physical_network == "ctlplane"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"pm_addr": None}, "nodes.json: nodes.0.pm_addr: missing (the ipmi driver needs it)"),
        ({"bogus": 1}, "nodes.json: nodes.0.bogus: unknown field"),
        ({"pm_type": "drac"}, "nodes.json: nodes.0.pm_type: unknown pm_type 'drac'"),
        ({"mac": ["52:54:00:zz:00:01"]}, "nodes.json: nodes.0.mac.0: expected a MAC address"),
        (
            {"mac": ["01:00:5e:00:00:01"]},
            "nodes.json: nodes.0.mac.0: 01:00:5e:00:00:01 is a multicast address",
        ),
        ({"cpu": 0}, "nodes.json: nodes.0.cpu: expected an integer from 1 to 4096, got 0"),
        ({"pm_port": "http"}, "nodes.json: nodes.0.pm_port: expected an integer from 1 to 65535"),
        ({"pm_system_id": "1"}, "nodes.json: nodes.0.pm_system_id: not used by pm_type ipmi"),
        (
            {"capabilities": "profile"},
            "nodes.json: nodes.0.capabilities: capability 'profile': expected KEY:VALUE",
        ),
        ({"name": "no spaces"}, "nodes.json: nodes.0.name: expected letters"),
        (
            {"ports": [{"mac": "52:54:00:00:00:09"}]},
            "nodes.json: nodes.0.ports.0: expected a mapping with an address",
        ),
    ],
)
def test_each_bad_field_is_one_problem_with_its_path(change: dict[str, Any], expected: str) -> None:
    found = problems({"nodes": [{**GOOD, **change}]})
    assert len(found) == 1, found
    assert found[0].startswith(expected), found[0]


def test_all_problems_of_a_file_are_reported_at_once() -> None:
    second = {**GOOD, "pm_addr": "10.0.0.6", "mac": ["52:54:00:aa:bb:01"], "memory": -1}
    third = {**GOOD, "name": "node-2", "pm_addr": "10.0.0.5", "mac": ["52:54:00:aa:bb:03"]}
    found = problems({"nodes": [GOOD, second, third]})
    assert found == [
        "nodes.json: nodes.1.memory: expected an integer from 1 to 1073741824, got -1",
        "nodes.json: nodes.2.pm_addr: duplicate BMC 10.0.0.5 (also nodes.0)",
    ]
    second_ok = {**second, "memory": 1024}
    found = problems({"nodes": [GOOD, second_ok, third]})
    assert "nodes.json: nodes.1.name: duplicate name 'node-0' (also nodes.0)" in found
    assert "nodes.json: nodes.1.mac: duplicate MAC 52:54:00:aa:bb:01 (also nodes.0)" in found
    assert "nodes.json: nodes.2.pm_addr: duplicate BMC 10.0.0.5 (also nodes.0)" in found
    assert len(found) == 3


def test_empty_or_malformed_files() -> None:
    assert problems({"nodes": []}) == ["nodes.json: nodes: expected a non-empty list of nodes"]
    assert problems({"nodes": [GOOD], "extra": 1})[0] == "nodes.json: extra: unknown key (expected: nodes)"
    assert problems({"nodes": ["x"]}) == ["nodes.json: nodes.0: expected a mapping, got str"]


def test_load_json_and_yaml_files(tmp_path: Path) -> None:
    (tmp_path / "nodes.json").write_text(json.dumps({"nodes": [GOOD]}))
    (tmp_path / "nodes.yaml").write_text("nodes:\n  - name: y\n    pm_type: fake\n    pm_addr: y\n")
    assert load_nodes(tmp_path / "nodes.json")[0].name == "node-0"
    assert load_nodes(tmp_path / "nodes.yaml")[0].driver == "fake"
    (tmp_path / "bad.json").write_text("{nodes: ")
    with pytest.raises(ImportProblems, match=r"bad.json: invalid JSON"):
        load_nodes(tmp_path / "bad.json")
    with pytest.raises(ImportProblems, match=r"missing.yaml: cannot read"):
        load_nodes(tmp_path / "missing.yaml")


def test_clashes_with_enrolled_nodes() -> None:
    (spec,) = parse_nodes({"nodes": [GOOD]})
    same_bmc = {"node-0": ("uuid-0", spec.bmc)}
    assert check_existing([spec], same_bmc, {"52:54:00:aa:bb:01": "node-0"}) == []
    other_bmc = {"node-0": ("uuid-0", ("10.9.9.9", "", ""))}
    found = [str(p) for p in check_existing([spec], other_bmc, {"52:54:00:aa:bb:01": "node-7"}, "f.json")]
    assert found == [
        "f.json: nodes.0.name: name 'node-0' is taken by enrolled node uuid-0 with another BMC",
        "f.json: nodes.0.mac: MAC 52:54:00:aa:bb:01 belongs to node node-7",
    ]
