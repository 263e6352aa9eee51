"""Containers (issue 11): the first image build (the base and every service image, a store of its own), an
unchanged rebuild, then on the virtual lab (root) the core overcloud (templates/roles_data_core.yaml: a
controller alone) deployed with environments/containers.yaml (MariaDB, memcached, HAProxy, Keystone and
Glance in containers) and its no-op re-deploy.

Targets: an unchanged rebuild in seconds (under 10 s), the no-op re-deploy under 5 s in all (as for bare
metal, issue 10). The first build has no target: it is Debian's mirror and dpkg (mmdebstrap), reported.
Runs on a lab of its own (``tbc``), beside any other. Usage: ``python benchmarks/containers.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deploy import _phases, step  # the deploy benchmark's helpers

REPO = Path(__file__).resolve().parents[1]
ENVIRONMENTS = REPO / "templates" / "environments"
LAB_NAME = "tbc"
REBUILD_TARGET = 10.0
NOOP_TARGET = 5.0


def _registry_address(home: Path) -> str:
    config = json.loads((home / "lab" / "lab.json").read_text())["config"]
    host = next(n for n in config["networks"] if n["name"] == "ctlplane")["host_address"]
    return f"{host}:8787"


def main() -> int:
    if os.geteuid() != 0:
        print("the containers benchmark needs root (the virtual lab, podman)", file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="tripleo-bench-containers-"))
    os.environ.pop("TRIPLEO_CONTAINER_STORE", None)  # a store of its own: the first build is a first build
    rows: list[tuple[str, float]] = []
    try:
        rows.append(("lab up", step(home, "lab", "up", "--nodes", "1", "--name", LAB_NAME)))
        rows.append(("registry start", step(home, "container", "registry", "start", "--bind",
                                            _registry_address(home))))  # fmt: skip
        rows.append(("image build (first)", step(home, "container", "image", "build")))
        rows.append(("image build (unchanged)", step(home, "container", "image", "build")))
        step(home, "overcloud", "node", "import", str(home / "lab" / "instackenv.json"))
        step(home, "overcloud", "node", "introspect", "--all-manageable", "--provide")
        envs = ["-e", str(ENVIRONMENTS / "lab.yaml"), "-e", str(home / "lab" / "network-environment.yaml"),
                "-e", str(ENVIRONMENTS / "containers.yaml"), "--parameter", "ComputeCount=0",
                "--roles-file", str(REPO / "templates" / "roles_data_core.yaml")]  # fmt: skip
        rows.append(("overcloud deploy (containers)", step(home, "overcloud", "deploy", *envs)))
        rows += [(f"  {name}", float(s)) for name, s in _phases(home).items() if name != "total"]
        rows.append(("re-deploy (no change)", step(home, "overcloud", "deploy", *envs)))
        rows.append(("overcloud delete", step(home, "overcloud", "delete", "-y")))
    finally:
        subprocess.run([str(Path(sys.executable).parent / "tripleo"), "container", "registry", "stop"],
                       env={**os.environ, "TRIPLEO_HOME": str(home)}, capture_output=True)  # fmt: skip
        rows.append(("lab down", step(home, "lab", "down", "--name", LAB_NAME)))
        shutil.rmtree(home, ignore_errors=True)
    print("Containers: image build and a containerized deploy on the virtual lab (1 controller)")
    for name, seconds in rows:
        print(f"{name:<32} {seconds:8.1f} s")
    found = dict(rows)
    rebuild, noop = found.get("image build (unchanged)", 0.0), found.get("re-deploy (no change)", 0.0)
    for what, value, target in (("unchanged rebuild", rebuild, REBUILD_TARGET), ("no-op re-deploy", noop,
                                                                                  NOOP_TARGET)):  # fmt: skip
        verdict = "met" if value < target else f"missed by {value - target:.1f} s"
        print(f"target: {what} under {target:.0f} s: {value:.1f} s, {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
