"""The image set file: its checks (one line, file and YAML path) and its digests (the cache keys)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tripleo.config import kolla_start
from tripleo.config.images import digests, load_image_set
from tripleo.errors import InputError

REPO = Path(__file__).resolve().parents[3]
GOOD = {
    "namespace": "tripleo",
    "suite": "bookworm",
    "base": {"packages": ["python3"]},
    "images": {"memcached": {"packages": ["memcached"]}, "haproxy": {"packages": ["haproxy"]}},
}


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "images.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_shipped_image_set_loads() -> None:
    images = load_image_set(REPO / "templates" / "container-images.yaml")
    assert "puppet" in images.base.packages and images.images  # the base is every image's config image


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"base": {"packages": []}}, "base.packages: expected a non-empty list of Debian package names"),
        (
            {"images": {"memcached": {"packages": ["Memcached!"]}}},
            "images.memcached.packages.0: not a Debian",
        ),
        ({"images": {"memcached": {"packages": ["x"], "ports": [1]}}}, "images.memcached.ports: unknown key"),
        ({"images": {"base": {"packages": ["x"]}}}, "images.base: expected an image name"),
        ({"suite": 12}, "suite: expected a name"),
        ({"extra": 1}, "extra: unknown key"),
    ],
)
def test_bad_entries_name_file_and_path(tmp_path: Path, change: dict[str, object], message: str) -> None:
    path = write(tmp_path, {**GOOD, **change})
    with pytest.raises(InputError) as err:
        load_image_set(path)
    assert str(err.value).startswith(f"{path}: {message}")


def test_digests_are_stable_and_follow_the_packages(tmp_path: Path) -> None:
    one = digests(load_image_set(write(tmp_path, GOOD)))
    assert one == digests(load_image_set(write(tmp_path, GOOD)))
    more = {**GOOD, "images": {**GOOD["images"], "memcached": {"packages": ["memcached", "procps"]}}}  # type: ignore[dict-item]
    two = digests(load_image_set(write(tmp_path, more)))
    assert two["memcached"] != one["memcached"] and two["haproxy"] == one["haproxy"]
    assert two["base"] == one["base"]
    base = digests(load_image_set(write(tmp_path, {**GOOD, "base": {"packages": ["python3", "procps"]}})))
    assert base["base"] != one["base"] and base["haproxy"] != one["haproxy"]  # a new base: every layer anew


def test_kolla_start_copies_the_config_then_execs(tmp_path: Path) -> None:
    src = tmp_path / "src" / "etc" / "svc"
    src.mkdir(parents=True)
    (src / "svc.conf").write_text("x = 1\n")
    (tmp_path / "key").write_text("secret\n")
    dest = tmp_path / "root"
    config = {
        "command": f"{sys.executable} -c 'print(open(\"{dest}/etc/svc/svc.conf\").read())'",
        "config_files": [
            {"source": f"{tmp_path / 'src'}/*", "dest": str(dest)},
            {"source": str(tmp_path / "key"), "dest": str(dest / "key"), "perm": "0600"},
        ],
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    here = str(Path(kolla_start.__file__).parent)
    code = (
        f"import sys; from pathlib import Path; sys.path.insert(0, {here!r}); import kolla_start as k; "
        f"k.CONFIG = Path({str(tmp_path / 'config.json')!r}); k.main()"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "x = 1"  # the tree was merged in, then the command replaced the process
    assert (dest / "key").stat().st_mode & 0o777 == 0o600
