"""Consistent-hash rings built once by the undercloud, as TripleO's undercloud builds Swift's.

A service's role_data may declare ``rings``::

    rings:
      builder: swift-ring-builder   # the ring tool on the undercloud (Debian's package)
      hieradata: <key>              # the all_nodes key that carries the built rings to every node
      network: storage              # the devices are reached on the nodes' address there
      part_power: 10
      replicas: 3                   # at most: min(replicas, nodes running the service)
      min_part_hours: 1
      devices: [d1]                 # on every node running the service
      rings: {account: 6202, container: 6201, object: 6200}   # ring name -> port

The builders are state of the stack (``plans/<stack>/rings/<service>/``, like passwords.yaml): a deploy
adds the devices of new nodes, removes those of nodes that left, sets the replica count and rebalances only
when one of those changed (with a seed of the stack's, so the same inputs give the same ring); otherwise the
rings are read as they are. Every change happens on a copy swapped into place, so a crash leaves the old
builders or the new ones, and a dry run (``write=False``) changes nothing. Each ``<ring>.ring.gz`` reaches
the nodes base64-encoded in hieradata, so a ring that changes makes the service's steps run again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tripleo.errors import OperationError
from tripleo.fields import Reader

__all__ = ["RingSpec", "build_rings", "parse_rings", "rings_hieradata"]

_RECORD = "rings.json"


@dataclass(frozen=True)
class RingSpec:
    """What a service's ``rings`` says (see the module docstring)."""

    builder: str
    hieradata: str
    network: str
    part_power: int
    replicas: int
    min_part_hours: int
    devices: tuple[str, ...]
    rings: Mapping[str, int]


def parse_rings(r: Reader, value: Any) -> RingSpec | None:
    """The ``rings`` of a role_data (None when absent).

    :raises InputError: a missing or wrong value, with its YAML path.
    """
    if value is None:
        return None
    at = "rings"
    item = r.mapping(value, at, message="rings needs builder, hieradata, network, devices and rings")
    devices = r.texts(item.get("devices"), f"{at}.devices", empty=False, message="devices must list names")
    for name in devices:
        if not name or "/" in name or name.startswith("."):
            raise r.fail(f"{at}.devices", f"{name!r} is not a device name (a directory of the devices root)")
    rings = r.mapping(item.get("rings"), f"{at}.rings", message="rings.rings maps each ring name to its port")
    if not rings:
        raise r.fail(f"{at}.rings", "rings.rings maps each ring name to its port")
    ports = {
        str(k): r.integer(int(v) if isinstance(v, str) and v.isdecimal() else v, f"{at}.rings.{k}", 1, 65535)
        for k, v in rings.items()
    }
    return RingSpec(
        builder=r.text(item.get("builder"), f"{at}.builder", empty=False),
        hieradata=r.text(item.get("hieradata"), f"{at}.hieradata", empty=False),
        network=r.text(item.get("network"), f"{at}.network", empty=False),
        part_power=r.integer(item.get("part_power", 10), f"{at}.part_power", 1, 24),
        replicas=r.integer(item.get("replicas", 3), f"{at}.replicas", 1, 16),
        min_part_hours=r.integer(item.get("min_part_hours", 1), f"{at}.min_part_hours", 0, 24 * 365),
        devices=tuple(devices),
        rings=ports,
    )


