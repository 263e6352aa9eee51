"""A QEMU machine with its own Debian, deployed as a Compute (issue 25, acceptance 5): the image build, the
machine's boot to SSH, its bootstrap (the packages unit: Python, Puppet, Debian's modules, memcached through
the undercloud's package cache) with a cold and a warm cache, the first deploy and the no-op re-deploy.

Each run is tests/functional/machine/test_machine_lab.py (root, a lab of its own, QEMU under TCG), which
writes its figures; run 1 builds the image in a fresh directory and fills a fresh package cache, run 2 finds
both (``--runs 1``: the cold run only). Prints one line per figure and run.

``--compute``: tests/functional/machine/test_machine_compute.py instead, the machine as a full Compute (Nova
with the fake driver, the Linux bridge agent) beside a namespace controller, deployed by one deploy, with its
no-op re-deploy and Memcached added to the role (about 30 minutes a run).

    python benchmarks/machine.py [--runs 2] [--compute]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests" / "functional" / "machine"
LABELS = {
    "image_build_s": "image built (mmdebstrap, mke2fs)",
    "image_cached_s": "image found in the cache",
    "lab_up_s": "lab up (a namespace node, a machine)",
    "boot_to_ssh_s": "machine powered on to SSH",
    "packages_unit_s": "bootstrap: the packages unit",
    "first_deploy_s": "first deploy (bootstrap, NIC config, 5 steps)",
    "noop_deploy_s": "no-op re-deploy",
    "compute_packages_unit_s": "Compute bootstrap: the packages unit (nova-compute, the agent)",
    "compute_first_deploy_s": "first deploy of a controller and the machine as a Compute",
    "compute_noop_deploy_s": "no-op re-deploy of both",
    "compute_service_added_s": "re-deploy with Memcached added to the Compute role",
}


def run(scratch: Path, index: int, compute: bool) -> dict[str, float]:
    figures = scratch / f"figures-{index}.json"
    env = {**os.environ, "TRIPLEO_MACHINE_FIGURES": str(figures),
           "TRIPLEO_MACHINE_CACHE": str(scratch / "images"),
           "TRIPLEO_MACHINE_PACKAGE_CACHE": str(scratch / "packages"),
           "TRIPLEO_MACHINE_COMPUTE": "1"}  # fmt: skip
    test = TESTS / ("test_machine_compute.py" if compute else "test_machine_lab.py")
    (scratch / "packages").mkdir(exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", str(test)],
                          env=env, cwd=REPO, capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0 or not figures.exists():
        sys.exit(f"run {index}: the machine test failed:\n{done.stdout[-4000:]}{done.stderr[-2000:]}")
    return dict(json.loads(figures.read_text()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2, choices=(1, 2))
    parser.add_argument("--compute", action="store_true", help="the machine as a full Compute")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tl-machine-bench-", dir="/var/tmp") as tmp:
        scratch = Path(tmp)
        for index in range(1, args.runs + 1):
            figures = run(scratch, index, args.compute)
            cache = "cold" if index == 1 else "warm"
            for key, label in LABELS.items():
                if key in figures:
                    print(f"run {index} ({cache} caches): {label}: {figures[key]:.1f} s")


if __name__ == "__main__":
    main()
