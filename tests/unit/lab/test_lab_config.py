"""Lab configs: defaults, names that fit the kernel, and errors that name the YAML path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tripleo.errors import InputError
from tripleo.lab import default_config, load_config, parse_config


def test_default_lab_has_the_tripleo_networks_and_a_controller_then_computes() -> None:
    config = default_config(3)
    assert [(n.name, n.cidr, n.host_address) for n in config.networks] == [
        ("ctlplane", "192.168.24.0/24", "192.168.24.1"),
        ("external", "10.0.0.0/24", "10.0.0.1"),
        ("internal_api", "172.16.2.0/24", None),
        ("storage", "172.16.1.0/24", None),
        ("storage_mgmt", "172.16.3.0/24", None),
        ("tenant", "172.16.0.0/24", None),
        ("management", "10.0.1.0/24", None),
    ]
    assert [n.name for n in config.nodes] == ["node-0", "node-1", "node-2"]
    assert len(config.nodes[0].networks) == 7
    assert config.nodes[1].networks == ("ctlplane", "internal_api", "tenant", "storage")
    assert [config.bmc_port(n) for n in config.nodes] == [6230, 6231, 6232]


def test_every_host_side_name_fits_15_characters_and_carries_the_prefix() -> None:
    config = default_config(120)
    names = [n.bridge for n in config.networks]
    names += [config.veth(node, k) for node in config.nodes for k in range(len(node.networks))]
    assert all(len(name) <= 15 and name.startswith("tl-") for name in names)
    assert len(set(names)) == len(names)
    macs = [m for node in config.nodes for m in node.macs]
    assert len(set(macs)) == len(macs)


def test_config_round_trips_through_its_dict() -> None:
    config = default_config(2)
    assert parse_config(config.to_dict()) == config


def test_a_small_config_file(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(
        "networks:\n"
        "  - {name: ctlplane, cidr: 192.168.30.0/24, host_address: 192.168.30.1}\n"
        "  - {name: storage, cidr: 172.20.1.0/24}\n"
        "nodes:\n"
        "  - {name: ceph-0, networks: [storage], cpus: 4, macs: ['52:54:00:aa:00:01', '52:54:00:AA:00:02']}\n"
        "bmc_port_base: 7000\n"
    )
    config = load_config(path)
    node = config.nodes[0]
    assert node.networks == ("ctlplane", "storage")  # nic1 is always ctlplane
    assert node.macs == ("52:54:00:aa:00:01", "52:54:00:aa:00:02")
    assert node.cpus == 4 and config.bmc_port(node) == 7000


BAD: list[tuple[Any, str, str]] = [
    ({"nodes": []}, "nodes", "at least one node"),
    ({"nodes": [{"name": "Node_0"}]}, "nodes.0.name", "expected a string matching"),
    ({"nodes": [{"name": "n", "networks": ["storage", "ctlplane"]}]}, "nodes.0.networks", "nic1 is always"),
    ({"nodes": [{"name": "n", "networks": ["nope"]}]}, "nodes.0.networks", "unknown network 'nope'"),
    ({"nodes": [{"name": "n", "cpus": 0}]}, "nodes.0.cpus", "integer from 1"),
    ({"nodes": [{"name": "n", "colour": 1}]}, "nodes.0.colour", "unknown key"),
    ({"nodes": [{"name": "n", "macs": ["01:00:00:00:00:01"]}]}, "nodes.0.macs.0", "unicast MAC"),
    ({"nodes": [{"name": "n", "macs": []}]}, "nodes.0.macs", "one MAC per network"),
    ({"nodes": [{"name": "n"}, {"name": "n"}]}, "nodes", "duplicate node name 'n'"),
    ({"networks": [{"name": "storage", "cidr": "10.1.0.0/24"}], "nodes": [{}]}, "networks", "'ctlplane'"),
    (
        {"networks": [{"name": "ctlplane", "cidr": "10.0.0.0/16"}, {"name": "b", "cidr": "10.0.1.0/24"}]},
        "networks.1.cidr",
        "overlaps network 'ctlplane'",
    ),
    ({"networks": [{"name": "ctlplane", "cidr": "10.0.0.0/33"}]}, "networks.0.cidr", "IPv4 network"),
    (
        {"networks": [{"name": "ctlplane", "cidr": "10.0.0.0/24", "host_address": "10.9.0.1"}]},
        "networks.0.host_address",
        "inside 10.0.0.0/24",
    ),
    ({"networks": [{"name": "a_very_long_net", "cidr": "10.0.0.0/24"}]}, "networks.0.name", "matching"),
    ({"bmc_port_base": 80, "nodes": [{}]}, "bmc_port_base", "integer from 1024"),
    ([1, 2], "", "expected a mapping"),
]


@pytest.mark.parametrize(("data", "path", "message"), BAD, ids=[case[1] or "top" for case in BAD])
def test_invalid_configs_name_the_path(data: Any, path: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_config(data, file="lab.yaml")
    assert info.value.file == "lab.yaml"
    assert (info.value.path or "") == path
    assert message in info.value.message
    assert info.value.exit_code == 2


def test_load_config_reports_missing_files_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read lab config"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes: [\n")
    with pytest.raises(InputError, match="invalid YAML"):
        load_config(bad)


def test_node_count_is_bounded() -> None:
    with pytest.raises(InputError, match="--nodes 0"):
        default_config(0)


def test_system_uuids_are_stable_and_distinct() -> None:
    first, second = default_config(2).nodes, default_config(2).nodes
    assert first[0].system_uuid == second[0].system_uuid
    assert first[0].system_uuid != first[1].system_uuid
