"""``make demo``: the main job.

1. The plan and the engine: render the project's templates from roles_data and network_data, check every
   role's services, preview the stack, plan a 500-compute cloud.
2. On the virtual lab (as root, when the lab's tools are installed): ``lab up`` 3 nodes, import and
   introspect them, match profiles, ``overcloud deploy`` (stack, per-node networks, config download run by
   Ansible: Puppet with Debian's puppet-openstack modules, then the Keystone catalog), ``overcloud status``,
   the real ``openstack`` client through the public VIP with overcloudrc (token issue, catalog list, an
   image uploaded and downloaded), ``validate network`` (pings against the isolation proof), a re-deploy
   that changes nothing, ``overcloud delete``.
3. Containers on the same nodes: the undercloud registry, images built from Debian packages, the core
   overcloud (MariaDB, memcached, HAProxy, Keystone, Glance) deployed with environments/containers.yaml,
   ``overcloud container list``, the same token and image checks, a re-deploy that re-creates nothing, then
   ``overcloud delete`` and ``lab down``. Set TRIPLEO_DEMO_KEEP=1 to keep the lab and the containerized
   overcloud up afterwards (the demo prints its TRIPLEO_HOME).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tripleo import engine
from tripleo.cli.main import cli
from tripleo.democloud import boot_servers, openstack
from tripleo.lab import lab_namespaces

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
_LAB_TOOLS = ("ip", "nft", "unshare", "nsenter", "ssh", "ssh-keygen", "ping")
LAB_NAME = "demo"  # the demo's own lab: it runs beside the tests' labs (tl, td, ...)


def _run(title: str, args: list[str]) -> None:
    print(f"\n=== {title}\n$ tripleo {' '.join(args)}", flush=True)
    started = time.perf_counter()
    try:
        cli.main(args, prog_name="tripleo", standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            raise
    print(f"({time.perf_counter() - started:.2f} s)", flush=True)


def _engine_demo(home: Path) -> None:
    lab = str(TEMPLATES / "environments" / "lab.yaml")
    plan = home / "plan"
    _run("Render the plan from roles_data.yaml and network_data.yaml; check each role's services",
         ["overcloud", "validate", "templates", "-e", lab, "--output-dir", str(plan)])  # fmt: skip
    rendered = plan / "templates"
    base = ["-t", str(rendered / "overcloud.yaml"), "-e", str(rendered / "overcloud-resource-registry.yaml")]
    base += ["-e", str(plan / "passwords.yaml")]
    _run(
        "Preview it without hardware: every resource of the lab overcloud (1 controller, 2 computes)",
        [
            "stack",
            "preview",
            *base,
            "-e",
            lab,
            "-e",
            str(TEMPLATES / "environments" / "preview.yaml"),
            "-c",
            "path",
            "-c",
            "type",
            "-c",
            "implementation",
        ],
    )
    print("\n=== Plan a larger cloud: 3 controllers, 500 computes (engine API)", flush=True)
    started = time.perf_counter()
    top = engine.load_tree(base[1], [base[3], base[5]], {"ControllerCount": "3", "ComputeCount": "500"})
    summary = engine.summarise(top)
    print(
        f"valid: {summary['resource_count']} resources, {summary['nested_stack_count']} nested stacks, "
        f"depth {summary['max_depth']} ({time.perf_counter() - started:.2f} s)"
    )


def _use_the_cloud(home: Path) -> None:
    openstack(home, "A token from the overcloud's Keystone, through the public VIP", "token", "issue",
               "-c", "expires", "-c", "project_id", "-c", "user_id")  # fmt: skip
    openstack(home, "Its catalog", "catalog", "list")
    image, back = home / "demo-image.raw", home / "demo-image.back"
    image.write_bytes(os.urandom(4 * 1024 * 1024))
    create = ["image", "create", "--disk-format", "raw", "--container-format", "bare", "--file", str(image)]
    openstack(home, "Upload an image to Glance", *create, "demo-image", "-c", "id", "-c", "status")
    openstack(home, "Download it again", "image", "save", "--file", str(back), "demo-image")
    ours, theirs = (hashlib.sha256(p.read_bytes()).hexdigest() for p in (image, back))
    if ours != theirs:
        raise SystemExit(f"the downloaded image differs: sha256 {theirs}, uploaded {ours}")
    print(f"sha256 equal: {ours}")


def _lab_skip_reason() -> str | None:
    """Why the lab part cannot run here (not root, a tool missing, the demo's lab already up), or None."""
    if os.geteuid() != 0:
        return "the virtual lab needs root (namespaces, bridges, mounts)"
    missing = [t for t in _LAB_TOOLS if shutil.which(t) is None]
    if not Path("/usr/sbin/sshd").exists():
        missing.append("sshd")
    if missing:
        return f"the virtual lab needs {', '.join(missing)} (scripts/debian-packages installs them)"
    if lab_namespaces(LAB_NAME):  # none on a fresh host, which has no /run/netns yet
        return f"a lab named {LAB_NAME} is up on this host (tripleo lab down --name {LAB_NAME} removes it)"
    return None


def _lab_demo(home: Path) -> None:
    os.environ["TRIPLEO_HOME"] = str(home)
    os.environ.pop("TRIPLEO_DB_URL", None)
    # the lab's subnets: the default ones, or others when another lab (e.g. the tests') is up
    lab_envs = [
        "-e",
        str(TEMPLATES / "environments" / "lab.yaml"),
        "-e",
        str(home / "lab" / "network-environment.yaml"),
    ]
    _run("Virtual bare metal: 3 nodes, 7 networks, an IPMI BMC each (a lab named demo, beside any other)",
         ["lab", "up", "--nodes", "3", "--name", LAB_NAME])  # fmt: skip
    _run("Register the nodes", ["overcloud", "node", "import", str(home / "lab" / "instackenv.json")])
    _run("Inspect them out of band and make them available",
         ["overcloud", "node", "introspect", "--all-manageable", "--provide"])  # fmt: skip
    _run("Which node takes which role", ["overcloud", "profiles", "match", "--control-scale", "1",
                                         "--compute-scale", "2"])  # fmt: skip
    _run(
        "Deploy the overcloud: MariaDB, memcached, HAProxy, RabbitMQ, Keystone, Glance, Placement, Nova and "
        "Neutron",
        ["overcloud", "deploy", *lab_envs],
    )
    _run("Its state: nodes, services, VIPs, endpoints", ["overcloud", "status"])
    _use_the_cloud(home)
    boot_servers(home)
    _run("Measure the isolation: ping every address from every node", ["overcloud", "validate", "network"])
    _run("Deploy again: nothing changes (every node has applied every step's digest)",
         ["overcloud", "deploy", *lab_envs])  # fmt: skip
    token = home / "token-expiration.yaml"
    token.write_text("parameter_defaults:\n  KeystoneTokenExpiration: 7200\n")
    _run("Dry run of one Keystone parameter: step 3 on the controller, nothing else (nothing changes)",
         ["overcloud", "deploy", *lab_envs, "-e", str(token), "--dry-run"])  # fmt: skip
    _run("Deploy it: only that step runs", ["overcloud", "deploy", *lab_envs, "-e", str(token)])
    _run("Delete the overcloud: nodes back to available", ["overcloud", "delete", "-y"])
    _containers_demo(home, lab_envs)
    if os.environ.get("TRIPLEO_DEMO_KEEP"):
        print(f"\nKept: TRIPLEO_HOME={home} (tripleo overcloud delete -y && tripleo lab down to remove it)")
        return
    _run("Delete it", ["overcloud", "delete", "-y"])
    _run("Stop the registry", ["container", "registry", "stop"])
    _run("Remove the lab", ["lab", "down", "--name", LAB_NAME])


def _ctlplane_host(home: Path) -> str:
    """The undercloud's address on the lab's ctlplane (the lab may have moved its subnets)."""
    config = json.loads((home / "lab" / "lab.json").read_text())["config"]
    return str(next(n for n in config["networks"] if n["name"] == "ctlplane")["host_address"])


def _containers_demo(home: Path, lab_envs: list[str]) -> None:
    """The second deployment method on the same nodes: issue 1's overcloud with its services in podman
    containers, images built here from Debian packages and pulled from the undercloud's registry."""
    _run("The undercloud's image registry (Debian's docker-registry) on its ctlplane address",
         ["container", "registry", "start", "--bind", f"{_ctlplane_host(home)}:8787"])  # fmt: skip
    _run("Container images from Debian packages: a base by mmdebstrap, one layer per service",
         ["container", "image", "build"])  # fmt: skip
    _run("The images, tagged by the digest of what they are built from", ["container", "image", "list"])
    roles = ["--roles-file", str(TEMPLATES / "roles_data_core.yaml"), "--parameter", "ComputeCount=0"]
    containers = ["-e", str(TEMPLATES / "environments" / "containers.yaml")]
    _run("Deploy the core overcloud in containers: MariaDB, memcached, HAProxy, Keystone and Glance",
         ["overcloud", "deploy", *lab_envs, *containers, *roles])  # fmt: skip
    _run("Its containers: image, health, start, config hash", ["overcloud", "container", "list"])
    _use_the_cloud(home)
    _run("Deploy again: no container is re-created", ["overcloud", "deploy", *lab_envs, *containers, *roles])


def main() -> int:
    if not (TEMPLATES / "overcloud.j2.yaml").exists():
        print(f"the project's templates not found under {TEMPLATES}", file=sys.stderr)
        return 1
    home = Path(tempfile.mkdtemp(prefix="tripleo-demo-"))
    os.environ["TRIPLEO_HOME"] = str(home)
    os.environ.pop("TRIPLEO_DB_URL", None)
    _engine_demo(home)
    reason = _lab_skip_reason()
    if reason:
        print(f"\nLab part skipped: {reason}.")
        shutil.rmtree(home, ignore_errors=True)
        return 0
    try:
        _lab_demo(home)
    except BaseException:
        if not os.environ.get("TRIPLEO_DEMO_KEEP"):
            from tripleo.lab import Lab
            from tripleo.workflows.containers import registry_stop

            registry_stop()
            Lab(home).down(LAB_NAME)
        raise
    finally:
        if not os.environ.get("TRIPLEO_DEMO_KEEP"):
            shutil.rmtree(home, ignore_errors=True)
    print(
        "\nDemo complete: the plan validates and expands, and a real OpenStack (Keystone, Glance, Placement, "
        "Nova, Neutron) was deployed onto the lab and used through its public VIP: two servers booted on two "
        "computes and pinged each other; then its core ran in podman containers and was used the same way."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
