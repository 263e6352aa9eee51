"""One image store for the container test modules: the images are built once per test session (the base
takes a minute or two), and every module's TRIPLEO_HOME uses it through TRIPLEO_CONTAINER_STORE."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def shared_image_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    before = os.environ.get("TRIPLEO_CONTAINER_STORE")
    if not before:  # a developer's own store (exported) is kept across runs
        os.environ["TRIPLEO_CONTAINER_STORE"] = str(tmp_path_factory.mktemp("image-store"))
    yield
    if not before:
        os.environ.pop("TRIPLEO_CONTAINER_STORE", None)
