"""Stack lifecycle benchmark: create / update / no-op update / delete with the noop backend.

Each operation is one ``tripleo stack ...`` process (wall time includes start-up and validation); peak
RSS is that process's. Workloads: ../shared/bench/heat-shaped with ComputeCount 10, 100, 1000 and
gen_flat N=1000. "no-op update" is an identical re-deploy (recognised from the inputs: nothing runs);
"no-op walk" forces the full comparison (an extra, empty environment file changes the inputs but not a
single resolved property), which is what Heat always does.

Anchors (../shared/bench/README.md, heat-all on this machine kind, ComputeCount=10): create 52.5 s,
update 90.3 s, no-op update 61.9 s, delete 51.7 s. Targets: at least 50x faster, no-op update < 0.5 s.
"""

from __future__ import annotations

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
SHAPED = SHARED / "bench" / "heat-shaped"
TRIPLEO = Path(sys.executable).parent / "tripleo"
HEAT_ALL_CC10 = {"create": 52.5, "update": 90.3, "no-op update": 61.9, "delete": 51.7}


def run(args: list[str], cwd: Path, home: Path) -> tuple[float, float]:
    """One ``tripleo`` process: wall seconds and its own peak RSS in MB (from wait4)."""
    env = {**os.environ, "TRIPLEO_HOME": str(home)}
    env.pop("TRIPLEO_DB_URL", None)
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(TRIPLEO), *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"tripleo {' '.join(args)} failed: {err.read().decode().strip()}")
    return elapsed, usage.ru_maxrss / 1024


def workloads(tmp: Path) -> list[tuple[str, Path, list[str], list[str]]]:
    out = []
    for n in (10, 100, 1000):
        base = ["-t", "overcloud.yaml", "-e", "env.yaml", "--parameter", f"ComputeCount={n}"]
        out.append(
            (f"heat-shaped ComputeCount={n}", SHAPED, base, ["--parameter", "CloudName=changed.example.com"])
        )
    spec = importlib.util.spec_from_file_location("gen_flat", SHARED / "bench" / "gen_flat.py")
    assert spec and spec.loader
    gen_flat = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_flat)
    (tmp / "flat.yaml").write_text(yaml.safe_dump(gen_flat.gen(1000), sort_keys=False))
    out.append(("gen_flat N=1000", tmp, ["-t", "flat.yaml"], ["--parameter", "prefix=changed"]))
    return out


def measure(name: str, cwd: Path, base: list[str], change: list[str], tmp: Path) -> dict[str, object]:
    home = tmp / name.replace(" ", "_").replace("=", "")
    empty = tmp / "empty-env.yaml"
    empty.write_text("# no settings: changes the inputs, not the result\nparameter_defaults: {}\n")
    ops = [
        ("create", ["stack", "create", "b", *base, "--backend", "noop"]),
        ("update", ["stack", "update", "b", *base, *change, "--backend", "noop"]),
        ("no-op update", ["stack", "update", "b", *base, *change, "--backend", "noop"]),
        ("no-op walk", ["stack", "update", "b", *base, *change, "-e", str(empty), "--backend", "noop"]),
        ("delete", ["stack", "delete", "b"]),
    ]
    result: dict[str, object] = {}
    run(["stack", "list"], cwd, home)  # the undercloud's database exists before the first create
    for op, args in ops:
        seconds, rss = run(args, cwd, home)
        result[op] = round(seconds, 3)
        result[f"{op} rss_mb"] = round(rss, 1)
    return result


def main() -> int:
    if not SHAPED.is_dir():
        print(f"skipped: {SHARED} is absent", file=sys.stderr)
        return 0
    results = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for name, cwd, base, change in workloads(tmp):
            results[name] = measure(name, cwd, base, change, tmp)
            r = results[name]
            print(
                f"{name:28} create {r['create']:7.2f} s  update {r['update']:7.2f} s  "
                f"no-op {r['no-op update']:5.2f} s  no-op walk {r['no-op walk']:6.2f} s  "
                f"delete {r['delete']:6.2f} s  peak RSS {max(v for k, v in r.items() if 'rss' in k):6.1f} MB",
                flush=True,
            )
    cc10 = results["heat-shaped ComputeCount=10"]
    for op, anchor in HEAT_ALL_CC10.items():
        ours = float(cc10[op])  # type: ignore[arg-type]
        print(f"ComputeCount=10 {op:13}: {ours:6.2f} s vs heat-all {anchor:5.1f} s = {anchor / ours:6.1f}x")
    met = all(HEAT_ALL_CC10[op] / float(cc10[op]) >= 50 for op in HEAT_ALL_CC10)  # type: ignore[arg-type]
    met = met and float(cc10["no-op update"]) < 0.5  # type: ignore[arg-type]
    print(f"targets (>= 50x heat-all at ComputeCount=10, no-op update < 0.5 s): {'met' if met else 'MISSED'}")
    if "--json" in sys.argv:
        print(json.dumps(results, indent=2))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
