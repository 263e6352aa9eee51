"""Issue 22, acceptance 3: stack create / update / delete answer at once whatever else runs; a server
killed with operations running or queued leaves none IN_PROGRESS once it is started again (each FAILED,
"interrupted", with the stack's own FAILED event that ends a client's ``--wait``), and a retried create
completes; a stack name is claimed once, however many ask at the same time."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from apikit import OPENSTACK, Undercloud, serve_process, wait_until

SLOW_SECS = 12


def _template(wait: float) -> dict[str, Any]:
    props = {"value": "v", "wait_secs": wait}
    return {
        "heat_template_version": "2018-08-31",
        "resources": {"slow": {"type": "OS::Heat::TestResource", "properties": props}},
        "outputs": {"out": {"value": {"get_attr": ["slow", "output"]}}},
    }


def _timed(call: Any) -> tuple[requests.Response, float]:
    began = time.monotonic()
    reply = call()
    return reply, time.monotonic() - began


def _stacks(cloud: Undercloud, token: dict[str, str]) -> dict[str, dict[str, Any]]:
    reply = requests.get(f"{cloud.heat_url}/stacks", headers=token, timeout=10)
    assert reply.status_code == 200, reply.text
    return {s["stack_name"]: s for s in reply.json()["stacks"]}


def _stack_events(cloud: Undercloud, token: dict[str, str], name: str, sid: str) -> list[dict[str, Any]]:
    """The stack's own events (those ``--wait`` reads: named after the stack, its id as physical id)."""
    url = f"{cloud.heat_url}/stacks/{name}/{sid}/events"
    reply = requests.get(url, headers=token, timeout=10)
    assert reply.status_code == 200, reply.text
    return [
        e for e in reply.json()["events"] if e["resource_name"] == name and e["physical_resource_id"] == sid
    ]


def _create(cloud: Undercloud, token: dict[str, str], name: str, wait: float) -> requests.Response:
    body = {"stack_name": name, "template": _template(wait)}
    return requests.post(f"{cloud.heat_url}/stacks", json=body, headers=token, timeout=30)


