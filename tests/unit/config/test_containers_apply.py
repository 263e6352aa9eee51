"""The node agent's containers command: what it checks before touching anything, and the config hash that
decides whether a container is re-created (the lab deploy test runs it for real)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tripleo.config import containers_apply as ca


def test_an_unknown_key_names_the_container_and_exits_2() -> None:
    with pytest.raises(ca.Failure) as err:
        ca.check_step({"containers": {"memcached": {"image": "i", "ports": ["1:1"]}}})
    assert err.value.code == 2 and str(err.value).startswith("container memcached: unknown key 'ports'")
    with pytest.raises(ca.Failure) as err:
        ca.check_step({"config": {"memcached": {"step_config": "include x"}}})
    assert str(err.value) == "config memcached: no image"
    with pytest.raises(ca.Failure) as err:
        ca.check_step({"containers": {}, "volumes": []})
    assert "unknown key 'volumes' in the step file" in str(err.value)


def test_the_config_hash_follows_the_mounted_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ca, "_CONFIG_SOURCES", (str(tmp_path),))
    (tmp_path / "etc").mkdir()
    conf = tmp_path / "etc" / "svc.conf"
    conf.write_text("a = 1\n")
    spec = {
        "image": "i",
        "volumes": [f"{tmp_path}:/var/lib/kolla/config_files/src:ro", "/var/log/x:/var/log/x"],
    }
    first = ca.config_hash(spec)
    assert ca.config_hash(spec) == first
    conf.write_text("a = 2\n")
    assert ca.config_hash(spec) != first  # the config changed: the container is re-created
    conf.write_text("a = 1\n")
    assert ca.config_hash(spec) == first
    assert ca.config_hash({**spec, "image": "j"}) != first  # so does a new image


def test_run_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ca, "LOGS", tmp_path)
    spec = {
        "image": "reg/tripleo/memcached:1",
        "net": "host",
        "user": "root",
        "healthcheck": {"test": "true"},
    }
    args = ca.run_args("memcached", spec, "abc")
    assert args[:3] == ["run", "--name", "memcached"] and "tripleo.config_hash=abc" in args
    assert "--detach" in args
    assert args[args.index("--net") + 1] == "host" and args[args.index("--restart") + 1] == "always"
    assert args[args.index("--health-cmd") + 1] == "true" and args[-1] == "reg/tripleo/memcached:1"
    assert (tmp_path / "memcached").is_dir()  # its log directory


class FakePodman:
    """podman as the agent sees it: containers by name (state, exit code, hash label); ``run`` of a one-shot
    container ends with the exit code ``fails`` gives it."""

    def __init__(self, fails: dict[str, int] | None = None) -> None:
        self.containers: dict[str, dict[str, object]] = {}
        self.runs: list[str] = []
        self.fails = fails or {}

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        verb, rc, out = args[0], 0, ""
        if verb == "run":
            name = args[args.index("--name") + 1]
            digest = args[args.index("--label") + 1].split("=", 1)[1]
            detached = "--detach" in args
            rc = 0 if detached else self.fails.get(name, 0)
            state = {"Running": detached, "Status": "running" if detached else "exited", "ExitCode": rc}
            self.containers[name] = {"Config": {"Labels": {ca.HASH_LABEL: digest}}, "State": state}
            self.runs.append(name)
        elif verb == "container":  # inspect
            found = self.containers.get(args[2])
            rc, out = (0, json.dumps([found])) if found else (125, "")
        elif verb == "rm":
            self.containers.pop(args[-1], None)
        return subprocess.CompletedProcess(["podman", *args], rc, out, "")


def test_start_order_one_shot_tasks_and_their_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ca, "LOGS", tmp_path)
    fake = FakePodman()
    monkeypatch.setattr(ca, "podman", fake)
    containers = {
        "db_sync": {"image": "k", "detach": False, "start_order": 1, "command": "sync"},
        "api": {"image": "k", "start_order": 2},
        "database": {"image": "m"},
    }
    assert ca.start(containers) == ["database", "db_sync", "api"]  # 0, then 1, then 2
    assert fake.runs == ["database", "db_sync", "api"]
    assert ca.start(containers) == []  # a one-shot task that ended well is not run again
    containers["db_sync"] = {**containers["db_sync"], "command": "sync --again"}
    assert ca.start(containers) == ["db_sync"]  # its definition changed: only it runs


def test_a_failed_one_shot_task_stops_the_step_and_runs_again_next_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ca, "LOGS", tmp_path)
    fake = FakePodman(fails={"db_sync": 1})
    monkeypatch.setattr(ca, "podman", fake)
    containers = {"db_sync": {"image": "k", "detach": False}, "api": {"image": "k", "start_order": 1}}
    with pytest.raises(ca.Failure, match="container db_sync: ended with rc 1"):
        ca.start(containers)
    assert fake.runs == ["db_sync"]  # the API after it was not started
    fake.fails = {}
    assert ca.start(containers) == ["db_sync", "api"]
