"""Container images built on the undercloud from Debian packages (``tripleo container image build``).

The image set is data (``templates/container-images.yaml``): a base and one image per service, each a list
of Debian packages. The base is a root file system from ``mmdebstrap --variant=minbase`` with the
undercloud's own apt sources, imported with ``podman import``; each service image is one ``podman build``
layer over it (``--isolation chroot``: builds need no cgroups, ``--network host``: apt reaches the same
mirrors as the host) that installs its packages and the start-up script
(:mod:`tripleo.config.kolla_start`).

Every image is tagged ``<namespace>/<name>:<digest>``, the digest of what it is built from (suite, apt
sources, packages, build files, and for a service image its base's digest). A build whose tag exists does
nothing, so an unchanged rebuild takes seconds. The tag is the last thing a build makes: a build killed
half-way leaves no tagged image, only leftovers (a scratch tar, buildah's working containers) that the
next build removes first.

The undercloud's image store is its own (``$TRIPLEO_HOME/containers/storage``, or
``$TRIPLEO_CONTAINER_STORE``), apart from the host's.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import logging
import os
import re
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tripleo import boundedyaml
from tripleo.debian import DOC_EXCLUDES, PACKAGE_NAME, mirror, mirror_text
from tripleo.errors import InputError, OperationError

__all__ = [
    "BuiltImage",
    "ImageSet",
    "ImageSpec",
    "Podman",
    "build_images",
    "digests",
    "image_rows",
    "load_image_set",
]

LOG = logging.getLogger(__name__)
BASE = "base"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_START = "/usr/local/bin/kolla_start"


@dataclass(frozen=True)
class ImageSpec:
    name: str
    packages: tuple[str, ...]


@dataclass(frozen=True)
class ImageSet:
    file: str
    namespace: str
    suite: str
    base: ImageSpec
    images: Mapping[str, ImageSpec]

    def ref(self, name: str, digest: str) -> str:
        return f"{self.namespace}/{name}:{digest}"


def _packages(value: Any, file: str, path: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise InputError("expected a non-empty list of Debian package names", file=file, path=path)
    for i, name in enumerate(value):
        if not isinstance(name, str) or not PACKAGE_NAME.match(name):
            raise InputError(f"not a Debian package name: {name!r}", file=file, path=f"{path}.{i}")
    return tuple(value)


def _keys(data: Mapping[str, Any], allowed: set[str], file: str, path: str | None) -> None:
    for key in data:
        if key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            raise InputError(
                f"unknown key (expected one of {', '.join(sorted(allowed))})", file=file, path=where
            )


def load_image_set(path: Path) -> ImageSet:
    """Read and check an image set file.

    :raises InputError: unreadable, bad YAML, or a bad entry (file and YAML path).
    """
    file = str(path)
    data = boundedyaml.load_file(path, "the image set")
    if not isinstance(data, dict):
        raise InputError("expected a mapping with namespace, suite, base and images", file=file)
    _keys(data, {"namespace", "suite", "base", "images"}, file, None)
    texts = {}
    for key in ("namespace", "suite"):
        value = data.get(key)
        if not isinstance(value, str) or not _NAME.match(value):
            raise InputError(f"expected a name matching {_NAME.pattern}, got {value!r}", file=file, path=key)
        texts[key] = value
    base = data.get("base")
    if not isinstance(base, dict):
        raise InputError("expected a mapping with packages", file=file, path="base")
    _keys(base, {"packages"}, file, "base")
    images = data.get("images")
    if not isinstance(images, dict) or not images:
        raise InputError("expected a mapping of image name to its packages", file=file, path="images")
    specs = {}
    for name, entry in images.items():
        where = f"images.{name}"
        if not isinstance(name, str) or not _NAME.match(name) or name == BASE:
            raise InputError(
                f"expected an image name matching {_NAME.pattern}, not {BASE}", file=file, path=where
            )
        if not isinstance(entry, dict):
            raise InputError("expected a mapping with packages", file=file, path=where)
        _keys(entry, {"packages"}, file, where)
        specs[name] = ImageSpec(name, _packages(entry.get("packages"), file, f"{where}.packages"))
    base_spec = ImageSpec(BASE, _packages(base.get("packages"), file, "base.packages"))
    return ImageSet(file, texts["namespace"], texts["suite"], base_spec, specs)


def _start_script() -> bytes:
    return importlib.resources.files("tripleo.config").joinpath("kolla_start.py").read_bytes()


def _containerfile(image_set: ImageSet, spec: ImageSpec, base_digest: str) -> str:
    packages = " ".join(spec.packages)
    return (
        f"FROM localhost/{image_set.ref(BASE, base_digest)}\n"
        f"RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
        f"--no-install-recommends {packages} && apt-get clean && rm -rf /var/lib/apt/lists/*\n"
        f"COPY kolla_start.py {_START}\n"
        f"RUN chmod 0755 {_START}\n"
        f'CMD ["{_START}"]\n'
    )


def _sha(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()[:16]


def digests(image_set: ImageSet) -> dict[str, str]:
    """Each image's tag: the digest of what it is built from."""
    sources = mirror_text()
    base = _sha(image_set.suite, sources, json.dumps(list(image_set.base.packages)), json.dumps(DOC_EXCLUDES))
    out = {BASE: base}
    for name, spec in image_set.images.items():
        out[name] = _sha(base, _containerfile(image_set, spec, base), _start_script())
    return out


