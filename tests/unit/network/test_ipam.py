"""IPAM on both backends: pools, fixed IPs, VIPs, release, IPv6, no duplicates under 16 racing processes."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tripleo.errors import InputError, OperationError
from tripleo.network import (
    PoolExhaustedError,
    allocate_port,
    allocate_vip,
    ensure_network,
    list_ports,
    release_port,
)
from tripleo.storage import Database

WORKER = Path(__file__).with_name("ipam_worker.py")


@pytest.fixture
def db(db_url: str) -> Database:
    database = Database(db_url)
    database.upgrade()
    return database


def test_ports_come_from_the_pool_in_order_and_carry_the_subnet(db: Database) -> None:
    ensure_network(db, "InternalApi", "172.16.2.0/24", [("172.16.2.10", "172.16.2.12")], vlan=20, mtu=1400)
    first = allocate_port(db, "InternalApi", owner="controller-0", name="internal_api")
    second = allocate_port(db, "InternalApi", owner="compute-0", name="internal_api")
    assert (first.ip, second.ip) == ("172.16.2.10", "172.16.2.11")
    assert first.ip_netmask == "172.16.2.10/24" and first.vlan == 20 and first.mtu == 1400
    # asking again for the same port gives the same address
    assert allocate_port(db, "InternalApi", owner="controller-0", name="internal_api") == first


def test_pool_running_dry_names_the_network(db: Database) -> None:
    ensure_network(db, "Storage", "172.16.1.0/24", [("172.16.1.10", "172.16.1.11")])
    allocate_port(db, "Storage", owner="n0", name="storage")
    allocate_port(db, "Storage", owner="n1", name="storage")
    with pytest.raises(
        PoolExhaustedError, match=r"network Storage: no free address .*172\.16\.1\.10-172\.16\.1\.11"
    ):
        allocate_port(db, "Storage", owner="n2", name="storage")


def test_release_frees_the_address_for_the_next_port(db: Database) -> None:
    ensure_network(db, "Tenant", "172.16.0.0/24", [("172.16.0.10", "172.16.0.10")])
    port = allocate_port(db, "Tenant", owner="n0", name="tenant")
    assert release_port(db, port.id) is True
    assert release_port(db, port.id) is False
    assert allocate_port(db, "Tenant", owner="n1", name="tenant").ip == "172.16.0.10"
    assert [p.owner for p in list_ports(db, "Tenant")] == ["n1"]


def test_fixed_ips_and_vips(db: Database) -> None:
    ensure_network(db, "External", "10.0.0.0/24", [("10.0.0.4", "10.0.0.250")], gateway="10.0.0.1", vip=True)
    fixed = allocate_port(db, "External", owner="controller-0", name="external", fixed_ip="10.0.0.50")
    assert fixed.ip == "10.0.0.50" and fixed.gateway == "10.0.0.1"
    vip = allocate_vip(db, "External")
    assert vip.kind == "vip" and vip.ip == "10.0.0.4" and vip.owner == "vip"
    with pytest.raises(OperationError, match=r"10\.0\.0\.50 is already held by controller-0 port external"):
        allocate_port(db, "External", owner="controller-1", name="external", fixed_ip="10.0.0.50")
    with pytest.raises(InputError, match=r"fixed IP 10\.9\.9\.9 is outside its subnet 10\.0\.0\.0/24"):
        allocate_vip(db, "External", name="other", fixed_ip="10.9.9.9")
    with pytest.raises(InputError, match="no network named 'Nope'"):
        allocate_port(db, "Nope", owner="x", name="y")


def test_gateway_network_and_broadcast_are_never_handed_out(db: Database) -> None:
    ensure_network(db, "Mgmt", "10.0.1.0/30", [("10.0.1.0", "10.0.1.3")], gateway="10.0.1.1")
    assert allocate_port(db, "Mgmt", owner="n0", name="m").ip == "10.0.1.2"
    with pytest.raises(PoolExhaustedError, match="network Mgmt"):
        allocate_port(db, "Mgmt", owner="n1", name="m")


def test_ipv6_network_with_a_huge_pool(db: Database) -> None:
    ensure_network(
        db, "InternalApi6", "fd00:fd00:fd00:2000::/64",
        [("fd00:fd00:fd00:2000::10", "fd00:fd00:fd00:2000:ffff:ffff:ffff:fffe")],
    )  # fmt: skip
    ips = [allocate_port(db, "InternalApi6", owner=f"n{i}", name="ia").ip for i in range(3)]
    assert ips == ["fd00:fd00:fd00:2000::10", "fd00:fd00:fd00:2000::11", "fd00:fd00:fd00:2000::12"]
    assert allocate_port(db, "InternalApi6", owner="n9", name="ia").ip_netmask.endswith("/64")


def test_changing_the_cidr_of_a_network_in_use_is_refused(db: Database) -> None:
    ensure_network(db, "Storage", "172.16.1.0/24", [("172.16.1.10", "172.16.1.20")])
    allocate_port(db, "Storage", owner="n0", name="s")
    with pytest.raises(
        OperationError, match=r"cannot change 172\.16\.1\.0/24 to 172\.17\.1\.0/24 while ports use it"
    ):
        ensure_network(db, "Storage", "172.17.1.0/24", [("172.17.1.10", "172.17.1.20")])


@pytest.mark.slow
def test_sixteen_racing_processes_never_share_an_address(db: Database, db_url: str, tmp_path: Path) -> None:
    """Acceptance 4: 16 worker processes allocate 2,000 ports on one /21: 2,000 distinct addresses."""
    ensure_network(db, "Big", "10.8.0.0/21", [("10.8.0.2", "10.8.7.254")])
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), db_url, "Big", str(i), "125", str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(16)
    ]
    time.sleep(0.5)
    go.touch()  # all start together
    addresses: list[str] = []
    for proc in workers:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        addresses += json.loads(out)
    assert len(addresses) == 2000
    assert len(set(addresses)) == 2000
    net = ipaddress.ip_network("10.8.0.0/21")
    assert all(ipaddress.ip_address(a) in net for a in addresses)
    stored = list_ports(db, "Big")
    assert len(stored) == 2000 and {p.ip for p in stored} == set(addresses)
