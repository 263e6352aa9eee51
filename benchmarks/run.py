"""Benchmarks: wall time and peak RSS of ``tripleo stack validate`` on large trees.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/run.py``). Each workload runs in a fresh process;
peak RSS comes from that child's rusage. Needs ../shared (the corpus and the bench workloads).

Targets (issue 2): THT liberty netiso with 1,000 computes validates in under 10 s and 500 MB.
Reference: Heat 27 in-process validated gen_flat N=1000 in 8.9 s (../shared/bench/README.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
THT = SHARED / "corpus" / "tht-liberty"
SHAPED = SHARED / "bench" / "heat-shaped"
TRIPLEO = Path(sys.executable).parent / "tripleo"


def measure(args: list[str], cwd: Path) -> dict[str, float | int]:
    """Run one validate in a child process: seconds, peak RSS (MB), resource count."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([str(TRIPLEO), "stack", "validate", *args, "-f", "json"], cwd=cwd, stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"validate failed: {args}")
        out.seek(0)
        summary = json.load(out)
    return {
        "seconds": round(elapsed, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "resources": summary["resource_count"],
        "nested_stacks": summary["nested_stack_count"],
    }


def workloads(tmp: Path) -> list[tuple[str, list[str], Path]]:
    netiso = ["-t", "overcloud.yaml", "-e", "overcloud-resource-registry-puppet.yaml"]
    netiso += [
        "-e",
        "environments/network-isolation.yaml",
        "-e",
        "environments/net-single-nic-with-vlans.yaml",
    ]
    netiso += ["--parameter", "ControllerCount=3"]
    out = [
        (f"tht-liberty netiso ComputeCount={n}", [*netiso, "--parameter", f"ComputeCount={n}"], THT)
        for n in (100, 1000)
    ]
    shaped = ["-t", "overcloud.yaml", "-e", "env.yaml"]
    out += [
        (f"heat-shaped ComputeCount={n}", [*shaped, "--parameter", f"ComputeCount={n}"], SHAPED)
        for n in (10, 100, 1000)
    ]
    spec = importlib.util.spec_from_file_location("gen_flat", SHARED / "bench" / "gen_flat.py")
    assert spec and spec.loader
    gen_flat = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_flat)
    flat = tmp / "flat1000.yaml"
    flat.write_text(yaml.safe_dump(gen_flat.gen(1000), sort_keys=False))
    out.append(("gen_flat N=1000", ["-t", str(flat)], tmp))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    opts = parser.parse_args()
    if not THT.is_dir() or not SHAPED.is_dir():
        print(f"skipped: {SHARED} (corpus and bench workloads) is absent", file=sys.stderr)
        return 0
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, args, cwd in workloads(Path(tmp)):
            results[name] = measure(args, cwd)
            if not opts.json:
                r = results[name]
                line = f"{name:38} {r['seconds']:7.2f} s {r['peak_rss_mb']:8.1f} MB "
                line += f"{r['resources']:7d} resources {r['nested_stacks']:6d} nested stacks"
                print(line, flush=True)
    big = results["tht-liberty netiso ComputeCount=1000"]
    met = big["seconds"] < 10 and big["peak_rss_mb"] < 500
    if opts.json:
        print(json.dumps({"results": results, "target_met": met}, indent=2))
    else:
        flat = results["gen_flat N=1000"]["seconds"]
        print(f"target (netiso 1000 computes < 10 s and < 500 MB): {'met' if met else 'MISSED'}")
        print(f"gen_flat N=1000: {flat:.2f} s vs Heat 27 in-process validate 8.9 s ({8.9 / flat:.1f}x)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