class Podman:
    """podman on the undercloud's own image store."""

    def __init__(self, home: Path) -> None:
        # TRIPLEO_CONTAINER_STORE: a store shared by several homes (e.g. the test modules' labs)
        shared = os.environ.get("TRIPLEO_CONTAINER_STORE")
        self.directory = Path(shared) if shared else home / "containers"
        self.root = self.directory / "storage"
        # podman wants its run root under 50 characters: one per store, under /run
        self.runroot = (
            Path("/run") / f"tripleo-podman-{hashlib.sha256(str(self.root).encode()).hexdigest()[:12]}"
        )

    def argv(self, *args: str) -> list[str]:
        return ["podman", "--root", str(self.root), "--runroot", str(self.runroot), *args]

    def run(self, *args: str, check: bool = True, log: Path | None = None, timeout: float = 1800) -> str:
        LOG.debug("podman %s", " ".join(args))
        out = log.open("a") if log is not None else None
        try:
            proc = subprocess.run(self.argv(*args), stdout=out or subprocess.PIPE,
                                  stderr=subprocess.STDOUT if out else subprocess.PIPE, text=True,
                                  timeout=timeout, check=False)  # fmt: skip
        except FileNotFoundError as exc:
            raise OperationError("podman is not installed (scripts/debian-packages installs it)") from exc
        finally:
            if out is not None:
                out.close()
        if check and proc.returncode != 0:
            said = _tail(log) if log is not None else (proc.stderr or "").strip().splitlines()[-1:]
            raise OperationError(f"podman {args[0]} failed (rc {proc.returncode}): {' | '.join(said)}")
        return proc.stdout or ""

    def tags(self) -> dict[str, dict[str, Any]]:
        """Every tagged image of the store: ``namespace/name:tag`` -> podman's image record."""
        out = self.run("images", "--format", "json")
        rows: dict[str, dict[str, Any]] = {}
        for image in json.loads(out or "[]"):
            for name in image.get("Names") or []:
                rows[name.removeprefix("localhost/")] = image
        return rows


def _tail(log: Path, lines: int = 3) -> list[str]:
    try:
        return [x for x in log.read_text(errors="replace").splitlines() if x.strip()][-lines:]
    except OSError:
        return []


@dataclass(frozen=True)
class BuiltImage:
    name: str
    ref: str
    built: bool  # False: the tag existed, nothing was done
    seconds: float


def _clean_leftovers(podman: Podman, work: Path) -> None:
    """What a killed build left: buildah's working containers and scratch files (never a tagged image)."""
    ids = podman.run("ps", "--all", "--external", "--format", "{{.ID}}", check=False).split()
    if ids:
        podman.run("rm", "--force", *ids, check=False)
    for scratch in work.glob("*.part"):
        scratch.unlink()


