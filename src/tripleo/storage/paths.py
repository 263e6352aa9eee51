"""Where tripleo keeps its state: ``$TRIPLEO_HOME`` (default ``~/.local/share/tripleo``), mode 0700."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["StackPaths", "database_file", "stack_paths", "tripleo_home", "write_private_text"]


def tripleo_home(create: bool = True) -> Path:
    """The state directory (created 0700 on first use)."""
    home = Path(os.environ.get("TRIPLEO_HOME") or Path.home() / ".local" / "share" / "tripleo")
    if create:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return home


@dataclass(frozen=True)
class StackPaths:
    """Where an overcloud stack's files live under ``$TRIPLEO_HOME``: what a deploy writes there, a dry run
    compares with and a delete removes."""

    project: Path  # config-download/<stack>: the Ansible project config download writes
    record: Path  # config-download/<stack>.json: what the stack's deploys did
    network: Path  # network/<stack>: the network plan (``validate network`` reads it)
    log: Path  # logs/<stack>-deploy.log: Ansible's output
    plan: Path  # plans/<stack>: the rendered templates and the generated passwords
    overcloudrc: Path  # the admin's credentials: ``overcloudrc`` for the stack overcloud, else ``<stack>rc``


def stack_paths(stack: str) -> StackPaths:
    """The files of ``stack`` (``$TRIPLEO_HOME`` is created on first use; the files are not)."""
    home = tripleo_home()
    return StackPaths(
        project=home / "config-download" / stack,
        record=home / "config-download" / f"{stack}.json",
        network=home / "network" / stack,
        log=home / "logs" / f"{stack}-deploy.log",
        plan=home / "plans" / stack,
        overcloudrc=home / ("overcloudrc" if stack == "overcloud" else f"{stack}rc"),
    )


def database_file(create: bool = True) -> Path | None:
    """The SQLite file holding the state (``$TRIPLEO_HOME/tripleo.sqlite``), or None when TRIPLEO_DB_URL
    names another database."""
    if os.environ.get("TRIPLEO_DB_URL"):
        return None
    return tripleo_home(create) / "tripleo.sqlite"


def write_private_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only: 0600 from creation on (the file may hold
    passwords), through a scratch file renamed into place, so a crash leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)
