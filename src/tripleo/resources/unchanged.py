"""Is an update identical to the stack's last good one? Recognised from the arguments and the files'
contents alone, with no parsing: the same check ``StackService.update`` makes, and a quick form of it
that reads the default SQLite database with the standard library (no SQLAlchemy import), so an unchanged
re-deploy answers at once."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from tripleo.engine.template.confine import admitted

__all__ = ["NO_CHANGES", "quick_unchanged", "same_inputs", "same_on_disk"]

NO_CHANGES = "no changes: templates, environments and parameters are identical"


def same_on_disk(files: Mapping[str, str]) -> bool:
    """True if every recorded file still has the recorded contents. Under the API's confinement a file
    outside the request's directories is not read (it counts as changed)."""
    for recorded, content in files.items():
        path = admitted(recorded)
        if path is None:
            return False
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                if handle.read() != content:
                    return False
        except OSError:
            return False
    return True


def same_inputs(
    row: Mapping[str, Any],
    template: str,
    environments: Sequence[str],
    parameters: Mapping[str, Any],
    backend: str,
) -> bool:
    """The stack's last good run had these arguments (row: status, template, environments, parameters,
    backend, files_id)."""
    return (
        row["status"] == "COMPLETE"
        and row["template"] == os.path.abspath(template)
        and list(row["environments"]) == [os.path.abspath(e) for e in environments]
        and dict(row["parameters"]) == dict(parameters)
        and row["backend"] == backend
        and row["files_id"] is not None
    )


def quick_unchanged(
    name: str, template: str, environments: Sequence[str], parameters: Mapping[str, Any], backend: str
) -> bool:
    """``same_inputs`` and ``same_on_disk`` read straight from the default SQLite database; False whenever
    it cannot tell (another database, no such stack, an older schema): the full check decides then."""
    from tripleo.storage.paths import database_file

    path = database_file(create=False)
    if path is None or not path.exists():
        return False
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            found = conn.execute(
                "SELECT status, template, environments, parameters, backend, files_id FROM stacks "
                "WHERE name = ?",
                (name,),
            ).fetchone()
            if found is None:
                return False
            keys = ("status", "template", "environments", "parameters", "backend", "files_id")
            row = dict(zip(keys, found, strict=True))
            row["environments"], row["parameters"] = json.loads(found[2]), json.loads(found[3])
            if not same_inputs(row, template, environments, parameters, backend):
                return False
            blob = conn.execute("SELECT files FROM stack_files WHERE id = ?", (row["files_id"],)).fetchone()
    except (sqlite3.Error, ValueError, TypeError):
        return False
    return blob is not None and same_on_disk(json.loads(blob[0]))