def _build_base(image_set: ImageSet, podman: Podman, digest: str, work: Path, log: Path) -> None:
    tar = work / f"base-{digest}.tar"
    scratch = tar.with_suffix(".tar.part")
    argv = ["mmdebstrap", "--variant=minbase", "--mode=root", "--format=tar", "--quiet",
            f"--include={','.join(image_set.base.packages)}",
            *(f"--dpkgopt=path-exclude={pattern}" for pattern in DOC_EXCLUDES),
            image_set.suite, str(scratch), mirror()]  # fmt: skip
    with log.open("a") as out:
        try:
            proc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=1800, check=False)
        except FileNotFoundError as exc:
            raise OperationError("mmdebstrap is not installed (scripts/debian-packages installs it)") from exc
    if proc.returncode != 0:
        raise OperationError(f"{BASE}: mmdebstrap failed (rc {proc.returncode}): {' | '.join(_tail(log))}")
    os.replace(scratch, tar)
    try:
        podman.run("import", str(tar), image_set.ref(BASE, digest), log=log)
    finally:
        tar.unlink(missing_ok=True)


def _build_layer(image_set: ImageSet, podman: Podman, spec: ImageSpec, digests_: Mapping[str, str],
                 work: Path, log: Path) -> None:  # fmt: skip
    context = work / f"{spec.name}-{digests_[spec.name]}"
    context.mkdir(parents=True, exist_ok=True)
    (context / "Containerfile").write_text(_containerfile(image_set, spec, digests_[BASE]))
    (context / "kolla_start.py").write_bytes(_start_script())
    ref = image_set.ref(spec.name, digests_[spec.name])
    try:
        podman.run("build", "--isolation", "chroot", "--network", "host", "--layers=false", "--pull=never",
                   "--tag", ref, str(context), log=log)  # fmt: skip
    finally:
        for path in context.iterdir():
            path.unlink()
        context.rmdir()


def build_images(image_set: ImageSet, podman: Podman, names: Sequence[str] = (),
                 progress: Callable[[str], None] = lambda _: None) -> list[BuiltImage]:  # fmt: skip
    """Build the base and the named images (all of them when none is named); what exists is kept.

    :raises InputError: an unknown image name (nothing is built).
    :raises OperationError: a build failed (its log's last lines; the log is under containers/logs).
    """
    for name in names:
        if name not in image_set.images:
            known = ", ".join(sorted(image_set.images))
            raise InputError(
                f"no image {name!r} (the image set has {known})", file=image_set.file, path="images"
            )
    wanted = [image_set.images[n] for n in (names or sorted(image_set.images))]
    digest = digests(image_set)
    work, logs = podman.directory / "build", podman.directory / "logs"
    work.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    have = podman.tags()
    if not all(image_set.ref(s.name, digest[s.name]) in have for s in wanted):
        _clean_leftovers(podman, work)
    done = []
    for spec in [image_set.base, *wanted]:
        ref = image_set.ref(spec.name, digest[spec.name])
        if ref in have:
            done.append(BuiltImage(spec.name, ref, False, 0.0))
            continue
        progress(f"building {ref}")
        started = time.monotonic()
        log = logs / f"{spec.name}-{digest[spec.name]}.log"
        log.write_text("")
        if spec.name == BASE:
            _build_base(image_set, podman, digest[BASE], work, log)
        else:
            _build_layer(image_set, podman, spec, digest, work, log)
        done.append(BuiltImage(spec.name, ref, True, time.monotonic() - started))
    return done


def image_rows(
    image_set: ImageSet, podman: Podman, pushed: Callable[[str, str], bool] | None = None
) -> list[dict[str, Any]]:
    """One row per image of the set: its current tag, whether it is built, its size, and (with ``pushed``)
    whether the registry has it."""
    digest = digests(image_set)
    have = podman.tags() if podman.root.exists() else {}
    rows = []
    for spec in [image_set.base, *(image_set.images[n] for n in sorted(image_set.images))]:
        ref = image_set.ref(spec.name, digest[spec.name])
        image = have.get(ref)
        row: dict[str, Any] = {
            "name": spec.name,
            "image": ref,
            "built": image is not None,
            "size_mb": round(int(image.get("Size", 0)) / 1e6, 1) if image else None,
            "id": str(image.get("Id", ""))[:12] if image else None,
        }
        if pushed is not None:
            row["in_registry"] = image is not None and pushed(
                f"{image_set.namespace}/{spec.name}", digest[spec.name]
            )
        rows.append(row)
    return rows