def _kill(cloud: Undercloud) -> None:
    os.kill(cloud.pid, signal.SIGKILL)
    wait_until(lambda: not Path(f"/proc/{cloud.pid}").exists() or _zombie(cloud.pid), 10, "the killed server")


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_slow_operations_answer_at_once_and_a_killed_server_strands_none(tmp_path: Path) -> None:
    slow = [f"slow{i}" for i in range(6)]
    with serve_process(tmp_path, "--backend", "noop") as first:
        token = {"X-Auth-Token": first.token()}
        for name in ("q-update", "q-delete"):
            assert _create(first, token, name, 0).status_code == 201
        wait_until(
            lambda: all(
                _stacks(first, token)[n]["stack_status"] == "CREATE_COMPLETE"
                for n in ("q-update", "q-delete")
            ),
            30,
            "the two quick stacks",
        )
        # six creates of 12 s each with 4 workers: every answer at once, the last two queued
        with ThreadPoolExecutor(len(slow)) as pool:
            answers = list(pool.map(lambda n: _timed(lambda: _create(first, token, n, SLOW_SECS)), slow))
        assert [r.status_code for r, _ in answers] == [201] * 6, [r.text for r, _ in answers]
        assert max(t for _, t in answers) < 1.0, [round(t, 2) for _, t in answers]
        # an update and a delete, queued behind them, answer at once too
        rows = _stacks(first, token)
        upd, dele = rows["q-update"], rows["q-delete"]
        patched, took_update = _timed(
            lambda: requests.patch(
                f"{first.heat_url}/stacks/q-update/{upd['id']}",
                json={"parameters": {}, "template": _template(1)},
                headers=token,
                timeout=30,
            )
        )
        deleted, took_delete = _timed(
            lambda: requests.delete(
                f"{first.heat_url}/stacks/q-delete/{dele['id']}", headers=token, timeout=30
            )
        )
        assert (patched.status_code, deleted.status_code) == (202, 204), (patched.text, deleted.text)
        assert max(took_update, took_delete) < 1.0, (took_update, took_delete)
        rows = _stacks(first, token)
        status = {n: rows[n]["stack_status"] for n in [*slow, "q-update", "q-delete"]}
        assert status == {**{n: "CREATE_IN_PROGRESS" for n in slow}, "q-update": "UPDATE_IN_PROGRESS",
                          "q-delete": "DELETE_IN_PROGRESS"}  # fmt: skip
        ids = {n: rows[n]["id"] for n in status}
        for name in slow:  # what --wait reads: the stack's IN_PROGRESS event, there with the answer
            assert [e["resource_status"] for e in _stack_events(first, token, name, ids[name])] == [
                "CREATE_IN_PROGRESS"
            ]
        _kill(first)

    restarted = time.monotonic()
    with serve_process(tmp_path, "--backend", "noop") as second:
        token = {"X-Auth-Token": second.token()}
        wait_until(
            lambda: (
                not any(s["stack_status"].endswith("IN_PROGRESS") for s in _stacks(second, token).values())
            ),
            30,
            "no stack IN_PROGRESS after the restart",
        )
        assert time.monotonic() - restarted < 30
        rows = _stacks(second, token)
        for name, sid in ids.items():
            action = {"q-update": "UPDATE", "q-delete": "DELETE"}.get(name, "CREATE")
            assert rows[name]["stack_status"] == f"{action}_FAILED", rows[name]
            assert "interrupted" in rows[name]["stack_status_reason"]
            last = _stack_events(second, token, name, sid)[-1]
            assert (
                last["resource_status"] == f"{action}_FAILED"
                and "interrupted" in last["resource_status_reason"]
            )

        # a retried create resumes the stack under its id and completes; so does an update of another
        # (openstack stack update --wait, which waits on the stack's events) and the retried delete
        env = second.client_env()
        update = subprocess.Popen(
            [OPENSTACK, "stack", "update", "--existing", "--wait", "slow1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        again = _create(second, token, "slow0", SLOW_SECS)
        assert again.status_code == 201 and again.json()["stack"]["id"] == ids["slow0"], again.text
        gone = requests.delete(
            f"{second.heat_url}/stacks/q-delete/{ids['q-delete']}", headers=token, timeout=30
        )
        assert gone.status_code == 204, gone.text
        wait_until(lambda: "q-delete" not in _stacks(second, token), 30, "the retried delete")
        out, err = update.communicate(timeout=90)
        assert update.returncode == 0, err
        wait_until(lambda: _stacks(second, token)["slow0"]["stack_status"] == "CREATE_COMPLETE", 30, "slow0")
        rows = _stacks(second, token)
        assert rows["slow1"]["stack_status"] == "UPDATE_COMPLETE", rows["slow1"]
        statuses = [e["resource_status"] for e in _stack_events(second, token, "slow0", ids["slow0"])]
        assert statuses == ["CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
        out = requests.get(
            f"{second.heat_url}/stacks/slow0/{ids['slow0']}/outputs/out", headers=token, timeout=10
        )
        assert out.json()["output"]["output_value"] == "v"


def test_one_name_posted_ten_times_at_once_is_created_once(undercloud: Undercloud) -> None:
    token = {"X-Auth-Token": undercloud.token()}
    gate = threading.Barrier(10)

    def post(_: int) -> requests.Response:
        gate.wait()
        return _create(undercloud, token, "contended", 1)

    with ThreadPoolExecutor(10) as pool:
        replies = list(pool.map(post, range(10)))
    codes = sorted(r.status_code for r in replies)
    assert codes == [201] + [409] * 9, [r.text for r in replies]
    for reply in replies:
        if reply.status_code == 409:
            body = reply.json()
            assert body["code"] == 409 and body["error"]["type"] == "StackExists", body
            assert body["error"]["message"] == "The Stack (contended) already exists."
    sid = next(r for r in replies if r.status_code == 201).json()["stack"]["id"]
    wait_until(
        lambda: _stacks(undercloud, token)["contended"]["stack_status"] == "CREATE_COMPLETE", 30, "the winner"
    )
    url = f"{undercloud.heat_url}/stacks/contended/{sid}/events"
    events = requests.get(url, headers=token, timeout=10).json()["events"]
    assert not [e for e in events if e["resource_status"] == "CREATE_FAILED"], events
    statuses = [e["resource_status"] for e in _stack_events(undercloud, token, "contended", sid)]
    assert statuses == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
