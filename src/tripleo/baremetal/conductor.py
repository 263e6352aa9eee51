"""The conductor: every change to a node, under the node's lock, one committed state at a time.

Each provision transition commits on its own (``enroll -> verifying`` is on disk before the BMC is asked),
so a crash leaves the last consistent state. A node in a transient state (``inspecting``, ``cleaning``, ...)
whose lock owner died was interrupted: the next command that takes its lock moves it to the matching failed
state first (as Ironic's conductor take-over does), so the work can simply be run again.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tripleo.baremetal import states
from tripleo.baremetal.drivers import Driver, Provisioner, build_driver
from tripleo.baremetal.node import Node
from tripleo.errors import InputError, OperationError, TripleoError
from tripleo.storage import Database, LockedError, acquire, release
from tripleo.storage.baremetal_models import NodeRow, PortRow

__all__ = ["Conductor", "DriverFactory", "Outcome", "lock_name"]

LOG = logging.getLogger(__name__)
DriverFactory = Callable[[str, dict[str, Any], "Provisioner | None"], Driver]
# States whose nodes may be removed from the inventory (nothing runs on them).
DELETABLE = frozenset(
    {states.ENROLL, states.MANAGEABLE, states.AVAILABLE, states.INSPECT_FAILED, states.CLEAN_FAILED}
)


def lock_name(node_uuid: str) -> str:
    return f"node:{node_uuid}"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Outcome:
    """The result of one node's action in a batch: the node afterwards, or the error."""

    ident: str
    node: Node | None = None
    error: TripleoError | None = None


