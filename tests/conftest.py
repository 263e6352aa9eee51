"""Shared fixtures: where ../shared is, and a helper to write template trees."""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


# pytest-xdist (`make test` runs two workers): the scheduler below sends each group of tests to one worker,
# in file order. A module is a group (its module-scoped fixtures are made once); the three long lab modules
# are groups of their own, pinned to subnets no other lab takes (labkit.pinned_lab), so they run beside the
# rest; every other lab module (marked `lab`) shares one group, since they use the default lab's name and
# subnets (tl) and must not overlap. The long groups go first, so that the shorter ones fill in beside them.
_OWN_GROUP = {"tests/functional/deploy/": "lab-deploy", "tests/functional/containers/": "lab-containers",
              "tests/functional/ha/": "lab-ha"}  # fmt: skip


@functools.cache
def xdist_group_of(path: str) -> str:
    """The xdist group of a test module (its path from the repository's root)."""
    own = next((g for prefix, g in _OWN_GROUP.items() if path.startswith(prefix)), None)
    if own is not None:
        return own
    text = (REPO / path).read_text() if (REPO / path).is_file() else ""
    return "labs" if "pytest.mark.lab" in text else path


def _rank(path: str) -> int:
    return {"lab-deploy": 0, "lab-ha": 1, "lab-containers": 2, "labs": 3}.get(xdist_group_of(path), 4)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: _rank(item.nodeid.split("::")[0]))  # stable: file order within a group


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group_of(nodeid.split("::")[0])

    return GroupScheduling(config, log)


@pytest.fixture
def shared() -> Path:
    """The ../shared directory beside the checkout (tests using it skip when it is absent)."""
    if not (SHARED / "corpus").is_dir():
        pytest.skip(f"{SHARED} is absent: the shared corpus and benchmarks live beside the checkout")
    return SHARED


@pytest.fixture
def write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, Any], Path]:
    """Write a YAML (or text) file under tmp_path (the working directory) and return its path."""
    monkeypatch.chdir(tmp_path)

    def _write(name: str, content: Any) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))
        return path

    return _write


def _pg_bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL on 127.0.0.1, started for this test session (Debian's postgresql package)."""
    bindir = _pg_bindir()
    if bindir is None or shutil.which("runuser") is None:
        pytest.skip("PostgreSQL server binaries (Debian package postgresql) are not installed")
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres system user (install Debian's postgresql package)")
    if os.geteuid() != 0:
        pytest.skip("starting PostgreSQL as the postgres user needs root")
    # not under pytest's root-only temp directory: the postgres user must be able to reach it
    data = Path(tempfile.mkdtemp(prefix="tripleo-pg-"))
    shutil.chown(data, "postgres")
    os.chmod(data, 0o700)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def as_pg(*args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, cwd="/")

    as_pg(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    opts = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    as_pg(str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(data / "log"), "-w", "start")
    try:
        as_pg(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "tripleo")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/tripleo"
    finally:
        as_pg(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Run a test against both backends: a fresh SQLite file, and a fresh database on the real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tripleo.sqlite'}"
        return
    base = request.getfixturevalue("pg_url")
    name = f"t{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    yield base.rsplit("/", 1)[0] + f"/{name}"
