"""The node agent's containers command: what it checks before touching anything, and the config hash that
decides whether a container is re-created (the lab deploy test runs it for real)."""

from __future__ import annotations

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
    assert args[:3] == ["run", "--detach", "--name"] and "tripleo.config_hash=abc" in args
    assert args[args.index("--net") + 1] == "host" and args[args.index("--restart") + 1] == "always"
    assert args[args.index("--health-cmd") + 1] == "true" and args[-1] == "reg/tripleo/memcached:1"
    assert (tmp_path / "memcached").is_dir()  # its log directory
