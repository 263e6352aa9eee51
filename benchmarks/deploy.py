"""Deploy wall time on the virtual lab (root): lab up, node import, introspect, overcloud deploy (with its
phases: stack, render, config download), a re-deploy that changes nothing, delete, lab down.

Each step is one ``tripleo`` process; the deploy's phases come from the deployment summary it writes.
Needs root, the lab's tools and no other lab up. Usage: ``python benchmarks/deploy.py [--nodes N]``
(N >= 2: one controller, N-1 computes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRIPLEO = Path(sys.executable).parent / "tripleo"
LAB_ENV = REPO / "templates" / "environments" / "lab.yaml"


def step(home: Path, *args: str) -> float:
    env = {**os.environ, "TRIPLEO_HOME": str(home)}
    env.pop("TRIPLEO_DB_URL", None)
    started = time.perf_counter()
    proc = subprocess.run([str(TRIPLEO), *args], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"tripleo {' '.join(args)} failed: {proc.stderr.strip()}")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("the deploy benchmark needs root (the virtual lab)", file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="tripleo-bench-"))
    rows: list[tuple[str, float]] = []
    try:
        rows.append(("lab up", step(home, "lab", "up", "--nodes", str(args.nodes))))
        rows.append(
            ("node import", step(home, "overcloud", "node", "import", str(home / "lab" / "instackenv.json")))
        )
        rows.append(
            (
                "introspect --provide",
                step(home, "overcloud", "node", "introspect", "--all-manageable", "--provide"),
            )
        )
        computes = ["--parameter", f"ComputeCount={args.nodes - 1}"]
        rows.append(("overcloud deploy", step(home, "overcloud", "deploy", "-e", str(LAB_ENV), *computes)))
        phases = json.loads((home / "config-download" / "overcloud.json").read_text())["seconds"]
        rows += [(f"  {name}", float(seconds)) for name, seconds in phases.items() if name != "total"]
        rows.append(
            ("re-deploy (no change)", step(home, "overcloud", "deploy", "-e", str(LAB_ENV), *computes))
        )
        rows.append(("validate network", step(home, "overcloud", "validate", "network")))
        rows.append(("overcloud delete", step(home, "overcloud", "delete", "-y")))
    finally:
        rows.append(("lab down", step(home, "lab", "down")))
        shutil.rmtree(home, ignore_errors=True)
    print(f"Deploy on the virtual lab: {args.nodes} nodes (1 controller, {args.nodes - 1} computes)")
    for name, seconds in rows:
        print(f"{name:<24} {seconds:8.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
