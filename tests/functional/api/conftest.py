"""Fixtures for the undercloud API's functional tests (see apikit.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from apikit import Undercloud, serve_process

HEAT_SHAPED = Path(__file__).resolve().parents[3].parent / "shared" / "bench" / "heat-shaped"


@pytest.fixture(scope="module")
def heat_shaped() -> Path:
    if not (HEAT_SHAPED / "overcloud.yaml").is_file():
        pytest.skip(f"{HEAT_SHAPED} is absent (../shared beside the checkout)")
    return HEAT_SHAPED.resolve()  # as the client names its files (../shared may be a link)


@pytest.fixture(scope="module")
def undercloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Undercloud]:
    """``tripleo undercloud serve --backend noop`` (tokens required) in a private TRIPLEO_HOME."""
    with serve_process(tmp_path_factory.mktemp("undercloud"), "--backend", "noop") as cloud:
        yield cloud
