"""The container part of a service's role_data (``deployment/<service>/<service>-container-puppet.yaml``),
as tripleo-heat-templates has it::

    puppet_config:   {config_volume, puppet_tags, step_config, config_image}
                     the config container: the service's Puppet run in its image, limited to file
                     resources, writes /var/lib/config-data/puppet-generated/<config_volume>
    kolla_config:    {/var/lib/kolla/config_files/<name>.json: {command, config_files, permissions}}
                     what the image's kolla_start copies in and runs
    docker_config:   {step_N: {<container>: {image, net, restart, volumes, environment, healthcheck,
                                             command, user, privileged, detach, start_order}}}
                     the containers started in deploy step N (all nodes of a step before the next);
                     ``detach: false`` is a one-shot task (db sync, bootstrap) run to its end

Images are named ``<namespace>/<name>`` (the image set's, templates/container-images.yaml); config download
resolves each to the registry's tag for what the image set builds now (:func:`resolve_images`). Checked
once, with the service template and the YAML path, before anything changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tripleo.errors import InputError
from tripleo.fields import Reader

__all__ = ["CONTAINER_KEYS", "ContainerService", "parse_container", "resolve_images", "step_files"]

_AT = "outputs.role_data.value"
CONTAINER_KEYS = frozenset(
    {"image", "net", "restart", "volumes", "environment", "healthcheck", "command", "user", "privileged",
     "detach", "start_order"}
)  # fmt: skip
_PUPPET_KEYS = frozenset({"config_volume", "puppet_tags", "step_config", "config_image"})
_KOLLA_KEYS = frozenset({"command", "config_files", "permissions"})
_STEP = re.compile(r"^step_([1-5])$")  # the deploy steps (download.STEPS)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


@dataclass(frozen=True)
class ContainerService:
    """What a containerized service runs: its config container, kolla configs and containers per step."""

    config_volume: str
    config_image: str
    step_config: str
    puppet_tags: str = ""
    kolla: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    steps: Mapping[int, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)

    @property
    def images(self) -> set[str]:
        return {self.config_image, *(str(c["image"]) for s in self.steps.values() for c in s.values())}


def _container(r: Reader, name: str, value: Any, path: str) -> Mapping[str, Any]:
    spec = r.mapping(value, path)
    r.keys(spec, path, CONTAINER_KEYS)
    r.text(spec.get("image"), f"{path}.image", empty=False, message=f"container {name} has no image")
    r.texts(spec.get("volumes", []), f"{path}.volumes", message="volumes must be a list of strings")
    for key in ("environment", "healthcheck"):
        if key in spec:
            r.mapping(spec[key], f"{path}.{key}")
    r.boolean(spec.get("detach", True), f"{path}.detach", message="detach must be true or false")
    order = "start_order must be a whole number from 0"
    r.integer(spec.get("start_order", 0), f"{path}.start_order", 0, message=order)
    return spec


def _steps(r: Reader, docker_config: Any) -> dict[int, dict[str, Mapping[str, Any]]]:
    steps: dict[int, dict[str, Mapping[str, Any]]] = {}
    for key, containers in r.mapping(docker_config, "docker_config").items():
        at = f"docker_config.{key}"
        match = _STEP.match(str(key))
        if match is None:
            raise r.fail(at, f"{key!r} is not a step (step_1 .. step_5)")
        for name, spec in r.mapping(containers or {}, at).items():
            r.text(name, f"{at}.{name}", _NAME, message=f"{name!r} is not a container name")
            steps.setdefault(int(match.group(1)), {})[name] = _container(r, name, spec, f"{at}.{name}")
    return steps


def parse_container(data: Mapping[str, Any], service: str, file: str) -> ContainerService | None:
    """The container part of one service's role_data; None for a service without docker_config.

    :raises InputError: a value of the wrong shape or an unknown key (file and YAML path).
    """
    if data.get("docker_config") is None:
        return None
    r = Reader(file, at=_AT, prefix=f"service {service}: ")
    puppet = r.mapping(data.get("puppet_config") or {}, "puppet_config")
    r.keys(puppet, "puppet_config", _PUPPET_KEYS)
    steps = _steps(r, data["docker_config"])
    kolla: dict[str, Mapping[str, Any]] = {}
    for path, spec in r.mapping(data.get("kolla_config") or {}, "kolla_config").items():
        entry = r.mapping(spec, f"kolla_config.{path}")
        r.keys(entry, f"kolla_config.{path}", _KOLLA_KEYS)
        if not str(path).startswith("/var/lib/kolla/config_files/") or not entry.get("command"):
            message = "a kolla config is /var/lib/kolla/config_files/<name>.json with a command"
            raise r.fail(f"kolla_config.{path}", message)
        kolla[str(path)] = entry
    volume, image = str(puppet.get("config_volume") or ""), str(puppet.get("config_image") or "")
    if bool(volume) != bool(image):
        raise r.fail("puppet_config", "puppet_config needs both config_volume and config_image")
    step_config, tags = str(puppet.get("step_config") or ""), str(puppet.get("puppet_tags") or "")
    return ContainerService(volume, image, step_config, tags, kolla, steps)


def resolve_images(service: str, host: str, container: ContainerService,
                   resolve: Callable[[str], str]) -> dict[str, str]:  # fmt: skip
    """Each image the service names -> the reference nodes pull; ``resolve`` raises for an image that was
    never built or is not in the registry, and the message gains the service and the host."""
    out = {}
    for image in sorted(i for i in container.images if i):
        try:
            out[image] = resolve(image)
        except InputError as exc:
            raise InputError(
                f"service {service} on {host}: {exc.message}", file=exc.file, path=exc.path
            ) from exc
    return out


def step_files(services: Mapping[str, ContainerService], images: Mapping[str, str], registry: str,
               steps: int) -> dict[int, dict[str, Any]]:  # fmt: skip
    """One host's step files (step -> the JSON the node agent's ``containers`` command reads): the config
    volumes and kolla configs in step 1, each step's containers, images resolved."""
    out: dict[int, dict[str, Any]] = {}
    for step in range(1, steps + 1):
        data: dict[str, Any] = {
            "insecure_registries": [registry],
            "config": {},
            "kolla": {},
            "containers": {},
        }
        for container in services.values():
            if step == 1 and container.config_volume:
                data["config"][container.config_volume] = {
                    "image": images[container.config_image],
                    "step_config": container.step_config,
                    "puppet_tags": container.puppet_tags,
                }
            if step == 1:
                data["kolla"].update(container.kolla)
            for name, spec in (container.steps.get(step) or {}).items():
                data["containers"][name] = {**spec, "image": images[str(spec["image"])]}
        if data["config"]:
            data["config_step"] = steps + 1  # every step's config at once, as container-puppet's STEP=6
        if data["config"] or data["containers"] or data["kolla"]:
            out[step] = data
    return out
