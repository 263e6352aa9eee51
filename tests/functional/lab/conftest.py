"""Fixtures for the lab's functional tests: real namespaces, bridges, BMCs and sshd, as root.

Every lab made here is torn down in a finalizer, also when a test fails. The tests share the host's fixed lab
names (``tl-ctlplane``, ...), so labs are module-scoped and never overlap.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from labkit import RunningLab, running_lab, skip_reason


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = skip_reason()
    for item in items:
        if reason and item.get_closest_marker("lab"):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def lab_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TRIPLEO_HOME of its own, so the tests never touch the operator's."""
    return tmp_path_factory.mktemp("tripleo-home")


@pytest.fixture(scope="module")
def lab3(lab_home: Path) -> Iterator[RunningLab]:
    """``tripleo lab up --nodes 3``: node-0 a controller on every network, node-1 and node-2 computes."""
    yield from running_lab(lab_home, "--nodes", "3")


@pytest.fixture(scope="module")
def lab_from_config(lab_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    """A lab from a config file: node-2 has no storage NIC, node-1 no internal_api NIC."""
    path = tmp_path_factory.mktemp("config") / "lab.yaml"
    path.write_text(
        "nodes:\n"
        "  - {name: node-0, networks: [ctlplane, storage, internal_api], profile: control}\n"
        "  - {name: node-1, networks: [ctlplane, storage]}\n"
        "  - {name: node-2, networks: [ctlplane, internal_api]}\n"
    )
    yield from running_lab(lab_home, "--config", str(path))
