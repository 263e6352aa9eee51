"""NIC config model, nicN resolution, the proof's packet walk, firewall rules, the applier's plan."""

from __future__ import annotations

import ipaddress

import pytest

from tripleo.errors import InputError, OperationError
from tripleo.network.apply import Facts, LinkFact, plan, resolve_rule_nics
from tripleo.network.firewall import Binding, render_ruleset
from tripleo.network.model import ServicePort
from tripleo.network.nicconfig import L3Device, RouteSpec, parse_network_config, resolve_nics
from tripleo.network.proof import HostView, Target, matrix

CONFIG = [
    {"type": "interface", "name": "nic1", "addresses": [{"ip_netmask": "192.168.24.10/24"}]},
    {
        "type": "linux_bridge",
        "name": "br-ex",
        "mtu": 1500,
        "addresses": [{"ip_netmask": "10.0.0.10/24"}],
        "routes": [{"default": True, "next_hop": "10.0.0.1"}],
        "members": [{"type": "interface", "name": "nic2", "primary": True}],
    },
    {"type": "vlan", "device": "br-ex", "vlan_id": 20, "addresses": [{"ip_netmask": "172.16.2.10/24"}]},
]


def test_parse_gives_devices_with_members_and_kernel_names() -> None:
    devices = parse_network_config({"network_config": CONFIG})
    assert [d.name for d in devices] == ["nic1", "br-ex", "vlan20"]
    assert devices[1].members[0].primary and devices[2].device == "br-ex"
    assert devices[1].routes == (RouteSpec(None, ipaddress.ip_address("10.0.0.1")),)


@pytest.mark.parametrize(
    ("change", "message", "path"),
    [
        ({"vlan_id": 4095}, "vlan_id 4095 is not an integer 1..4094", "network_config.2.vlan_id"),
        (
            {"device": "br-nope"},
            "sits on device br-nope, which the config does not define",
            "network_config.2",
        ),
        (
            {"addresses": [{"ip_netmask": "172.16.2.10"}]},
            "expected ip_netmask ADDRESS/PREFIX",
            "network_config.2",
        ),
        ({"bogus": 1}, "vlan has no key 'bogus'", "network_config.2.bogus"),
    ],
)
def test_parse_errors_carry_the_path(change: dict[str, object], message: str, path: str) -> None:
    broken = [*CONFIG[:2], {**CONFIG[2], **change}]
    with pytest.raises(InputError) as err:
        parse_network_config(broken)
    assert message in err.value.message and (err.value.path or "").startswith(path)


def test_nic_names_resolve_in_inspection_order() -> None:
    resolved = resolve_nics(CONFIG, ["eth0", "eth1"], "node-0")
    assert resolved[0]["name"] == "eth0" and resolved[1]["members"][0]["name"] == "eth1"
    with pytest.raises(InputError, match="nic2 is unknown: node-9 has 1 NICs"):
        resolve_nics(CONFIG, ["eth0"], "node-9")


def _iface(text: str) -> ipaddress.IPv4Interface:
    return ipaddress.IPv4Interface(text)


def _hosts(firewall: bool) -> list[HostView]:
    route = RouteSpec(ipaddress.ip_network("172.16.2.0/24"), ipaddress.ip_address("192.168.24.10"))
    controller = HostView("ctl", "Controller", (
        L3Device("eth0", "ctlplane", (_iface("192.168.24.10/24"),), ()),
        L3Device("eth2", "InternalApi", (_iface("172.16.2.10/24"),), ()),
    ), firewall)  # fmt: skip
    neighbour = HostView(
        "nb", "Compute", (L3Device("eth0", "ctlplane", (_iface("192.168.24.20/24"),), (route,)),), firewall
    )
    return [controller, neighbour]


def test_proof_follows_the_weak_host_model_and_the_firewall_closes_it() -> None:
    target = Target("ctl", "InternalApi", ipaddress.ip_address("172.16.2.10"))
    open_flow = next(f for f in matrix(_hosts(False), [target]) if f.source == "nb")
    assert open_flow.reachable and "nb eth0 -> ctl eth0 on ctlplane" in open_flow.reason
    closed = next(f for f in matrix(_hosts(True), [target]) if f.source == "nb")
    assert not closed.reachable and "ctl's firewall drops 172.16.2.10 arriving on eth0" in closed.reason


