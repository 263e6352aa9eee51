"""Fixtures for bare-metal unit tests: a migrated database on both backends and fake machines."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bmkit import FakeClock

from tripleo.baremetal import Conductor, Inventory, enroll, parse_nodes
from tripleo.baremetal.drivers import FAKE_MACHINES, FakeMachine, FakeMachines
from tripleo.storage import Database


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def machines() -> Iterator[FakeMachines]:
    FAKE_MACHINES.clear()
    yield FAKE_MACHINES
    FAKE_MACHINES.clear()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def conductor(db: Database, machines: FakeMachines, clock: FakeClock) -> Conductor:
    return Conductor(db, power_timeout=10, poll=1, clock=clock, sleep=clock.sleep)


@pytest.fixture
def add_nodes(conductor: Conductor, machines: FakeMachines) -> Callable[..., list[str]]:
    """Enroll fake nodes (machines created) and bring them to a state; returns their UUIDs."""

    def _add(*entries: dict[str, Any], state: str = "available") -> list[str]:
        for entry in entries:
            if entry["pm_addr"] not in machines.machines:
                machines.add(
                    entry["pm_addr"], FakeMachine(inventory=Inventory(cpus=8, macs=tuple(entry["mac"])))
                )
        uuids = [e.node.uuid for e in enroll(conductor, parse_nodes({"nodes": list(entries)}))]
        for node_uuid in uuids:
            if state in ("manageable", "available"):
                conductor.manage(node_uuid)
            if state == "available":
                conductor.provide(node_uuid)
        return uuids

    return _add
