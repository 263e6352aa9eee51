"""The pure pieces of ``overcloud deploy``: VIPs into the first controller's NIC config, /etc/hosts lines,
addresses of departed nodes (HAProxy's listeners: tests/unit/config/test_roledata.py)."""

from __future__ import annotations

import ipaddress
from typing import Any

from tripleo.network.environment import NodeSpec, load_plan
from tripleo.network.netenv import NodeResult
from tripleo.network.vips import with_vips
from tripleo.workflows.hosts import Server, host_entries

CONFIG = [
    {
        "type": "interface",
        "name": "eth0",
        "addresses": [{"ip_netmask": "192.168.24.10/24"}],
        "routes": [],
    },
    {
        "type": "linux_bridge",
        "name": "br-ex",
        "members": [{"type": "interface", "name": "eth1", "addresses": [{"ip_netmask": "10.0.0.4/24"}]}],
    },
]


def _server(name: str, role: str, index: int, node: str, ctlplane: str) -> Server:
    return Server(f"{role}/{index}/Server", role, index, name, f"id-{node}", node, ctlplane)


def test_vips_join_the_device_with_the_address_on_their_network() -> None:
    addresses: dict[str, Any] = {
        "ctlplane": ipaddress.ip_interface("192.168.24.10/24"),
        "External": ipaddress.ip_interface("10.0.0.4/24"),
    }
    vips = {"External": ipaddress.ip_address("10.0.0.5"), "InternalApi": ipaddress.ip_address("172.16.2.7")}
    out = with_vips(CONFIG, addresses, vips)
    assert out[0]["addresses"] == [{"ip_netmask": "192.168.24.10/24"}]  # no ctlplane VIP asked for
    assert out[1]["members"][0]["addresses"] == [{"ip_netmask": "10.0.0.4/24"}, {"ip_netmask": "10.0.0.5/32"}]
    assert CONFIG[1]["members"][0]["addresses"] == [{"ip_netmask": "10.0.0.4/24"}]  # the input is untouched
    v6 = with_vips(
        [{"type": "interface", "name": "eth1", "addresses": [{"ip_netmask": "fd00::4/64"}]}],
        {"External": ipaddress.ip_interface("fd00::4/64")},
        {"External": ipaddress.ip_address("fd00::5")},
    )
    assert v6[0]["addresses"][-1] == {"ip_netmask": "fd00::5/128"}


def test_host_entries_name_every_node_on_every_network() -> None:
    plan = load_plan(nodes=[NodeSpec("node-0", "Controller", 0)])
    server = _server("controller-0.overcloud.lab", "Controller", 0, "node-0", "192.168.24.10")
    result = NodeResult(
        NodeSpec("node-0", "Controller", 0),
        addresses={
            "ctlplane": ipaddress.ip_interface("192.168.24.10/24"),
            "InternalApi": ipaddress.ip_interface("172.16.2.6/24"),
        },
    )
    assert host_entries(plan, [server], {"node-0": result}) == [
        "172.16.2.6 controller-0.internalapi.overcloud.lab controller-0.internalapi",
        "192.168.24.10 controller-0.overcloud.lab controller-0",
    ]


def test_addresses_of_departed_nodes_are_freed_and_the_rest_kept(tmp_path: Any) -> None:
    from tripleo.network import allocate_port, allocate_vip, ensure_network, list_ports
    from tripleo.network.ipam import release_stack_addresses
    from tripleo.storage import Database

    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    db.upgrade()
    ensure_network(db, "InternalApi", "172.16.2.0/24", [("172.16.2.4", "172.16.2.250")])
    for node in ("node-0", "node-1", "node-2"):
        allocate_port(db, "InternalApi", owner=f"overcloud/{node}", name="internal_api")
    allocate_port(db, "InternalApi", owner="other/node-2", name="internal_api")  # another stack's
    allocate_vip(db, "InternalApi", name="overcloud/internal_api_virtual_ip")
    # scaled down: node-2 left; its address goes, the VIP stays
    assert release_stack_addresses(db, "overcloud", keep=["node-0", "node-1"], vips=False) == 1
    owners = sorted(p.owner for p in list_ports(db) if p.kind != "vip")
    assert owners == ["other/node-2", "overcloud/node-0", "overcloud/node-1"]
    # delete: every address and VIP of the stack, nothing of the other stack
    assert release_stack_addresses(db, "overcloud") == 3
    assert [p.owner for p in list_ports(db)] == ["other/node-2"]


