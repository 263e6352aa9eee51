"""Rings built by the undercloud (tripleo.config.rings) with Debian's real swift-ring-builder: built once,
read again unchanged, rebalanced when a node joins or leaves, untouched by a dry run; bad ``rings``
refused."""

from __future__ import annotations

import base64
import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tripleo.config.rings import RingSpec, build_rings, parse_rings
from tripleo.errors import InputError
from tripleo.fields import Reader

BUILDER = "swift-ring-builder"
pytestmark = pytest.mark.skipif(
    shutil.which(BUILDER) is None, reason="Debian's swift package (swift-ring-builder) is not installed"
)

GOOD = {"builder": BUILDER, "hieradata": "k", "network": "storage", "devices": ["d1"], "rings": {"a": 1}}
SPEC = RingSpec(builder=BUILDER, hieradata="rings", network="storage", part_power=6, replicas=3,
                min_part_hours=1, devices=("d1",), rings={"account": 6202, "object": 6200})  # fmt: skip


def _devices(encoded: str) -> list[tuple[str, int, str]]:
    """The devices a .ring.gz holds (Swift's own format: a JSON header after a magic and a length)."""
    raw = gzip.decompress(base64.b64decode(encoded))
    assert raw[:4] == b"R1NG"  # Swift's ring format since 2.x
    length = int.from_bytes(raw[6:10], "big")
    meta: dict[str, Any] = json.loads(raw[10 : 10 + length])
    return sorted((d["ip"], d["port"], d["device"]) for d in meta["devs"] if d)


def _replicas(encoded: str) -> int:
    raw = gzip.decompress(base64.b64decode(encoded))
    length = int.from_bytes(raw[6:10], "big")
    return int(json.loads(raw[10 : 10 + length])["replica_count"])


def test_rings_are_built_once_and_follow_the_nodes(tmp_path: Path) -> None:
    state = tmp_path / "rings" / "swift_storage"
    first = build_rings(SPEC, ["10.0.0.1"], state, "overcloud")
    assert set(first) == {"account", "object"}
    assert _devices(first["object"]) == [("10.0.0.1", 6200, "d1")]
    assert _devices(first["account"]) == [("10.0.0.1", 6202, "d1")]
    assert _replicas(first["object"]) == 1  # min(3, one node)
    assert (state / "object.builder").exists()
    # nothing changed: the same bytes (no rebalance)
    assert build_rings(SPEC, ["10.0.0.1"], state, "overcloud") == first
    # two nodes join: added, replicas 3, rebalanced
    three = build_rings(SPEC, ["10.0.0.1", "10.0.0.2", "10.0.0.3"], state, "overcloud")
    assert _devices(three["object"]) == [(f"10.0.0.{i}", 6200, "d1") for i in (1, 2, 3)]
    assert _replicas(three["object"]) == 3
    # one leaves: removed; the builder keeps the rest
    two = build_rings(SPEC, ["10.0.0.1", "10.0.0.3"], state, "overcloud")
    assert _devices(two["object"]) == [("10.0.0.1", 6200, "d1"), ("10.0.0.3", 6200, "d1")]
    assert _replicas(two["object"]) == 2


def test_a_dry_run_builds_in_scratch_and_keeps_the_state(tmp_path: Path) -> None:
    state = tmp_path / "rings" / "swift_storage"
    build_rings(SPEC, ["10.0.0.1"], state, "overcloud")
    before = {p.name: p.read_bytes() for p in state.iterdir() if p.is_file()}
    planned = build_rings(SPEC, ["10.0.0.1", "10.0.0.2"], state, "overcloud", write=False)
    assert _devices(planned["object"]) == [("10.0.0.1", 6200, "d1"), ("10.0.0.2", 6200, "d1")]
    assert {p.name: p.read_bytes() for p in state.iterdir() if p.is_file()} == before
    fresh = tmp_path / "never"
    build_rings(SPEC, ["10.0.0.1"], fresh, "overcloud", write=False)
    assert not fresh.exists()


def test_a_crash_between_the_renames_keeps_the_last_good_builders(tmp_path: Path) -> None:
    state = tmp_path / "rings" / "swift_storage"
    first = build_rings(SPEC, ["10.0.0.1"], state, "overcloud")
    state.rename(state.with_name(state.name + ".old"))  # as a crash after the first rename leaves it
    assert build_rings(SPEC, ["10.0.0.1"], state, "overcloud") == first
    assert not state.with_name(state.name + ".old").exists()


def test_good_rings_parse() -> None:
    spec = parse_rings(Reader("swift.yaml"), GOOD)
    assert spec is not None and spec.rings == {"a": 1} and spec.replicas == 3


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({**GOOD, "builder": None}, "rings.builder"),
        ({**GOOD, "devices": ["../d"]}, "rings.devices"),
        ({**GOOD, "rings": {"a": 70000}}, "rings.rings.a"),
        ({**GOOD, "rings": {}}, "rings.rings"),
    ],
)
def test_bad_rings_are_refused_with_their_path(value: dict[str, Any], path: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_rings(Reader("swift.yaml", at="outputs.role_data.value"), value)
    assert caught.value.path == f"outputs.role_data.value.{path}"
    assert caught.value.file == "swift.yaml"
