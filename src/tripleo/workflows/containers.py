"""The undercloud's container images and registry: build, push, list (``tripleo container ...``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tripleo.config.images import BuiltImage, ImageSet, Podman, build_images, image_rows, load_image_set
from tripleo.config.registry import Registry
from tripleo.storage.paths import tripleo_home
from tripleo.workflows.overcloud import DEFAULT_TEMPLATES

__all__ = ["Built", "build", "image_list", "image_set", "registry_start", "registry_stop"]

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