def test_the_record_phase_of_each_ansible_task() -> None:
    from tripleo.workflows.overcloud import _phase_of

    assert _phase_of("Step 3: puppet apply") == "step 3"
    assert _phase_of("Hieradata files") == "hieradata"
    assert _phase_of("Directories") is None and _phase_of("Steps of something") is None


def test_departed_hosts_are_the_names_no_node_carries_any_more() -> None:
    from tripleo.config import Host
    from tripleo.config.roledata import RoleData, Service
    from tripleo.workflows.overcloud import departed_hosts

    nova = Service("nova_compute", "Compute", scale_down=({"compute_service": "nova-compute"},))
    roles = {"Compute": RoleData("Compute", (Service("sshd", "Compute"), nova), {}, "")}
    previous = [
        {"name": "c-0.old.lab", "node": "n0", "role": "Compute", "services": ["sshd", "nova_compute"]},
        {"name": "c-1.old.lab", "node": "n1", "role": "Compute", "services": ["sshd", "nova_compute"]},
        {"name": "c-2.old.lab", "node": "n2", "role": "Compute", "services": ["sshd"]},
    ]
    hosts = [
        Host("c-0.old.lab", "Compute", "n0", "192.0.2.10"),
        Host("c-2.new.lab", "Compute", "n2", "192.0.2.12"),
    ]
    # n1 left the stack; n2 was renamed in place (its old name goes, with no scale_down to run); n0 stays
    assert departed_hosts(previous, hosts, roles) == {
        "c-1.old.lab": [{"compute_service": "nova-compute"}],
        "c-2.old.lab": [],
    }


def test_a_servers_role_and_index_come_from_its_resource_path() -> None:
    from tripleo.workflows.capacity import server_slot

    assert server_slot("Compute/2/NovaCompute") == ("Compute", 2)
    assert server_slot("Controller/0") == ("Controller", 0)
    assert server_slot("Compute/x/NovaCompute") is None and server_slot("Networks") is None


def test_a_stacks_files_under_tripleo_home(tmp_path: Any, monkeypatch: Any) -> None:
    from tripleo.storage import stack_paths

    monkeypatch.setenv("TRIPLEO_HOME", str(tmp_path))
    paths = stack_paths("overcloud")
    assert (paths.project, paths.record) == (
        tmp_path / "config-download/overcloud",
        tmp_path / "config-download/overcloud.json",
    )
    assert (paths.network, paths.log) == (
        tmp_path / "network/overcloud",
        tmp_path / "logs/overcloud-deploy.log",
    )
    assert (paths.plan, paths.overcloudrc) == (tmp_path / "plans/overcloud", tmp_path / "overcloudrc")
    assert stack_paths("edge").overcloudrc == tmp_path / "edgerc"


def test_stack_vips_are_taken_once_under_the_stack_name(tmp_path: Any) -> None:
    from tripleo.network import list_ports, sync_networks
    from tripleo.network.checks import needs_vip
    from tripleo.network.vips import stack_vips
    from tripleo.storage import Database

    plan = load_plan(nodes=[NodeSpec("node-0", "Controller", 0)])
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    db.upgrade()
    sync_networks(db, plan.enabled())
    vips = stack_vips(db, "overcloud", plan)
    assert set(vips) == {n.name_lower for n in plan.enabled() if needs_vip(plan, n)} != set()
    assert stack_vips(db, "overcloud", plan) == vips  # idempotent: a re-deploy keeps its VIPs
    held = {p.name: p.ip for p in list_ports(db) if p.kind == "vip"}
    assert held == {f"overcloud/{lower}_virtual_ip": ip for lower, ip in vips.items()}
