"""role_data: parsed and checked with the file and YAML path at fault, then turned into each node's
hieradata, Puppet and HAProxy listeners (tests as data: role_data in, configuration out)."""

from __future__ import annotations

from typing import Any

import pytest

from tripleo.config.hieradata import (
    NodeView,
    all_nodes,
    host_manifest,
    listeners,
    network_host_name,
    node_hieradata,
    placement,
)
from tripleo.config.roledata import (
    VIP_NETWORKS,
    RoleData,
    Service,
    check_services,
    parse_role_data,
    parse_service,
)
from tripleo.errors import InputError

NETWORKS = {"ctlplane": "ctlplane", "internal_api": "InternalApi", "external": "External"}


def _db() -> dict[str, Any]:
    return {
        "service_name": "mysql",
        "bootstrap_only": True,
        "config_settings": {"db::bind": "%{lookup('internal_api')}"},
        "step_config": "include db",
        "firewall_rules": [{"network": "internal_api", "tcp": [3306]}],
        "haproxy": [
            {"name": "mysql", "port": 3306, "networks": ["internal_api"], "backend_network": "internal_api"}
        ],
    }


def _api() -> dict[str, Any]:
    return {
        "service_name": "keystone",
        "config_settings": {"api::bind": "%{lookup('internal_api')}"},
        "step_config": "include api",
        "firewall_rules": [{"network": "internal_api", "tcp": [5000]}],
        "haproxy": [
            {
                "name": "keystone",
                "port": 5000,
                "networks": ["external", "internal_api"],
                "backend_network": "internal_api",
                "mode": "http",
            }
        ],
    }


def _roles() -> dict[str, RoleData]:
    lb = {"service_name": "haproxy", "load_balancer": True, "step_config": "include lb"}
    base = {"service_name": "base", "step_config": "include base"}
    return parse_role_data(
        {
            "Controller": {"services": [base, _db(), lb, _api()]},
            "Compute": {"services": [base]},
            "Spare": None,
        }
    )


def _nodes() -> list[NodeView]:
    def node(name: str, role: str, index: int, last: int) -> NodeView:
        return NodeView(
            name, role, index, {"ctlplane": f"192.168.24.{last}", "internal_api": f"172.16.2.{last}"}
        )

    controllers = [node(f"controller-{i}.lab", "Controller", i, 10 + i) for i in range(3)]
    return [*controllers, node("compute-0.lab", "Compute", 0, 20)]


VIPS = {"external": "10.0.0.4", "internal_api": "172.16.2.4"}


def test_role_data_aggregates_settings_and_puppet_in_chain_order() -> None:
    roles = _roles()
    assert set(roles) == {"Controller", "Compute"}  # a role without services (null) is left out
    controller = roles["Controller"]
    assert controller.service_names == ("base", "mysql", "haproxy", "keystone")
    assert controller.config_settings == {
        "db::bind": "%{lookup('internal_api')}",
        "api::bind": "%{lookup('internal_api')}",
    }
    assert controller.step_config == "include base\ninclude db\ninclude lb\ninclude api"
    assert controller.services[1].firewall == (("internal_api", "tcp", "3306", 0),)


