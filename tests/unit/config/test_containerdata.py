"""role_data's container part: checked with the service template and YAML path; step files as the node
agent reads them."""

from __future__ import annotations

from typing import Any

import pytest

from tripleo.config.containerdata import parse_container, resolve_images, step_files
from tripleo.errors import InputError

AT = "outputs.role_data.value"


def role_data(**change: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "service_name": "memcached",
        "puppet_config": {
            "config_volume": "memcached",
            "config_image": "tripleo/memcached",
            "step_config": "include x",
            "puppet_tags": "file",
        },
        "kolla_config": {"/var/lib/kolla/config_files/memcached.json": {"command": "memcached"}},
        "docker_config": {"step_2": {"memcached": {"image": "tripleo/memcached", "net": "host"}}},
    }
    data.update(change)
    return data


def test_a_service_without_docker_config_runs_on_the_node() -> None:
    assert parse_container({"service_name": "x", "step_config": "include x"}, "x", "x.yaml") is None


def test_the_container_part_is_read() -> None:
    container = parse_container(role_data(), "memcached", "m.yaml")
    assert container is not None
    assert container.config_volume == "memcached" and container.steps[2]["memcached"]["net"] == "host"
    assert container.images == {"tripleo/memcached"}


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"docker_config": {"step_2": {"memcached": {"image": "i", "ports": [1]}}}},
         "docker_config.step_2.memcached.ports", "unknown key 'ports'"),
        ({"docker_config": {"step_9": {}}}, "docker_config.step_9", "is not a step"),
        ({"docker_config": {"step_1": {"memcached": {"net": "host"}}}},
         "docker_config.step_1.memcached.image", "container memcached has no image"),
        ({"docker_config": {"step_1": {"m": {"image": "i", "volumes": "a:b"}}}},
         "docker_config.step_1.m.volumes", "volumes must be a list of strings"),
        ({"puppet_config": {"config_volume": "memcached"}}, "puppet_config",
         "needs both config_volume and config_image"),
        ({"kolla_config": {"/etc/x.json": {"command": "c"}}}, "kolla_config./etc/x.json",
         "a kolla config is /var/lib/kolla/config_files/"),
        ({"docker_config": {"step_3": {"sync": {"image": "i", "detach": "no"}}}},
         "docker_config.step_3.sync.detach", "detach must be true or false"),
        ({"docker_config": {"step_3": {"sync": {"image": "i", "start_order": "first"}}}},
         "docker_config.step_3.sync.start_order", "start_order must be a whole number from 0"),
    ],
)  # fmt: skip
def test_bad_container_data_names_the_service_file_and_path(change: dict[str, Any], path: str,
                                                            message: str) -> None:  # fmt: skip
    with pytest.raises(InputError) as err:
        parse_container(role_data(**change), "memcached", "m.yaml")
    assert str(err.value).startswith(f"m.yaml: {AT}.{path}: service memcached: ")
    assert message in str(err.value)


def test_step_files_carry_resolved_images_config_in_step_one() -> None:
    container = parse_container(role_data(), "memcached", "m.yaml")
    assert container is not None
    images = resolve_images("memcached", "controller-0", container, lambda i: f"reg:8787/{i}:abc")
    files = step_files({"memcached": container}, images, "reg:8787", 5)
    assert sorted(files) == [1, 2]
    assert files[1]["config"]["memcached"]["image"] == "reg:8787/tripleo/memcached:abc"
    assert files[1]["config_step"] == 6 and files[1]["kolla"] and not files[1]["containers"]
    assert files[2]["containers"]["memcached"]["image"] == "reg:8787/tripleo/memcached:abc"
    assert files[2]["insecure_registries"] == ["reg:8787"]


def test_an_image_never_built_names_the_service_and_host() -> None:
    container = parse_container(role_data(), "memcached", "m.yaml")
    assert container is not None

    def missing(image: str) -> str:
        raise InputError(f"image {image} was never built")

    with pytest.raises(InputError) as err:
        resolve_images("memcached", "controller-0.overcloud.lab", container, missing)
    assert (
        str(err.value)
        == "service memcached on controller-0.overcloud.lab: image tripleo/memcached was never built"
    )
