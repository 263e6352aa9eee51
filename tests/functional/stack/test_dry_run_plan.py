"""Issue 23: ``overcloud deploy --dry-run`` is the plan: on SQLite and on PostgreSQL it writes nothing to the
state database, and the next deploy runs the stack actions it printed. No lab: the roles have no servers,
so the stack, the VIPs, the services' chains and the rendering run without nodes (the lab deploy test
compares the config units per host: tests/functional/deploy)."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
import yaml

from tripleo.errors import OperationError
from tripleo.network.ipam import (
    PlannedAllocator,
    StackAllocator,
    allocate_port,
    release_stack_addresses,
    sync_networks,
)
from tripleo.network.model import Network, Pool, Subnet
from tripleo.storage import Database

REPO = Path(__file__).resolve().parents[3]
TRIPLEO = str(Path(sys.executable).with_name("tripleo"))
ECHO = REPO / "tests" / "data" / "services" / "echo"
ECHO_ARGS = ["-e", str(ECHO / "environment.yaml"), "--roles-file", str(ECHO / "roles_data.yaml")]


def _run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([TRIPLEO, *args], env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def _dump(url: str) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table, as text, sorted: two dumps are equal when nothing was written."""
    engine = sqlalchemy.create_engine(url)
    try:
        out = {}
        with engine.connect() as conn:
            for table in sqlalchemy.inspect(conn).get_table_names():
                rows = conn.execute(sqlalchemy.text(f'SELECT * FROM "{table}"'))
                out[table] = sorted(tuple(str(v) for v in row) for row in rows)
        return out
    finally:
        engine.dispose()


def _planned(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((r["resource"], r["action"]) for r in rows)


def test_a_dry_run_writes_nothing_and_the_deploy_runs_its_plan(db_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "TRIPLEO_HOME": str(tmp_path / "home"), "TRIPLEO_DB_URL": db_url}
    none = tmp_path / "no-servers.yaml"
    none.write_text("parameter_defaults:\n  ControllerCount: 0\n  ComputeCount: 0\n")
    _run(env, "overcloud", "deploy", "-e", str(none))
    before = _dump(db_url)
    assert before["net_networks"], "the first deploy put its networks into the IPAM"

    dry = _run(env, "overcloud", "deploy", "-e", str(none), *ECHO_ARGS, "--dry-run", "-f", "json")
    planned = json.loads(dry.stdout)
    # a service added to a chain is no server: no note of servers whose units are unknown
    assert planned["exists"] and planned["notes"] == [], planned
    controller = yaml.safe_load((ECHO / "roles_data.yaml").read_text())[0]["ServicesDefault"]
    echo = controller.index("OS::TripleO::Services::Echo")  # its place in the role's service chain
    assert (f"ControllerServiceChain/ServiceChain/{echo}", "added") in _planned(planned["stack_plan"])
    assert _dump(db_url) == before

    _run(env, "overcloud", "deploy", "-e", str(none), *ECHO_ARGS)
    status = json.loads(_run(env, "overcloud", "status", "-f", "json").stdout)
    assert status["deployment_status"] == "DEPLOY_COMPLETE"
    assert _planned(status["stack_plan"]) == _planned(planned["stack_plan"])
    again = json.loads(_run(env, "overcloud", "deploy", "-e", str(none), *ECHO_ARGS, "--dry-run", "-f",
                            "json").stdout)  # fmt: skip
    assert again["stack_plan"] == []


def _network(name: str, cidr: str, start: str, end: str) -> Network:
    pool = Pool(ipaddress.ip_address(start), ipaddress.ip_address(end))
    return Network(name=name, name_lower=name.lower(), v4=Subnet(ipaddress.ip_network(cidr), (pool,)))


def test_the_planned_ipam_decides_what_the_stack_ipam_then_does(db_url: str) -> None:
    """The dry run's allocator gives each port the address the deploy's then takes: a held port keeps its
    address, a departed node's address is free again, a new port takes the first free one, a fixed address
    must be free; and it writes nothing."""
    db = Database(db_url)
    db.upgrade()
    net = _network("Api", "10.9.0.0/24", "10.9.0.10", "10.9.0.20")
    sync_networks(db, [net])
    real = StackAllocator(db, "oc", {})
    first = [real.allocate(net, node, "api", None) for node in ("n0", "n1", "n2")]
    allocate_port(db, net.name, owner="other/x", name="api")  # another stack's, never touched
    vip = real.allocate(net, "vip", "api_virtual_ip", None)
    before = _dump(db_url)

    planned = PlannedAllocator(db, "oc", [net])
    assert planned.depart(["n0", "n2"]) == 1  # n1 left the stack
    decided = [planned.allocate(net, node, "api", None) for node in ("n0", "n2", "n3", "n4")]
    assert planned.allocate(net, "vip", "api_virtual_ip", None) == vip
    with pytest.raises(OperationError, match="already held by oc/n0 port api"):
        planned.allocate(net, "n5", "api", str(first[0]))
    with pytest.raises(OperationError, match="already has"):
        planned.allocate(net, "n0", "api", "10.9.0.19")
    assert _dump(db_url) == before
    assert decided[:2] == [first[0], first[2]] and decided[2] == first[1]  # n1's address is free again

    assert release_stack_addresses(db, "oc", keep=["n0", "n2"], vips=False) == 1
    assert [real.allocate(net, node, "api", None) for node in ("n0", "n2", "n3", "n4")] == decided
    moved = _network("Api", "10.8.0.0/24", "10.8.0.10", "10.8.0.20")
    with pytest.raises(OperationError, match=r"cannot change 10\.9\.0\.0/24 to 10\.8\.0\.0/24"):
        PlannedAllocator(db, "oc", [moved])
