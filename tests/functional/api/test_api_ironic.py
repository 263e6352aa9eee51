"""Acceptance 1 (Bare Metal) on ``fake``-driver nodes: python-openstackclient with python-ironicclient and
openstacksdk against the Bare Metal API, microversion negotiation, 400 for a refused transition, 409 for a
locked node. The server runs in this process (the fake machines live in its memory)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from apikit import Undercloud, serve_thread

from tripleo.baremetal import Conductor, enroll, load_nodes
from tripleo.baremetal.drivers import FAKE_MACHINES
from tripleo.storage import Database, acquire, open_database, release

NAMES = ("api-fake-0", "api-fake-1")


@pytest.fixture(scope="module")
def bm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Undercloud]:
    home = tmp_path_factory.mktemp("ironic")
    nodes = [
        {
            "name": n,
            "pm_type": "fake",
            "pm_addr": n,
            "pm_password": "s3cret-pw",
            "cpu": 2,
            "memory": 4096,
            "disk": 20,
            "arch": "x86_64",
            "mac": [f"52:54:00:aa:00:0{i}"],
        }
        for i, n in enumerate(NAMES)
    ]
    (home / "nodes.json").write_text(json.dumps({"nodes": nodes}))
    for name in NAMES:
        FAKE_MACHINES.add(name)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("TRIPLEO_HOME", str(home))
            patch.delenv("TRIPLEO_DB_URL", raising=False)
            enroll(Conductor(open_database()), load_nodes(home / "nodes.json"))
        with serve_thread(home) as cloud:
            yield cloud
    finally:
        for name in NAMES:
            FAKE_MACHINES.machines.pop(name, None)


def _db(cloud: Undercloud) -> Database:
    return Database(f"sqlite:///{cloud.home / 'tripleo.sqlite'}")


def _cli_node(cloud: Undercloud, name: str) -> dict[str, object]:
    out = cloud.tripleo("baremetal", "node", "show", name, "-f", "json").stdout
    node: dict[str, object] = json.loads(out)
    return node


def test_node_list_show_power_manage_provide(bm: Undercloud) -> None:
    listed = {n["name"]: n for n in bm.openstack_json("baremetal", "node", "list")}
    assert set(listed) == set(NAMES)
    assert listed["api-fake-0"]["provision_state"] == "enroll"

    shown = bm.openstack_json("baremetal", "node", "show", "api-fake-0")
    assert shown["driver"] == "fake" and shown["driver_info"]["pm_password"] == "******"
    assert shown["properties"]["memory_mb"] == 4096

    bm.openstack("baremetal", "node", "power", "on", "api-fake-0")
    assert _cli_node(bm, "api-fake-0")["power_state"] == "power on"  # the CLI reads the same storage
    assert FAKE_MACHINES.machines["api-fake-0"].power == "power on"
    bm.openstack("baremetal", "node", "power", "off", "api-fake-0")
    assert FAKE_MACHINES.machines["api-fake-0"].power == "power off"

    bm.openstack("baremetal", "node", "manage", "api-fake-0")
    assert _cli_node(bm, "api-fake-0")["provision_state"] == "manageable"
    bm.openstack("baremetal", "node", "inspect", "api-fake-0")
    inspected = _cli_node(bm, "api-fake-0")
    assert inspected["provision_state"] == "manageable" and "inspection" in inspected["extra"]  # type: ignore[operator]
    bm.openstack("baremetal", "node", "provide", "api-fake-0")
    shown = bm.openstack_json("baremetal", "node", "show", "api-fake-0")
    assert (shown["provision_state"], shown["power_state"]) == ("available", "power off")

    bm.openstack("baremetal", "node", "maintenance", "set", "api-fake-0", "--reason", "disk swap")
    shown = _cli_node(bm, "api-fake-0")
    assert (shown["maintenance"], shown["maintenance_reason"]) == (True, "disk swap")
    bm.openstack("baremetal", "node", "maintenance", "unset", "api-fake-0")
    assert _cli_node(bm, "api-fake-0")["maintenance"] is False

    ports = bm.openstack_json("baremetal", "port", "list")
    assert {p["address"] for p in ports} == {"52:54:00:aa:00:00", "52:54:00:aa:00:01"}


def test_refused_transition_is_400_and_locked_node_409(bm: Undercloud) -> None:
    refused = bm.openstack("baremetal", "node", "provide", "api-fake-1", code=1)
    assert "HTTP 400" in refused.stderr and 'while it is in state "enroll"' in refused.stderr
    assert _cli_node(bm, "api-fake-1")["provision_state"] == "enroll"

    uuid = str(_cli_node(bm, "api-fake-1")["uuid"])
    db = _db(bm)
    acquire(db, [f"node:{uuid}"], "a test holding the node")
    try:
        # (python-ironicclient retries a 409 five times, 2 s apart, as it should: asked directly here)
        headers = {"X-Auth-Token": bm.token(), "X-OpenStack-Ironic-API-Version": "latest"}
        for path, target in (("provision", "manage"), ("power", "power on")):
            reply = requests.put(
                f"{bm.ironic_url}/v1/nodes/api-fake-1/states/{path}",
                json={"target": target},
                headers=headers,
                timeout=10,
            )
            assert reply.status_code == 409, reply.text
            fault = json.loads(reply.json()["error_message"])
            assert "is locked" in fault["faultstring"] and fault["faultcode"] == "Client"
    finally:
        release(db, [f"node:{uuid}"])
    assert _cli_node(bm, "api-fake-1")["provision_state"] == "enroll"
    assert FAKE_MACHINES.machines["api-fake-1"].power == "power off"


def test_microversion_negotiation_and_headers(bm: Undercloud) -> None:
    root = requests.get(bm.ironic_url + "/", timeout=10)
    assert root.status_code == 200
    version = root.json()["default_version"]
    assert (version["min_version"], version["version"]) == ("1.1", "1.81")
    v1 = requests.get(bm.ironic_url + "/v1", timeout=10).json()
    assert (v1["version"]["min_version"], v1["version"]["version"]) == ("1.1", "1.81")
    assert v1["nodes"][0]["href"] == f"{bm.ironic_url}/v1/nodes/"
    token = {"X-Auth-Token": bm.token()}

    def get(path: str, version: str | None) -> requests.Response:
        headers = {**token, **({"X-OpenStack-Ironic-API-Version": version} if version else {})}
        return requests.get(bm.ironic_url + path, headers=headers, timeout=10)

    for path, asked, status, answered in [
        ("/v1/nodes", None, 200, "1.1"),
        ("/v1/nodes", "latest", 200, "1.81"),
        ("/v1/nodes", "1.46", 200, "1.46"),
        ("/v1/nodes", "1.999", 406, "1.1"),
        ("/v1/nodes/nope", "1.50", 404, "1.50"),
    ]:
        reply = get(path, asked)
        assert reply.status_code == status, (asked, reply.text)
        assert reply.headers["X-OpenStack-Ironic-API-Minimum-Version"] == "1.1"
        assert reply.headers["X-OpenStack-Ironic-API-Maximum-Version"] == "1.81"
        assert reply.headers["X-OpenStack-Ironic-API-Version"] == answered
    unauthenticated = requests.get(bm.ironic_url + "/v1/nodes", timeout=10)
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["X-OpenStack-Ironic-API-Maximum-Version"] == "1.81"


def test_openstacksdk_baremetal(bm: Undercloud) -> None:
    conn = bm.sdk()
    nodes = {n.name: n for n in conn.baremetal.nodes(details=True)}
    assert set(nodes) == set(NAMES)
    node = conn.baremetal.get_node("api-fake-1")
    assert node.driver == "fake" and node.provision_state == "enroll"