class Conductor:
    """Acts on nodes: reads, transitions, power, inspection, cleaning, deletion.

    :param db: the database (migrated).
    :param provisioner: the lab's primitives, for ``lab`` nodes (None elsewhere).
    :param power_timeout: seconds a power change may take (Redfish BMCs can take several).
    :param poll: seconds between BMC polls.
    :param clock, sleep: injectable for tests.
    """

    def __init__(
        self,
        db: Database,
        *,
        provisioner: Provisioner | None = None,
        drivers: DriverFactory = build_driver,
        power_timeout: float = 60.0,
        poll: float = 0.5,
        workers: int = 8,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.db = db
        self.provisioner = provisioner
        self.drivers = drivers
        self.power_timeout = power_timeout
        self.poll = poll
        self.workers = workers
        self.clock = clock
        self.sleep = sleep
        protect_sqlite(db)

    # -- reading ------------------------------------------------------------------------------------------

    def nodes(self) -> list[Node]:
        """Every node, by name (unnamed nodes last, by UUID)."""
        with self.db.transaction() as session:
            rows = session.scalars(select(NodeRow)).all()
            nodes = [Node.from_row(r) for r in rows]
        return sorted(nodes, key=lambda n: (n.name is None, n.name or "", n.uuid))

    def resolve(self, ident: str) -> str:
        """The UUID of the node named or numbered ``ident``.

        :raises InputError: no such node.
        """
        with self.db.transaction() as session:
            row = (
                session.get(NodeRow, ident)
                or session.scalars(select(NodeRow).where(NodeRow.name == ident)).first()
            )
            if row is None:
                raise InputError(f"no node named or with UUID {ident!r}")
            return row.uuid

    def get(self, ident: str) -> Node:
        """:raises InputError: no such node."""
        node_uuid = self.resolve(ident)
        with self.db.transaction() as session:
            return Node.from_row(self._row(session, node_uuid))

    def _row(self, session: Session, node_uuid: str) -> NodeRow:
        row = session.get(NodeRow, node_uuid)
        if row is None:
            raise OperationError(f"node {node_uuid} was deleted meanwhile")
        return row

    def driver(self, node_uuid: str) -> Driver:
        """The node's driver, with its real credentials (never returned to callers outside the package)."""
        with self.db.transaction() as session:
            row = self._row(session, node_uuid)
            name, info = row.driver, dict(row.driver_info)
        return self.drivers(name, info, self.provisioner)

    # -- writing ------------------------------------------------------------------------------------------

    def move(self, node_uuid: str, event: str, **changes: Any) -> Node:
        """Apply a provision-state event (and other field changes) in one transaction."""
        with self.db.transaction() as session:
            row = self._row(session, node_uuid)
            target = states.next_state(row.provision_state, event, f"node {row.name or row.uuid}")
            LOG.info("node %s: %s -> %s", row.name or row.uuid, row.provision_state, target)
            row.provision_state = target
            row.provision_updated_at = now()
            for key, value in changes.items():
                setattr(row, key, value)
            return Node.from_row(row)

    def update(self, node_uuid: str, apply: Callable[[Session, NodeRow], None]) -> Node:
        with self.db.transaction() as session:
            row = self._row(session, node_uuid)
            apply(session, row)
            return Node.from_row(row)

    def set_fields(self, node_uuid: str, **changes: Any) -> Node:
        def apply(_session: Session, row: NodeRow) -> None:
            for key, value in changes.items():
                setattr(row, key, value)

        return self.update(node_uuid, apply)

    @contextmanager
    def locked(self, node_uuid: str, purpose: str) -> Iterator[Node]:
        """Hold the node's lock; a node left transient by a dead process is recovered first.

        :raises LockedError: a live process holds it ("node X is locked by ... (pid N on host)").
        """
        name = lock_name(node_uuid)
        try:
            acquire(self.db, [name], purpose)
        except LockedError as exc:
            label = self.get(node_uuid).label
            raise LockedError(f"node {label}{exc.message[len(name) :]}") from None
        try:
            yield self._recover(node_uuid)
        finally:
            release(self.db, [name])

    def _recover(self, node_uuid: str) -> Node:
        with self.db.transaction() as session:
            row = self._row(session, node_uuid)
            was = row.provision_state
            if was in states.TRANSIENT:
                row.provision_state = states.INTERRUPTED[was]
                row.provision_updated_at = now()
                row.last_error = f"{was} was interrupted: the process working on the node died"
                LOG.warning("node %s: %s interrupted, now %s", row.name or row.uuid, was, row.provision_state)
            return Node.from_row(row)

    def run(self, node_uuid: str, event: str, work: Callable[[Driver], Any]) -> Any:
        """``event`` into a transient state, ``work``, then ``done`` (or ``fail`` with the error)."""
        self.move(node_uuid, event, last_error=None)
        try:
            result = work(self.driver(node_uuid))
        except TripleoError as exc:
            self.move(node_uuid, "fail", last_error=exc.message)
            raise
        except Exception as exc:  # a driver bug must not leave the node transient
            self.move(node_uuid, "fail", last_error=f"{type(exc).__name__}: {exc}")
            raise OperationError(f"{self.get(node_uuid).label}: {type(exc).__name__}: {exc}") from exc
        return result

    # -- power --------------------------------------------------------------------------------------------

    def wait_power(self, driver: Driver, target: str, label: str) -> None:
        """Poll the BMC until the node reaches ``target``.

        :raises OperationError: not there within ``power_timeout``.
        """
        deadline = self.clock() + self.power_timeout
        while True:
            state = driver.power.get_power_state()
            if state == target:
                return
            if self.clock() >= deadline:
                raise OperationError(
                    f"node {label}: not {target} after {self.power_timeout:.0f} s "
                    f"(the BMC reports {state or 'a power transition'})"
                )
            self.sleep(self.poll)

    def set_power(self, node_uuid: str, driver: Driver, target: str) -> Node:
        """Ask for ``target`` unless the node is there already, wait for it, record it."""
        label = self.get(node_uuid).label
        if driver.power.get_power_state() != target:
            driver.power.set_power_state(target)
            self.wait_power(driver, target, label)
        return self.set_fields(node_uuid, power_state=target)

    def power(self, ident: str, target: str) -> Node:
        """``baremetal node power on|off``: under the node's lock, waiting until the BMC reports it."""
        if target not in (states.POWER_ON, states.POWER_OFF):
            raise InputError(f"power state {target!r}: expected {states.POWER_ON!r} or {states.POWER_OFF!r}")
        node_uuid = self.resolve(ident)
        with self.locked(node_uuid, target):
            return self.set_power(node_uuid, self.driver(node_uuid), target)

    # -- lifecycle ----------------------------------------------------------------------------------------

    def manage(self, ident: str) -> Node:
        """To ``manageable``; from ``enroll`` this verifies the BMC (credentials and reachability)."""
        node_uuid = self.resolve(ident)
        with self.locked(node_uuid, "manage") as node:
            return self.manage_locked(node_uuid, node)

    def manage_locked(self, node_uuid: str, node: Node) -> Node:
        if node.provision_state != states.ENROLL:
            return self.move(node_uuid, "manage", last_error=None)

        def verify(driver: Driver) -> str | None:
            return driver.power.get_power_state()

        power = self.run(node_uuid, "manage", verify)
        return self.move(node_uuid, "done", power_state=power)

    def provide(self, ident: str) -> Node:
        """``manageable`` -> ``cleaning`` (power off, erase the disk) -> ``available``."""
        node_uuid = self.resolve(ident)
        with self.locked(node_uuid, "provide") as node:
            if node.provision_state == states.AVAILABLE:
                return node
            return self.provide_locked(node_uuid)

    def provide_locked(self, node_uuid: str) -> Node:
        self.run(node_uuid, "provide", lambda driver: self.clean(node_uuid, driver))
        return self.move(node_uuid, "done")

    def clean(self, node_uuid: str, driver: Driver) -> None:
        """Power off and erase what a deployment wrote."""
        self.set_power(node_uuid, driver, states.POWER_OFF)
        driver.deploy.tear_down()

    def delete(self, ident: str) -> Node:
        """Remove a node (and its ports) from the inventory; never one that is deployed or working."""
        node_uuid = self.resolve(ident)
        with self.locked(node_uuid, "delete") as node:
            if node.provision_state not in DELETABLE or node.instance_uuid:
                what = (
                    f"reserved for instance {node.instance_uuid}"
                    if node.instance_uuid
                    else node.provision_state
                )
                raise OperationError(
                    f"node {node.label} is {what}: only nodes in {', '.join(sorted(DELETABLE))} "
                    "without an instance can be deleted"
                )
            with self.db.transaction() as session:
                session.delete(self._row(session, node_uuid))
            return node

    def set_maintenance(self, ident: str, on: bool, reason: str | None = None) -> Node:
        """Put a node in maintenance (the scheduler and profiles skip it) or take it out."""
        node_uuid = self.resolve(ident)
        with self.locked(node_uuid, "maintenance"):
            return self.set_fields(node_uuid, maintenance=on, maintenance_reason=reason if on else None)

    def each(self, idents: Sequence[str], action: Callable[[str], Node]) -> list[Outcome]:
        """Run ``action`` on every node, several at a time; one outcome per node, in order."""

        def one(ident: str) -> Outcome:
            try:
                return Outcome(ident, node=action(ident))
            except TripleoError as exc:
                return Outcome(ident, error=exc)

        if not idents:
            return []
        with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(idents)))) as pool:
            return list(pool.map(one, idents))

    def port_owner(self, session: Session, address: str) -> NodeRow | None:
        port = session.scalars(select(PortRow).where(PortRow.address == address)).first()
        return port.node if port is not None else None


def protect_sqlite(db: Database) -> None:
    """A SQLite file holds BMC passwords: make it and its journal files readable by the owner only."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = url.database + suffix
        try:
            if stat.S_IMODE(os.stat(path).st_mode) & 0o077:
                os.chmod(path, 0o600)
        except FileNotFoundError:
            continue
