"""Stack lifecycle fixtures: a private TRIPLEO_HOME and database per test, and a CLI runner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tripleo.cli.main import cli

Run = Callable[..., Result]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("TRIPLEO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TRIPLEO_DB_URL", raising=False)
    yield tmp_path / "home"


@pytest.fixture
def tripleo(home: Path) -> Run:
    """Run ``tripleo ARGS`` in-process; fails the test on an unexpected exit code."""

    def run(*args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(cli, list(args))
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code == code, f"tripleo {' '.join(args)} -> {result.exit_code}: {result.output}"
        return result

    return run
