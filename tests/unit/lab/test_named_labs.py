"""Named labs: every host object carries the lab's prefix, a second lab moves its subnets and BMC ports out
of the way, and ``down`` removes its own objects only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tripleo.errors import InputError
from tripleo.lab import Lab, default_config
from tripleo.lab.config import parse_config, shifted
from tripleo.lab.lab import network_environment
from tripleo.lab.network import nft_ruleset, plan_down, plan_up, read_facts
from tripleo.lab.paths import write_private
from tripleo.lab.system import RecordingRunner, Result


def test_a_named_lab_prefixes_bridges_namespaces_veths_and_its_table() -> None:
    config = default_config(2).named("tx")
    assert config.prefix == "tx-"
    assert [n.bridge for n in config.networks][:3] == ["tx-ctlplane", "tx-external", "tx-internal_api"]
    assert config.nodes[0].netns == "tx-node-0" and config.veth(config.nodes[1], 2) == "tx-1-2"
    commands = plan_up(config, read_facts(RecordingRunner({}), "tx"))
    created = {c[3] for c in commands if c[:3] == ("ip", "link", "add")}
    assert created and all(name.startswith("tx-") for name in created)
    assert "table inet tx {" in nft_ruleset("tx") and '"tx-*"' in nft_ruleset("tx")
    # the name survives the state file, and a name that does not fit is refused
    assert parse_config(config.to_dict()).nodes[1].netns == "tx-node-1"
    with pytest.raises(InputError, match="expected 1 to 5 lower-case letters"):
        default_config(1).named("Too-long")


def test_long_bridge_names_are_cut_to_fit_and_collisions_refused() -> None:
    config = default_config(1).named("abcde")
    assert all(len(n.bridge) <= 15 for n in config.networks)
    data = {"networks": [{"name": "ctlplane", "cidr": "192.168.24.0/24"},
                         {"name": "storage_mgmt_a", "cidr": "172.16.3.0/24"},
                         {"name": "storage_mgmt_b", "cidr": "172.16.4.0/24"}],
            "nodes": [{"name": "n"}], "name": "abcde"}  # fmt: skip
    data["networks"][1]["name"] = "storage_mgma"
    data["networks"][2]["name"] = "storage_mgmb"
    with pytest.raises(InputError, match="name: --name abcde: lab networks"):
        parse_config(data, file="lab.yaml")


def test_a_shifted_lab_moves_every_subnet_and_its_bmc_ports() -> None:
    base = default_config(2)
    moved = shifted(base, 1)
    cidrs = {n.name: n.cidr for n in moved.networks}
    assert cidrs["ctlplane"] == "192.168.34.0/24" and cidrs["external"] == "10.0.10.0/24"
    assert cidrs["internal_api"] == "172.16.12.0/24"
    assert moved.network("ctlplane").host_address == "192.168.34.1"
    assert moved.bmc_port(moved.nodes[0]) == 6330
    assert not any(a.subnet.overlaps(b.subnet) for a in base.networks for b in moved.networks)
    env = yaml.safe_load(network_environment(moved))["parameter_defaults"]
    assert env["ControlPlaneNetCidr"] == "192.168.34.0/24"
    assert env["ControlPlaneAllocationPools"] == [{"start": "192.168.34.10", "end": "192.168.34.99"}]
    assert env["ControlPlaneDefaultRoute"] == "192.168.34.1" and env["NtpServers"] == ["192.168.34.1"]
    assert env["InternalApiNetCidr"] == "172.16.12.0/24"
    assert env["ExternalInterfaceDefaultRoute"] == "10.0.10.1"


def test_down_by_name_leaves_another_labs_objects(tmp_path: Path) -> None:
    runner = RecordingRunner({
        ("ip", "-j", "link"): Result(0, json.dumps([{"ifname": "tl-ctlplane"}, {"ifname": "tx-ctlplane"},
                                                    {"ifname": "tx-0-0"}])),
        ("ip", "-j", "netns"): Result(0, json.dumps([{"name": "tl-node-0"}, {"name": "tx-node-0"}])),
    })  # fmt: skip
    commands = plan_down(read_facts(runner, "tx"), "tx")
    touched = {c[3] for c in commands if c[:2] in (("ip", "netns"), ("ip", "link"))}
    assert touched == {"tx-node-0", "tx-ctlplane", "tx-0-0"}
    assert ("nft", "delete", "table", "inet", "tx") in commands
    lab = Lab(tmp_path, runner)
    write_private(lab.paths.state, {"config": default_config(1).named("tx").to_dict(), "bmc_password": "p"})
    assert lab.name() == "tx"
    with pytest.raises(InputError, match="not a lab name"):
        lab.down("t*")


def test_up_again_keeps_the_place_it_got_and_refuses_another_config(tmp_path: Path) -> None:
    lab = Lab(tmp_path, RecordingRunner({}))
    placed = shifted(default_config(2).named("tx"), 3)
    write_private(lab.paths.state, {"config": placed.to_dict(), "bmc_password": "p"})
    assert lab._place(default_config(2).named("tx"), "[]") == placed  # the same lab, where it is
    other = default_config(2, controllers=2).named("tx")
    assert lab._place(other, "[]") == other  # not the lab that is up: _claim_state refuses it
