"""The node agent: tripleo's node-side code as one zip file that a node runs with its own ``python3``.

Config download copies it to every node (``/var/lib/tripleo/tripleo-agent.pyz``) the way an overcloud image
carries os-net-config: the NIC/firewall applier (:mod:`tripleo.network.apply`) with the pure-Python parts it
needs (PyYAML without its C extension, pyroute2). Nothing of the deploying host's virtualenv has to be
visible on the node. The zip is deterministic: the same code gives the same bytes, so a re-deploy copies
nothing.
"""

from __future__ import annotations

import functools
import importlib
import io
import os
import zipfile
from pathlib import Path

from tripleo.shipped import AGENT_ON_NODE

__all__ = ["AGENT_NAME", "build_agent"]

AGENT_NAME = Path(AGENT_ON_NODE).name

# tripleo's own modules the applier imports (tripleo.network is lazy: no database layer on a node)
_OWN = (
    "__init__.py",
    "boundedyaml.py",
    "errors.py",
    "fields.py",
    "shipped.py",
    "network/__init__.py",
    "network/apply.py",
    "network/firewall.py",
    "network/model.py",
    "network/nicconfig.py",
    "network/rollback.py",
    "config/containers_apply.py",
    "config/boot.py",
)
_THIRD_PARTY = ("yaml", "pyroute2")
# ``containers STEP_FILE``: the containers of one step (tripleo.config.containers_apply); ``boot
# start|check``: a node's services at power-on (tripleo.config.boot); else the NIC applier
_MAIN = (
    "import sys\n\n"
    "if sys.argv[1:2] == ['containers']:\n"
    "    from tripleo.config.containers_apply import main\n\n"
    "    sys.exit(main(sys.argv[2:]))\n"
    "if sys.argv[1:2] == ['boot']:\n"
    "    from tripleo.config.boot import main as boot\n\n"
    "    sys.exit(boot(sys.argv[2:]))\n"
    "from tripleo.network.apply import main\n\n"
    "sys.exit(main())\n"
)
_EPOCH = (1980, 1, 1, 0, 0, 0)
# tripleo.config's own __init__ imports the undercloud's side (config download); the node needs none of it
_CONFIG_PACKAGE = b'"""The node side of tripleo.config (the agent\'s containers command)."""\n'


def _files() -> list[tuple[str, Path]]:
    own = Path(importlib.import_module("tripleo").__file__ or "").parent
    files = [(f"tripleo/{rel}", own / rel) for rel in _OWN]
    for package in _THIRD_PARTY:
        root = Path(importlib.import_module(package).__file__ or "").parent
        files += [(f"{package}/{p.relative_to(root).as_posix()}", p) for p in root.rglob("*.py")]
    return sorted(files)


@functools.cache  # the code does not change while a process runs
def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        entries = [("__main__.py", _MAIN.encode()), *((name, path.read_bytes()) for name, path in _files())]
        entries.append(("tripleo/config/__init__.py", _CONFIG_PACKAGE))
        entries.sort()
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def build_agent(directory: Path) -> Path:
    """Write the agent into ``directory`` (only when its bytes changed) and return its path."""
    path = directory / AGENT_NAME
    data = _zip_bytes()
    if path.exists() and path.read_bytes() == data:
        return path
    directory.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".tmp")
    scratch.write_bytes(data)
    os.replace(scratch, path)
    return path