def _run(builder: str, ring: Path, *args: str) -> None:
    try:
        done = subprocess.run([builder, str(ring), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise OperationError(
            f"{builder} is not installed on the undercloud (scripts/debian-packages installs it)"
        ) from None
    if done.returncode not in (0, 1):  # 1: done with warnings (e.g. nothing could move yet)
        last = (done.stdout + done.stderr).strip().splitlines()[-1:] or [""]
        raise OperationError(f"{builder} {ring.name} {args[0]}: {last[0]}")


def _seed(stack: str) -> str:
    return str(int(hashlib.sha256(stack.encode()).hexdigest()[:7], 16))


def _old(state: Path) -> Path:
    """Where :func:`_swap` keeps the previous builders until the new ones are in place."""
    return state.with_name(state.name + ".old")


def _update(spec: RingSpec, name: str, port: int, want: list[tuple[str, str]], work: Path,
            record: dict[str, Any], seed: str) -> bool:  # fmt: skip
    """Bring one ring's builder in ``work`` to the devices ``want`` ((address, device)); True: it changed."""
    builder = work / f"{name}.builder"
    replicas = min(spec.replicas, len({ip for ip, _ in want}))
    have = record.get(name, {})
    fresh = not builder.exists()
    if fresh:
        _run(spec.builder, builder, "create", str(spec.part_power), str(replicas), str(spec.min_part_hours))
    current = {(ip, dev) for ip, p, dev in have.get("devices", []) if p == port}
    wanted = set(want)
    if not fresh and current == wanted and have.get("replicas") == replicas:
        return False
    # one run of the tool per command (each costs ~0.7 s of Python start-up): its search values and its
    # older add syntax take every device at once
    gone = [f"r1z1-{ip}:{port}/{dev}" for ip, dev in sorted(current - wanted)]
    if gone:
        _run(spec.builder, builder, "remove", *gone, "--yes")
    new = [arg for ip, dev in sorted(wanted - current) for arg in (f"r1z1-{ip}:{port}/{dev}", "100")]
    if new:
        _run(spec.builder, builder, "add", *new)
    if not fresh and have.get("replicas") != replicas:
        _run(spec.builder, builder, "set_replicas", str(replicas))
    if not fresh:
        # the operator asked for the new layout: move partitions now, the replicators follow
        _run(spec.builder, builder, "pretend_min_part_hours_passed")
    _run(spec.builder, builder, "rebalance", "--seed", seed)
    record[name] = {"devices": sorted([ip, port, dev] for ip, dev in wanted), "replicas": replicas}
    return True


def build_rings(spec: RingSpec, addresses: Sequence[str], state: Path, stack: str,
                write: bool = True) -> dict[str, str]:  # fmt: skip
    """The rings of ``spec`` for nodes at ``addresses`` (on spec's network, in node order): ring name ->
    base64 of ``<ring>.ring.gz``. ``state`` holds the builders; with ``write`` False it is left as it was.

    :raises OperationError: no node runs the service, or the ring tool failed.
    """
    if not addresses:
        raise OperationError(f"rings {', '.join(spec.rings)}: no node has an address on {spec.network}")
    want = [(ip, dev) for ip in addresses for dev in spec.devices]
    old = _old(state)
    if not state.exists() and old.is_dir() and write:
        old.rename(state)  # a crash between the two renames of _swap: the old builders are the last good ones
    scratch = state.parent if state.parent.exists() else None
    with tempfile.TemporaryDirectory(prefix="rings-", dir=scratch) as tmp:
        work = Path(tmp) / "work"
        if state.is_dir():
            shutil.copytree(state, work)
        else:
            work.mkdir()
        record_file = work / _RECORD
        record = json.loads(record_file.read_text()) if record_file.exists() else {}
        changed, seed = False, _seed(stack)
        for name, port in spec.rings.items():
            changed |= _update(spec, name, port, want, work, record, seed)
        out = {n: base64.b64encode((work / f"{n}.ring.gz").read_bytes()).decode() for n in spec.rings}
        if changed and write:
            record_file.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
            _swap(work, state)
    return out


def _swap(work: Path, state: Path) -> None:
    """``work`` replaces ``state``: renames only, so a crash leaves one whole directory (the old one is kept
    as ``<state>.old`` until the new one is in place)."""
    state.parent.mkdir(parents=True, exist_ok=True)
    old = _old(state)
    if old.exists():
        shutil.rmtree(old)
    if state.exists():
        state.rename(old)
    shutil.move(str(work), str(state))
    if old.exists():
        shutil.rmtree(old)


def rings_hieradata(specs: Mapping[str, tuple[RingSpec, Sequence[str]]], state: Path, stack: str,
                    write: bool = True) -> dict[str, dict[str, str]]:  # fmt: skip
    """Every declaring service's rings as hieradata: ``{spec.hieradata: {ring: base64}}``; ``specs`` maps a
    service name to its spec and its nodes' addresses (builders under ``state/<service>``)."""
    return {
        spec.hieradata: build_rings(spec, addresses, state / service, stack, write)
        for service, (spec, addresses) in sorted(specs.items())
    }
