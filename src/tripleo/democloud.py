"""The demo's use of the overcloud: the real ``openstack`` client with overcloudrc, as an operator types it.

``boot_servers``: the compute services and agents, which virt driver runs, a flavor, the guest image built
from Debian packages (kernel, ramdisk and disk, AMI-style), a VXLAN tenant network with DHCP, and two
servers on two computes whose init pings the other (read back from ``openstack console log show``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tripleo.lab.guestimage import MARKER, build_guest

__all__ = ["boot_servers", "openstack", "rc_env"]

FLAVOR = "demo.tiny"
NETWORK = "demo-net"
SUBNET_RANGE = "10.77.0.0/24"


def rc_env(home: Path) -> dict[str, str]:
    """The environment of overcloudrc (``$TRIPLEO_HOME/overcloudrc``), nothing else of ours."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home)}
    for line in (home / "overcloudrc").read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            env[key] = value.strip("'")
    return env


def _client(home: Path, args: list[str] | tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    tool = str(Path(sys.executable).with_name("openstack"))
    return subprocess.run([tool, *args], env=rc_env(home), capture_output=True, text=True, timeout=600)


def openstack(home: Path, title: str, *args: str) -> str:
    """Print and run ``openstack args``; its output (SystemExit when it fails)."""
    print(f"\n=== {title}\n$ . $TRIPLEO_HOME/overcloudrc; openstack {' '.join(args)}", flush=True)
    started = time.perf_counter()
    proc = _client(home, args)
    if proc.returncode != 0:
        raise SystemExit(f"openstack {' '.join(args)} failed: {proc.stderr.strip()}")
    print(proc.stdout.rstrip(), f"\n({time.perf_counter() - started:.2f} s)", flush=True)
    return proc.stdout


def _json(home: Path, title: str, *args: str) -> Any:
    return json.loads(openstack(home, title, *args, "-f", "json"))


def _upload_guest(home: Path, targets: list[str]) -> str:
    """The guest, uploaded as kernel (aki), ramdisk (ari) and disk (raw, linked to both, with a kernel command
    line whose ``tripleo.ping=`` makes the guest's init ping ``targets``); the disk image's id."""
    print("\n=== Build the guest image from Debian packages (cloud kernel, busybox initramfs)", flush=True)
    started = time.perf_counter()
    guest = build_guest(home / "guest-cache")
    print(f"{guest.kernel} {guest.ramdisk} ({time.perf_counter() - started:.2f} s)")
    ids = {}
    for kind, path in (("aki", guest.kernel), ("ari", guest.ramdisk)):
        create = f"image create --disk-format {kind} --container-format {kind} --file {path}".split()
        ids[kind] = _json(home, f"Upload the guest's {kind}", *create, f"demo-guest-{kind}", "-c", "id")["id"]
    properties = [f"kernel_id={ids['aki']}", f"ramdisk_id={ids['ari']}",
                  f"os_command_line=console=ttyS0 tripleo.ping={','.join(targets)}"]  # fmt: skip
    # raw, not ami: Nova's image format inspector refuses a disk whose content is not its disk_format's, and
    # it takes kernel_id and ramdisk_id from the properties whatever the format
    create = f"image create --disk-format raw --container-format bare --file {guest.disk}".split()
    for prop in properties:
        create += ["--property", prop]
    return str(
        _json(home, "Upload the guest's disk, linked to both", *create, "demo-guest", "-c", "id")["id"]
    )


def _boot(home: Path, name: str, image: str, port: str, host: str | None) -> str:
    """``server create --wait``; the compute it runs on (on ``host`` when given, by availability zone)."""
    args = f"server create --flavor {FLAVOR} --image {image} --nic port-id={port}".split()
    if host:
        args += ["--availability-zone", f"nova:{host}"]
    where = f" on {host}" if host else ""
    server = _json(home, f"Boot {name}{where}", *args, "--wait", name, "-c", "status", "-c",
                   "OS-EXT-SRV-ATTR:host")  # fmt: skip
    if server.get("status") != "ACTIVE":
        raise SystemExit(f"server {name} is {server.get('status')}, not ACTIVE")
    return str(server["OS-EXT-SRV-ATTR:host"])


def _console_says(home: Path, server: str, text: str, timeout: float = 240) -> None:
    """Wait until the server's console log has ``text`` on a guest marker line; print the last of them."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [
            ln for ln in _client(home, ["console", "log", "show", server]).stdout.splitlines() if MARKER in ln
        ]
        said = any(text in line for line in lines)
        if said or time.monotonic() > deadline:
            print(f"\n=== {server}'s console\n$ openstack console log show {server} | grep {MARKER}")
            print("\n".join(lines[-5:]))
            if not said:
                raise SystemExit(f"{server}'s console never said {text!r} within {timeout:.0f} s")
            return
        time.sleep(3)


def _computes(home: Path) -> list[str]:
    proc = _client(
        home, ["compute", "service", "list", "--service", "nova-compute", "-f", "value", "-c", "Host"]
    )
    return proc.stdout.split()


def boot_servers(home: Path, spread: bool = True) -> None:
    """Two servers on two computes (``spread``; on one otherwise), on one tenant network (the default type:
    VXLAN with the Linux bridge agent, Geneve with OVN), that ping each other."""
    openstack(
        home,
        "The compute services",
        "compute",
        "service",
        "list",
        "-c",
        "Binary",
        "-c",
        "Host",
        "-c",
        "State",
    )
    openstack(home, "The Neutron agents", "network", "agent", "list", "-c", "Agent Type", "-c", "Host",
              "-c", "Alive")  # fmt: skip
    kinds = _json(home, "Which virt driver runs", "hypervisor", "list", "-c", "Hypervisor Type")
    qemu = any(k.get("Hypervisor Type") == "QEMU" for k in kinds)
    print("virt driver:", "libvirt, plain QEMU emulation" if qemu else "fake.FakeDriver (no guest runs)")
    openstack(home, "A flavor", *f"flavor create --ram 128 --disk 1 --vcpus 1 {FLAVOR} -c name".split())
    openstack(home, "A tenant network", *f"network create {NETWORK} -c provider:network_type".split())
    subnet = f"subnet create --network {NETWORK} --subnet-range {SUBNET_RANGE} demo-subnet -c cidr"
    openstack(home, "Its subnet, with DHCP (the controller's agent, or OVN's own)", *subnet.split())
    # the project's own default group, by id: the admin sees every project's "default" (tempest makes many)
    groups = _json(home, "The project's security groups", "security", "group", "list", "--project",
                   rc_env(home)["OS_PROJECT_NAME"], "-c", "ID", "-c", "Name")  # fmt: skip
    default = next(str(g["ID"]) for g in groups if g["Name"] == "default")
    openstack(home, "Let the guests ping each other", "security", "group", "rule", "create", "--protocol",
              "icmp", "--ingress", default, "-c", "protocol")  # fmt: skip
    ports = [_json(home, f"A port for demo-{n}", "port", "create", "--network", NETWORK, f"demo-{n}", "-c",
                   "id", "-c", "fixed_ips") for n in ("a", "b")]  # fmt: skip
    addresses = [str(p["fixed_ips"][0]["ip_address"]) for p in ports]
    image = _upload_guest(home, addresses)
    first = _boot(home, "demo-a", image, str(ports[0]["id"]), None)
    others = [host for host in _computes(home) if host != first] if spread else [first]
    _boot(home, "demo-b", image, str(ports[1]["id"]), others[0] if others else None)
    openstack(home, "demo-a's port: bound to its compute, ACTIVE", "port", "show", str(ports[0]["id"]),
              "-c", "binding_host_id", "-c", "status")  # fmt: skip
    if not qemu:
        return
    _console_says(home, "demo-a", f"ping {addresses[1]} ok")
    _console_says(home, "demo-b", f"ping {addresses[0]} ok")
    where = "on two computes" if spread else "on one compute"
    print(f"\nthe two guests, {where}, ping each other over their tenant network")
