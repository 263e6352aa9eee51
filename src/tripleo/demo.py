"""``make demo``: the main job.

1. The engine: validate and preview the project's overcloud templates, plan a 500-compute cloud.
2. On the virtual lab (as root, when the lab's tools are installed): ``lab up`` 3 nodes, import and
   introspect them, match profiles, ``overcloud deploy`` (stack, per-node networks, config download run by
   Ansible), ``overcloud status``, ``validate network`` (pings against the isolation proof), a re-deploy that
   changes nothing, ``overcloud delete`` and ``lab down``. Set TRIPLEO_DEMO_KEEP=1 to keep the lab and the
   overcloud up afterwards (the demo prints its TRIPLEO_HOME).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tripleo import engine
from tripleo.cli.main import cli

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
_LAB_TOOLS = ("ip", "nft", "unshare", "nsenter", "ssh", "ssh-keygen", "ping")


def _run(title: str, args: list[str]) -> None:
    print(f"\n=== {title}\n$ tripleo {' '.join(args)}", flush=True)
    started = time.perf_counter()
    try:
        cli.main(args, prog_name="tripleo", standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            raise
    print(f"({time.perf_counter() - started:.2f} s)", flush=True)


def _engine_demo() -> None:
    base = [
        "-t",
        str(TEMPLATES / "overcloud.yaml"),
        "-e",
        str(TEMPLATES / "overcloud-resource-registry.yaml"),
    ]
    lab = [*base, "-e", str(TEMPLATES / "environments" / "lab.yaml")]
    _run("Validate the lab overcloud (1 controller, 2 computes)", ["stack", "validate", *lab])
    _run(
        "Preview it without hardware: resolved properties and outputs",
        ["stack", "preview", *lab, "-e", str(TEMPLATES / "environments" / "preview.yaml"), "-f", "yaml"],
    )
    print("\n=== Plan a larger cloud: 3 controllers, 500 computes (engine API)", flush=True)
    started = time.perf_counter()
    top = engine.load_tree(base[1], [base[3]], {"ControllerCount": "3", "ComputeCount": "500"})
    summary = engine.summarise(top)
    print(
        f"valid: {summary['resource_count']} resources, {summary['nested_stack_count']} nested stacks, "
        f"depth {summary['max_depth']} ({time.perf_counter() - started:.2f} s)"
    )


def _lab_skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "the virtual lab needs root (namespaces, bridges, mounts)"
    missing = [t for t in _LAB_TOOLS if shutil.which(t) is None]
    if not Path("/usr/sbin/sshd").exists():
        missing.append("sshd")
    if missing:
        return f"the virtual lab needs {', '.join(missing)} (scripts/debian-packages installs them)"
    if any(name.startswith("tl-") for name in os.listdir("/run/netns") if Path("/run/netns").is_dir()):
        return "a lab is already up on this host (tripleo lab down removes it)"
    return None


def _lab_demo(home: Path) -> None:
    os.environ["TRIPLEO_HOME"] = str(home)
    os.environ.pop("TRIPLEO_DB_URL", None)
    lab_env = str(TEMPLATES / "environments" / "lab.yaml")
    _run("Virtual bare metal: 3 nodes, 7 networks, an IPMI BMC each", ["lab", "up", "--nodes", "3"])
    _run("Register the nodes", ["overcloud", "node", "import", str(home / "lab" / "instackenv.json")])
    _run("Inspect them out of band and make them available",
         ["overcloud", "node", "introspect", "--all-manageable", "--provide"])  # fmt: skip
    _run("Which node takes which role", ["overcloud", "profiles", "match", "--control-scale", "1",
                                         "--compute-scale", "2"])  # fmt: skip
    _run("Deploy the overcloud", ["overcloud", "deploy", "-e", lab_env])
    _run("Its state", ["overcloud", "status"])
    _run("Measure the isolation: ping every address from every node", ["overcloud", "validate", "network"])
    _run("Deploy again: nothing changes", ["overcloud", "deploy", "-e", lab_env])
    if os.environ.get("TRIPLEO_DEMO_KEEP"):
        print(f"\nKept: TRIPLEO_HOME={home} (tripleo overcloud delete -y && tripleo lab down to remove it)")
        return
    _run("Delete the overcloud: nodes back to available", ["overcloud", "delete", "-y"])
    _run("Remove the lab", ["lab", "down"])


def main() -> int:
    if not (TEMPLATES / "overcloud.yaml").exists():
        print(f"sample templates not found under {TEMPLATES}", file=sys.stderr)
        return 1
    _engine_demo()
    reason = _lab_skip_reason()
    if reason:
        print(f"\nLab part skipped: {reason}.")
        return 0
    home = Path(tempfile.mkdtemp(prefix="tripleo-demo-"))
    try:
        _lab_demo(home)
    except BaseException:
        if not os.environ.get("TRIPLEO_DEMO_KEEP"):
            from tripleo.lab import Lab

            Lab(home).down()
        raise
    finally:
        if not os.environ.get("TRIPLEO_DEMO_KEEP"):
            shutil.rmtree(home, ignore_errors=True)
    print("\nDemo complete: the templates validate and expand, and the overcloud deployed onto the lab.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