def test_firewall_accepts_service_ports_only_on_their_network() -> None:
    services = {"memcached": (ServicePort("memcached", "InternalApi", (("tcp", "11211"),)),),
                "sshd": (ServicePort("sshd", "ctlplane", (("tcp", "22"),)),)}  # fmt: skip
    bindings = [
        Binding("ctlplane", "eth0", (ipaddress.ip_address("192.168.24.10"),)),
        Binding(
            "InternalApi", "eth2", (ipaddress.ip_address("172.16.2.10"), ipaddress.ip_address("172.16.2.4"))
        ),
    ]
    rules = render_ruleset("ctl", ["sshd", "memcached"], services, bindings)
    assert 'ip daddr { 172.16.2.10, 172.16.2.4 } iifname != "eth2" drop' in rules
    assert 'iifname "eth2" tcp dport { 11211 } accept' in rules
    assert 'iifname "eth0" tcp dport { 22 } accept' in rules
    assert "policy drop" in rules and rules.startswith("table inet tripleo\ndelete table inet tripleo\n")
    forward = rules[rules.index("chain forward") :]
    assert "accept" not in forward  # nothing is routed, nothing bridged without a service's bridge
    bridged = render_ruleset("cmp", ["sshd"], services, bindings, [("neutron_agent", "brq*")])
    forward = bridged[bridged.index("chain forward") :]
    assert (
        'iifname "brq*" oifname "brq*" accept comment "neutron_agent: frames its bridges switch"' in forward
    )


def _facts(**links: LinkFact) -> Facts:
    return Facts(dict(links), frozenset(), frozenset())


def test_applier_plans_only_what_is_missing() -> None:
    devices = parse_network_config([
        {"type": "interface", "name": "eth1", "mtu": 1400, "addresses": [{"ip_netmask": "172.16.2.10/24"}],
         "routes": [{"ip_netmask": "172.16.9.0/24", "next_hop": "172.16.2.1"}]},
    ])  # fmt: skip
    fresh = _facts(eth1=LinkFact(3, "veth", 1500, False, None, frozenset({"172.16.2.99/24"})))
    assert [s.description for s in plan(devices, fresh)] == [
        "set eth1 mtu 1400",
        "set eth1 up",
        "add address 172.16.2.10/24 to eth1",
        "remove address 172.16.2.99/24 from eth1",
        "add route 172.16.9.0/24 via 172.16.2.1 dev eth1",
    ]
    done = Facts(
        {"eth1": LinkFact(3, "veth", 1400, True, None, frozenset({"172.16.2.10/24"}))},
        frozenset({("172.16.9.0/24", "172.16.2.1", "eth1")}),
    )
    assert plan(devices, done) == []


def test_applier_leaves_floating_addresses_alone() -> None:
    """keepalived's VIPs: the NIC config does not list them, and the applier neither removes nor adds them."""
    devices = parse_network_config(
        [{"type": "interface", "name": "eth1", "addresses": [{"ip_netmask": "172.16.2.10/24"}]}]
    )
    held = _facts(eth1=LinkFact(3, "veth", 1500, True, None, frozenset({"172.16.2.10/24", "172.16.2.4/32"})))
    assert [s.description for s in plan(devices, held)] == ["remove address 172.16.2.4/32 from eth1"]
    assert plan(devices, held, frozenset({"172.16.2.4/32"})) == []
    assert plan(devices, _facts(eth1=LinkFact(3, "veth", 1500, True, None, frozenset({"172.16.2.10/24"}))),
                frozenset({"172.16.2.4/32"})) == []  # a backup node: not added either  # fmt: skip


def test_whole_ip_protocols_are_accepted_on_their_networks_only() -> None:
    bindings = [Binding("ctlplane", "eth0", (ipaddress.ip_address("192.168.24.10"),)),
                Binding("InternalApi", "eth2", (ipaddress.ip_address("172.16.2.10"),))]  # fmt: skip
    services = {"keepalived": (ServicePort("keepalived", "InternalApi", (("ip", "vrrp"),)),)}
    rules = render_ruleset("ctl", ["keepalived"], services, bindings)
    assert 'iifname "eth2" meta l4proto { vrrp } accept comment "keepalived on InternalApi"' in rules
    assert rules.count("vrrp") == 1


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ([{"type": "vlan", "device": "eth0", "vlan_id": 20}, {"type": "interface", "name": "eth0"}],
         "vlan20: this kernel has no 8021q module"),
        ([{"type": "ovs_bridge", "name": "br-ex", "members": [{"type": "interface", "name": "eth0"}]}],
         "br-ex: ovs_bridge needs Open vSwitch"),
        ([{"type": "interface", "name": "eth0", "use_dhcp": True}], "use_dhcp is not supported"),
        ([{"type": "interface", "name": "eth7"}], "interface eth7 does not exist on this host"),
    ],
)  # fmt: skip
def test_applier_refuses_what_this_host_cannot_do(config: list[dict[str, object]], message: str) -> None:
    facts = _facts(eth0=LinkFact(2, "veth", 1500, True, None))
    with pytest.raises(OperationError, match=message):
        plan(parse_network_config(config), facts)


def test_firewall_nic_names_resolve_on_the_host() -> None:
    rules = 'ip daddr { 172.16.2.4 } iifname != "nic3" drop\niifname "nic1" tcp dport { 22 } accept\n'
    expected = rules.replace('"nic3"', '"eth2"').replace('"nic1"', '"eth0"')
    assert resolve_rule_nics(rules, ["eth0", "eth1", "eth2"]) == expected
    with pytest.raises(InputError, match="firewall rules use nic3: this host has 2 NICs"):
        resolve_rule_nics(rules, ["eth0", "eth1"])