@pytest.mark.parametrize(
    ("data", "path", "text"),
    [
        ({"config_settings": {}}, "outputs.role_data.value.service_name", "no service_name"),
        ({"service_name": "x", "firewall_rules": [{"tcp": [1]}]}, "outputs.role_data.value.firewall_rules.0",
         "needs a network"),
        ({"service_name": "x", "firewall_rules": [{"network": "n", "udp": ["x1"]}]},
         "outputs.role_data.value.firewall_rules.0.udp.0", "is not a port"),
        ({"service_name": "x", "haproxy": [{"name": "f", "port": 1, "networks": []}]},
         "outputs.role_data.value.haproxy.0", "networks must list networks"),
        ({"service_name": "x", "step_config": ["include a"]}, "outputs.role_data.value.step_config",
         "must be a string"),
    ],
)  # fmt: skip
def test_a_malformed_role_data_names_the_file_and_path(data: dict[str, Any], path: str, text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_service(data, "Controller", "deployment/x/x.yaml")
    assert (caught.value.file, caught.value.path) == ("deployment/x/x.yaml", path)
    assert text in caught.value.message


def test_networks_and_ports_are_checked() -> None:
    ok = [parse_service(_db(), "Controller", "db.yaml"), parse_service(_api(), "Controller", "api.yaml")]
    check_services(ok, NETWORKS)
    # the same port on the same network in another role is fine (other nodes)
    check_services(
        [*ok, parse_service(_db() | {"service_name": "db2", "haproxy": []}, "Compute", "d.yaml")], NETWORKS
    )
    rules = [{"network": "storage_nfs", "tcp": [2049]}]
    stray = parse_service({"service_name": "nfs", "firewall_rules": rules}, "Controller", "nfs.yaml")
    with pytest.raises(
        InputError, match="listens on network 'storage_nfs', which network_data does not have"
    ):
        check_services([*ok, stray], NETWORKS)
    twin = parse_service(_db() | {"service_name": "mysql_twin", "haproxy": []}, "Controller", "twin.yaml")
    with pytest.raises(InputError) as caught:
        check_services([*ok, twin], NETWORKS)
    assert (
        caught.value.message
        == "services mysql and mysql_twin of role Controller both claim tcp port 3306 on InternalApi"
    )
    assert (caught.value.file, caught.value.path) == (
        "twin.yaml",
        "outputs.role_data.value.firewall_rules.0.tcp",
    )
    front = parse_service(_api() | {"service_name": "other", "firewall_rules": []}, "Compute", "other.yaml")
    with pytest.raises(
        InputError, match=r"frontends keystone \(keystone\) and keystone \(other\) both claim port 5000"
    ):
        check_services([*ok, front], NETWORKS)  # a different name for the same VIP port


def test_listeners_front_every_backend_and_a_single_primary() -> None:
    roles, nodes = _roles(), _nodes()
    out = {listener["name"]: listener for listener in listeners(roles, nodes, placement(roles, nodes), VIPS)}
    assert out["keystone"]["binds"] == ["10.0.0.4:5000", "172.16.2.4:5000"]
    assert out["keystone"]["mode"] == "http"
    assert [s["ip"] for s in out["keystone"]["servers"]] == ["172.16.2.10", "172.16.2.11", "172.16.2.12"]
    # bootstrap_only: the database runs on controller-0 only, and HAProxy sends every client there
    assert out["mysql"]["servers"] == [
        {"name": "controller-0", "ip": "172.16.2.10", "port": 3306, "backup": False}
    ]
    computes = nodes[3:]
    assert (
        listeners(roles, computes, placement(roles, computes), VIPS) == []
    )  # no node runs a fronted service: no listener
    # backup: state on one node's disk (Glance's file store): one active server, the others take over
    api = _api()
    api["haproxy"][0]["backup"] = True
    roles = parse_role_data({"Controller": {"services": [api]}})
    servers = listeners(roles, nodes, placement(roles, nodes), VIPS)[0]["servers"]
    assert [s["backup"] for s in servers] == [False, True, True]


def test_each_node_gets_its_services_addresses_and_shared_data() -> None:
    roles, nodes = _roles(), _nodes()
    placed = placement(roles, nodes)
    assert host_manifest(placed[nodes[0].name]).splitlines()[1:] == [
        "include base",
        "include db",
        "include lb",
        "include api",
    ]
    assert "include db" not in host_manifest(placed[nodes[1].name])  # not the database's bootstrap node
    files = node_hieradata(nodes[1], roles, placed[nodes[1].name], VIPS)
    assert files["net_ip_map"]["internal_api"] == "172.16.2.11"
    assert files["net_ip_map"]["external_virtual_ip"] == "10.0.0.4"
    assert files["net_ip_map"]["tripleo::services"] == ["base", "haproxy", "keystone"]
    assert files["service_configs"] == dict(roles["Controller"].config_settings)
    shared = all_nodes(roles, nodes, placed, VIPS, {"tripleo::cloud_name": "lab"})
    assert shared["keystone_short_bootstrap_node_name"] == "controller-0"
    assert shared["keystone_node_ips"] == ["172.16.2.10", "172.16.2.11", "172.16.2.12"]
    assert shared["mysql_node_names"] == ["controller-0.lab"]
    assert shared["base_node_names"][-1] == "compute-0.lab" and shared["tripleo::cloud_name"] == "lab"
    assert [entry["name"] for entry in shared["tripleo::profile::base::haproxy::listeners"]] == [
        "mysql",
        "keystone",
    ]


def test_service_defaults_are_plain() -> None:
    service = Service("x", "Controller")
    assert (service.firewall, service.frontends, service.bootstrap_only, service.load_balancer) == (
        (),
        (),
        False,
        False,
    )


def _keepalived() -> dict[str, Any]:
    return {"service_name": "keepalived", "vip_manager": True, "step_config": "include vip",
            "firewall_rules": [{"vip_networks": True, "protocols": ["vrrp"]}]}  # fmt: skip


def test_a_vip_manager_takes_whole_protocols_on_every_vip_network() -> None:
    service = parse_service(_keepalived(), "Controller", "keepalived.yaml")
    assert service.vip_manager and service.firewall == ((VIP_NETWORKS, "ip", "vrrp", 0),)
    check_services([service], NETWORKS)  # no network is named: every VIP network exists
    bad = _keepalived() | {"firewall_rules": [{"vip_networks": True, "protocols": ["vrrp; drop"]}]}
    with pytest.raises(
        InputError, match=r"keepalived.yaml.*firewall_rules\.0\.protocols.*not an IP protocol"
    ):
        parse_service(bad, "Controller", "keepalived.yaml")
    with pytest.raises(InputError, match=r"needs a network \(or vip_networks: true\)"):
        parse_service(_keepalived() | {"firewall_rules": [{"protocols": ["vrrp"]}]}, "Controller", "k.yaml")


def test_clustered_services_see_every_member_on_every_network() -> None:
    roles = parse_role_data({"Controller": {"services": [_keepalived(), _db() | {"bootstrap_only": False}]}})
    nodes = _nodes()[:3]
    placed = placement(roles, nodes)
    shared = all_nodes(roles, nodes, placed, VIPS, {})
    assert shared["mysql_network_node_names"] == [f"controller-{i}.internalapi.lab" for i in range(3)]
    assert shared["keepalived_node_addresses"][1] == {
        "ctlplane": "192.168.24.11",
        "internal_api": "172.16.2.11",
    }
    assert "keepalived_node_ips" in shared and shared["keepalived_node_ips"] == []  # no network of its own
    assert network_host_name("controller-0.lab", "ctlplane") == "controller-0.lab"
    assert network_host_name("controller-0", "storage_mgmt") == "controller-0.storagemgmt.localdomain"
    files = node_hieradata(nodes[0], roles, placed[nodes[0].name], VIPS)
    assert files["net_ip_map"]["tripleo::virtual_ips"] == VIPS


def test_one_server_at_a_time_behind_an_http_check() -> None:
    db = _db() | {"bootstrap_only": False}
    db["haproxy"][0] |= {"backup": True, "check_port": 9200}
    roles, nodes = parse_role_data({"Controller": {"services": [db]}}), _nodes()[:3]
    (mysql,) = listeners(roles, nodes, placement(roles, nodes), VIPS)
    assert (mysql["one_at_a_time"], mysql["check_port"]) == (True, 9200)
    assert [s["backup"] for s in mysql["servers"]] == [False, True, True]
    db["haproxy"][0]["check_port"] = "http"
    with pytest.raises(InputError, match=r"haproxy\.0\.check_port.*'http' is not a port"):
        parse_service(db, "Controller", "mysql.yaml")
