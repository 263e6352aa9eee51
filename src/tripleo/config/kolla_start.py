#!/usr/bin/python3
"""The start-up of every tripleo container image (``/usr/local/bin/kolla_start``), in the manner of kolla's
``kolla_set_configs`` + ``kolla_start``: copy the service's config in, then become the service.

The container gets its config read-only at ``/var/lib/kolla/config_files`` (``config.json`` and, under
``src/``, the tree container-puppet generated on the node). ``config.json`` says::

    {"command": "/usr/bin/memcached -u memcache ...",
     "config_files": [{"source": "/var/lib/kolla/config_files/src/*", "dest": "/", "merge": true}],
     "permissions": [{"path": "/var/log/keystone", "owner": "keystone:keystone", "recurse": true}]}

Each ``config_files`` entry copies a file or a tree (``*`` at the end: the directory's entries, merged into
``dest``); ``perm`` and ``owner`` apply to what was copied. Then ``command`` replaces this process (split as a
shell would, no shell run). This file runs inside the image with the image's ``python3`` and the standard
library only: the image build copies it in.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

CONFIG = Path("/var/lib/kolla/config_files/config.json")


def _ids(owner: str) -> tuple[int, int]:
    user, _, group = owner.partition(":")
    return pwd.getpwnam(user).pw_uid, grp.getgrnam(group or user).gr_gid


def _chown(path: Path, owner: str, recurse: bool) -> None:
    uid, gid = _ids(owner)
    os.chown(path, uid, gid)
    if recurse and path.is_dir():
        for sub in path.rglob("*"):
            os.chown(sub, uid, gid, follow_symlinks=False)


def _put(source: Path, dest: Path) -> None:
    """One file or link over whatever ``dest`` is (merge: what the image has is replaced)."""
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        dest.unlink()
    if source.is_symlink():
        os.symlink(os.readlink(source), dest)
    else:
        shutil.copy2(source, dest)


def _copy_one(source: Path, dest: Path) -> list[Path]:
    if source.is_dir() and not source.is_symlink():
        dest.mkdir(parents=True, exist_ok=True)
        for root, dirs, files in os.walk(source):
            here = dest / Path(root).relative_to(source)
            for name in dirs:
                sub = Path(root, name)
                if sub.is_symlink():
                    _put(sub, here / name)
                else:
                    (here / name).mkdir(exist_ok=True)
            for name in files:
                _put(Path(root, name), here / name)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _put(source, dest)
    return [dest]


def copy_config(entry: dict[str, Any]) -> list[Path]:
    """Copy one ``config_files`` entry; returns the paths written (at their top)."""
    source, dest = str(entry["source"]), Path(entry["dest"])
    if source.endswith("/*"):
        parent = Path(source[:-2])
        written = [p for child in sorted(parent.iterdir()) for p in _copy_one(child, dest / child.name)]
    else:
        written = _copy_one(Path(source), dest)
    for path in written:
        if entry.get("perm"):
            path.chmod(int(str(entry["perm"]), 8))
        if entry.get("owner"):
            _chown(path, str(entry["owner"]), recurse=True)
    return written


def main() -> int:
    try:
        config = json.loads(CONFIG.read_text())
    except (OSError, ValueError) as exc:
        print(f"kolla_start: {CONFIG}: {exc}", file=sys.stderr)
        return 2
    for entry in config.get("config_files") or []:
        copy_config(entry)
    for item in config.get("permissions") or []:
        path = Path(item["path"])
        path.mkdir(parents=True, exist_ok=True)
        _chown(path, str(item["owner"]), bool(item.get("recurse")))
    argv = shlex.split(str(config["command"]))
    sys.stdout.flush()
    os.execvp(argv[0], argv)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
