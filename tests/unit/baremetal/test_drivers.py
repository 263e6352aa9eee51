"""Driver composition, the edge translations, redaction and the public surface."""

from __future__ import annotations

import pytest

import tripleo.baremetal as baremetal
from tripleo.baremetal import DRIVERS, DeployConfig, DriverError, redact
from tripleo.baremetal.drivers import build_driver
from tripleo.baremetal.drivers.ipmi import IpmiBmc
from tripleo.baremetal.drivers.redfish import POWER_STATES, RedfishBmc, base_url, system_path
from tripleo.baremetal.node import format_capabilities, parse_capabilities


@pytest.mark.parametrize(
    ("info", "url"),
    [
        ({"pm_addr": "10.0.0.9"}, "https://10.0.0.9"),
        ({"pm_addr": "http://127.0.0.1:8000"}, "http://127.0.0.1:8000"),
        ({"pm_addr": "bmc.example:443", "pm_port": 8443}, "https://bmc.example:8443"),
        ({"pm_addr": "fd00::5"}, "https://[fd00::5]"),
    ],
)
def test_redfish_base_url(info: dict[str, object], url: str) -> None:
    assert base_url(info) == url


def test_redfish_system_path_and_power_words() -> None:
    assert system_path("abc") == "/redfish/v1/Systems/abc"
    assert system_path("/redfish/v1/Systems/abc/") == "/redfish/v1/Systems/abc"
    assert POWER_STATES["On"] == "power on" and POWER_STATES["PoweringOff"] is None


def test_each_driver_is_a_composition_of_interfaces() -> None:
    info = {"pm_addr": "127.0.0.1", "pm_port": 6230, "pm_user": "a", "pm_password": "b", "pm_system_id": "1"}
    ipmi = build_driver("ipmi", info)
    assert isinstance(ipmi.power, IpmiBmc) and ipmi.power is ipmi.management
    assert ipmi.inspect.inspect() == baremetal.Inventory()  # IPMI cannot inspect out of band
    redfish = build_driver("redfish", info)
    assert isinstance(redfish.inspect, RedfishBmc)
    with pytest.raises(DriverError, match="the redfish driver cannot deploy an image yet"):
        redfish.deploy.prepare(DeployConfig("h", "ssh-ed25519 AAAA", "10.0.0.2", "10.0.0.0/24"))
    lab = build_driver("lab", info)  # no provisioner given
    with pytest.raises(
        DriverError, match="lab node on BMC port 6230: inspection needs the lab's provisioner"
    ):
        lab.inspect.inspect()
    with pytest.raises(DriverError, match=r"unknown driver 'drac' \(have: fake, ipmi, lab, redfish\)"):
        build_driver("drac", info)
    assert set(DRIVERS) == {"fake", "ipmi", "lab", "redfish"}


def test_redact_hides_every_secret_but_keeps_the_rest() -> None:
    info = {"pm_addr": "h", "pm_password": "x", "redfish_password": "y", "kg_key": "z", "pm_user": "u"}
    assert redact(info) == {
        "pm_addr": "h",
        "pm_password": "******",
        "redfish_password": "******",
        "kg_key": "******",
        "pm_user": "u",
    }


def test_capabilities_round_trip() -> None:
    caps = parse_capabilities(" profile:compute , boot_option:local")
    assert caps == {"profile": "compute", "boot_option": "local"}
    assert format_capabilities(caps) == "boot_option:local,profile:compute"
    with pytest.raises(ValueError, match="expected KEY:VALUE"):
        parse_capabilities("profile")


def test_deploy_config_address_with_prefix() -> None:
    assert DeployConfig("h", "k k", "192.168.24.7", "192.168.24.0/24").ctlplane_address == "192.168.24.7/24"


def test_public_api_is_complete_and_exists() -> None:
    for name in baremetal.__all__:
        assert hasattr(baremetal, name), name
    for name in ("reserve_node", "deploy_node", "undeploy_node", "release_node", "Conductor", "Provisioner"):
        assert name in baremetal.__all__
