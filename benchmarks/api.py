"""Undercloud API benchmark: ``tripleo undercloud serve`` measured through Heat's API and the real clients.

1. API latency with 100 stacks: ``GET /v1/admin/stacks`` (stack list) and ``GET /v1/admin/stacks/{name}/{id}``
   (stack show), one keep-alive HTTP session with a Keystone token, median and p95 of 50 requests each;
   plus the wall time of ``openstack stack list`` / ``openstack stack show`` (client start-up included).
2. The server's own create time: heatclient's request body POSTed, the stack polled every 50 ms.
3. ``openstack stack create --wait`` of ../shared/bench/heat-shaped with ComputeCount=10 (backend noop, as
   the stack benchmarks), with the client's default 5 s event poll and with ``--poll 1``; then
   ``stack update --wait --existing`` (ComputeCount=11) and ``stack delete --wait``.

Anchor (../shared/bench/README.md, heat-all on this machine kind, heat-shaped ComputeCount=10): create
52.5 s (51.67 s on 2026-12-01). Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
SHAPED = REPO.parent / "shared" / "bench" / "heat-shaped"
BIN = Path(sys.executable).parent
HEAT_ALL_CREATE = 52.5
STACKS = 100


def free_ports(count: int) -> list[int]:
    probes = [socket.socket() for _ in range(count)]
    for probe in probes:
        probe.bind(("127.0.0.1", 0))
    ports = [int(p.getsockname()[1]) for p in probes]
    for probe in probes:
        probe.close()
    return ports


def seed(home: Path, count: int) -> None:
    """``count`` stacks made with the stack service the CLI uses (small: 1 compute each)."""
    code = (
        "import sys\n"
        "from tripleo.resources.service import Options, StackService\n"
        "from tripleo.storage import open_database\n"
        "svc = StackService(open_database())\n"
        "for i in range(int(sys.argv[1])):\n"
        "    svc.create(f'seed-{i:03d}', sys.argv[2], [sys.argv[3]], {'ComputeCount': '1'},"
        " Options(backend='noop'))\n"
    )
    env = {**os.environ, "TRIPLEO_HOME": str(home)}
    env.pop("TRIPLEO_DB_URL", None)
    args = [sys.executable, "-c", code, str(count), str(SHAPED / "overcloud.yaml"), str(SHAPED / "env.yaml")]
    subprocess.run(args, env=env, check=True)


def timed(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(args, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {proc.stderr.strip()}")
    return round(time.perf_counter() - started, 2)


def latency(session: requests.Session, url: str, n: int = 50) -> dict[str, float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        reply = session.get(url, timeout=30)
        samples.append((time.perf_counter() - started) * 1000)
        reply.raise_for_status()
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 1), "p95_ms": round(samples[int(n * 0.95) - 1], 1)}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        seed(home, STACKS)
        keystone, heat, ironic = free_ports(3)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "TRIPLEO_"))}
        env["TRIPLEO_HOME"] = str(home)
        server = subprocess.Popen(
            [
                str(BIN / "tripleo"),
                "undercloud",
                "serve",
                "--backend",
                "noop",
                "--keystone-port",
                str(keystone),
                "--heat-port",
                str(heat),
                "--ironic-port",
                str(ironic),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            results = measure(home, env, keystone, heat)
        finally:
            server.terminate()
            server.wait(timeout=60)
    print(json.dumps(results))


def _wait(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"the server does not listen on {port}")


def measure(home: Path, env: dict[str, str], keystone: int, heat: int) -> dict[str, Any]:
    _wait(keystone)
    _wait(heat)
    password = (home / "undercloud-admin-password").read_text().strip()
    client = {
        **env,
        "OS_AUTH_URL": f"http://127.0.0.1:{keystone}/v3",
        "OS_USERNAME": "admin",
        "OS_PROJECT_NAME": "admin",
        "OS_USER_DOMAIN_NAME": "Default",
        "OS_PROJECT_DOMAIN_NAME": "Default",
        "OS_PASSWORD": password,
    }
    session = requests.Session()
    user = {"name": "admin", "domain": {"name": "Default"}, "password": password}
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}
    reply = session.post(f"http://127.0.0.1:{keystone}/v3/auth/tokens", json=auth, timeout=10)
    session.headers["X-Auth-Token"] = reply.headers["X-Subject-Token"]
    base = f"http://127.0.0.1:{heat}/v1/admin"
    stacks = session.get(f"{base}/stacks", timeout=30).json()["stacks"]
    assert len(stacks) == STACKS, len(stacks)
    one = stacks[STACKS // 2]
    out: dict[str, Any] = {"stacks": STACKS}
    out["GET /stacks"] = latency(session, f"{base}/stacks")
    out["GET /stacks/{name}/{id}"] = latency(session, f"{base}/stacks/{one['stack_name']}/{one['id']}")
    osc = str(BIN / "openstack")
    out["openstack stack list (s)"] = min(timed([osc, "stack", "list"], client) for _ in range(3))
    out["openstack stack show (s)"] = min(
        timed([osc, "stack", "show", one["stack_name"]], client) for _ in range(3)
    )
    tpl = [
        "-t",
        str(SHAPED / "overcloud.yaml"),
        "-e",
        str(SHAPED / "env.yaml"),
        "--parameter",
        "ComputeCount=10",
    ]
    out["openstack stack create --wait, ComputeCount=10 (s)"] = timed(
        [osc, "stack", "create", "--wait", *tpl, "cc10"], client
    )
    out["... with --poll 1 (s)"] = timed(
        [osc, "stack", "create", "--wait", "--poll", "1", *tpl, "cc10b"], client
    )
    out["openstack stack update --wait --existing, ComputeCount=11 (s)"] = timed(
        [osc, "stack", "update", "--wait", "--existing", "--parameter", "ComputeCount=11", "cc10"], client
    )
    out["openstack stack delete --wait (s)"] = timed([osc, "stack", "delete", "--wait", "-y", "cc10"], client)
    out["POST /stacks to CREATE_COMPLETE, ComputeCount=10, polled every 50 ms (s)"] = api_create(
        session, base
    )
    out["heat-all create, ComputeCount=10 (s)"] = HEAT_ALL_CREATE
    return out


def api_create(session: requests.Session, base: str) -> float:
    """The server's own time: the body heatclient sends (built with heatclient's template_utils), then the
    stack polled every 50 ms until CREATE_COMPLETE (the client's --wait polls every 1-5 s)."""
    from heatclient.common import template_utils

    files, template = template_utils.process_template_path(str(SHAPED / "overcloud.yaml"))
    env_files: list[str] = []
    env_map, env = template_utils.process_multiple_environments_and_files(
        env_paths=[str(SHAPED / "env.yaml")], env_list_tracker=env_files
    )
    body = {
        "stack_name": "cc10api",
        "template": template,
        "files": {**files, **env_map},
        "environment": env,
        "environment_files": env_files,
        "parameters": {"ComputeCount": "10"},
        "disable_rollback": True,
    }
    started = time.perf_counter()
    reply = session.post(f"{base}/stacks", json=body, timeout=60)
    reply.raise_for_status()
    url = reply.json()["stack"]["links"][0]["href"]
    while session.get(url, timeout=30).json()["stack"]["stack_status"] != "CREATE_COMPLETE":
        time.sleep(0.05)
    return round(time.perf_counter() - started, 2)


if __name__ == "__main__":
    main()
