"""The undercloud's container images and registry: build, push, list (``tripleo container ...``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tripleo.config.containerdata import resolve_images, step_files
from tripleo.config.download import STEPS
from tripleo.config.images import (
    BuiltImage,
    ImageSet,
    Podman,
    build_images,
    digests,
    image_rows,
    load_image_set,
)
from tripleo.config.registry import Registry
from tripleo.config.roledata import Service
from tripleo.errors import InputError, OperationError
from tripleo.nodeshell import NodeShell
from tripleo.resources.provisioned import ctlplane_shells
from tripleo.storage.paths import tripleo_home
from tripleo.workflows.request import DEFAULT_TEMPLATES

__all__ = [
    "Built",
    "build",
    "container_list",
    "host_container_steps",
    "image_list",
    "image_resolver",
    "image_set",
    "registry_address",
    "registry_start",
    "registry_stop",
]

IMAGES_FILE = "container-images.yaml"


def image_set(templates: Path = DEFAULT_TEMPLATES) -> ImageSet:
    return load_image_set(templates / IMAGES_FILE)


@dataclass(frozen=True)
class Built:
    images: list[BuiltImage]
    registry: str | None  # where they were pushed; None: no registry runs
    pushed: list[str]


def build(names: Sequence[str] = (), templates: Path = DEFAULT_TEMPLATES,
          progress: Callable[[str], None] = lambda _: None) -> Built:  # fmt: skip
    """Build what is missing of the image set, then push to the running registry what it lacks."""
    home = tripleo_home()
    images = image_set(templates)
    podman = Podman(home)
    built = build_images(images, podman, names, progress)
    registry = Registry.of(home)
    bind = registry.address()
    pushed = []
    if bind is not None:
        for image in built:
            repository, _, tag = image.ref.rpartition(":")
            if registry.has(bind, repository, tag):
                continue
            progress(f"pushing {image.ref} to {bind}")
            podman.run(
                "push", "--tls-verify=false", "--quiet", f"localhost/{image.ref}", f"{bind}/{image.ref}"
            )
            pushed.append(image.ref)
    return Built(built, bind, pushed)


def image_list(templates: Path = DEFAULT_TEMPLATES) -> list[dict[str, Any]]:
    home = tripleo_home()
    registry = Registry.of(home)
    bind = registry.address()
    pushed = (lambda repo, tag: registry.has(bind, repo, tag)) if bind is not None else None
    return image_rows(image_set(templates), Podman(home), pushed)


def registry_start(bind: str) -> str:
    return Registry.of(tripleo_home()).start(bind)


def registry_stop() -> bool:
    return Registry.of(tripleo_home()).stop()


def registry_address() -> str | None:
    return Registry.of(tripleo_home()).address()


def image_resolver(templates: Path = DEFAULT_TEMPLATES) -> tuple[Callable[[str], str], str]:
    """How config download names an image for the nodes, and the registry they pull from: an image of the
    set (``<namespace>/<name>``) becomes ``<registry>/<namespace>/<name>:<digest>``, the tag of what the set
    builds now; any other reference is used as written.

    :raises OperationError: no registry runs, or it does not answer.
    """
    images = image_set(templates)
    digest = digests(images)
    registry = Registry.of(tripleo_home())
    bind = registry.address()
    if bind is None or not registry.answers(bind):
        where = f"on {bind} " if bind else ""
        raise OperationError(
            f"the undercloud registry {where}does not answer: start it with `tripleo container registry "
            "start --bind <ctlplane address>:8787`, then `tripleo container image build`"
        )

    def resolve(name: str) -> str:
        namespace, _, short = name.partition("/")
        if namespace != images.namespace or ":" in short or short not in images.images:
            return name
        if not registry.has(bind, name, digest[short]):
            raise InputError(
                f"image {name} was never built or not pushed "
                f"(tripleo container image build --service {short})"
            )
        return f"{bind}/{name}:{digest[short]}"

    return resolve, bind


def host_container_steps(services: Sequence[Service], host: str, resolve: Callable[[str], str],
                         registry: str) -> dict[int, dict[str, Any]]:  # fmt: skip
    """One host's container step files (step -> what the node agent's ``containers`` command reads).

    :raises InputError: an image of a service there was never built (naming the service and the host).
    """
    containerized = {s.name: s.container for s in services if s.container is not None}
    images: dict[str, str] = {}
    for name, container in containerized.items():
        images.update(resolve_images(name, host, container, resolve))
    return step_files(containerized, images, registry, STEPS)


_INSPECT = (
    "ids=$(podman ps --all --quiet --filter label=tripleo.managed=true); "
    "[ -z \"$ids\" ] && echo '[]' || podman inspect $ids"
)


def _node_containers(host: Mapping[str, Any], shell: NodeShell) -> list[dict[str, Any]]:
    done = shell.run(_INSPECT, timeout=60)
    if not done.ok:
        said = done.stderr.strip().splitlines()
        raise OperationError(
            f"{host['name']}: cannot list its containers: {said[-1] if said else done.returncode}"
        )
    rows = []
    for info in json.loads(done.stdout or "[]"):
        state, config = info.get("State") or {}, info.get("Config") or {}
        health = (state.get("Health") or state.get("Healthcheck") or {}).get("Status") or "-"
        rows.append({
            "host": host["name"], "name": str(info.get("Name", "")).lstrip("/"),
            "image": info.get("ImageName") or config.get("Image"), "status": state.get("Status"),
            "health": health, "started": state.get("StartedAt"),
            "config_hash": (config.get("Labels") or {}).get("tripleo.config_hash"),
        })  # fmt: skip
    return sorted(rows, key=lambda r: str(r["name"]))


def container_list(
    hosts: Sequence[Mapping[str, Any]], *, connect: Callable[[Mapping[str, Any]], NodeShell] | None = None
) -> list[dict[str, Any]]:
    """Each host's tripleo containers: image, status, health, start time and config hash (asked of all
    hosts at once).

    :param connect: the shell to a host; by default SSH to its ctlplane address with tripleo's key.
    :raises OperationError: a host that cannot list its containers (its name and what it said).
    """
    shell_to = connect or ctlplane_shells()
    with ThreadPoolExecutor(max_workers=max(1, min(16, len(hosts)))) as pool:
        found = list(pool.map(lambda h: _node_containers(h, shell_to(h)), hosts))
    return [row for rows in found for row in rows]
