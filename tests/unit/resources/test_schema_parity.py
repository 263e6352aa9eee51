"""Issue 13, acceptance 4: one schema per resource type, read by the engine and by every backend, so for
the same property change the noop and the real backend plan the same thing (update in place or replace)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tripleo.engine.schemas import HEAT_TYPES_WITHOUT_PLUGIN, SCHEMAS
from tripleo.errors import OperationError
from tripleo.resources.registry import Plugins
from tripleo.storage import open_database


@pytest.fixture
def backends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Plugins, Plugins]:
    monkeypatch.setenv("TRIPLEO_HOME", str(tmp_path))
    monkeypatch.delenv("TRIPLEO_DB_URL", raising=False)
    return Plugins("noop"), Plugins("real", db=open_database())


@pytest.mark.parametrize("type_name", sorted(SCHEMAS))
def test_every_property_change_plans_the_same_in_both_backends(
    type_name: str, backends: tuple[Plugins, Plugins]
) -> None:
    noop, real = (b.plugin(type_name) for b in backends)
    schema = SCHEMAS[type_name]
    assert noop.type_name == real.type_name == type_name
    for changed in [{name} for name in schema.properties] + [{"not_a_property"}, set(schema.properties)]:
        expected = schema.can_update(changed)
        assert noop.can_update(changed) is expected, (type_name, changed)
        assert real.can_update(changed) is expected, (type_name, changed)


def test_server_name_and_metadata_update_in_place_image_and_flavor_replace(
    backends: tuple[Plugins, Plugins],
) -> None:
    for plugins in backends:
        server = plugins.plugin("OS::Nova::Server")
        assert server.can_update({"name"}) and server.can_update({"metadata", "name"})
        assert not server.can_update({"image"}) and not server.can_update({"flavor"})
        assert not server.can_update({"name", "flavor"})


def test_a_type_without_a_plugin_is_refused(backends: tuple[Plugins, Plugins]) -> None:
    for plugins in backends:
        with pytest.raises(OperationError, match="OS::Neutron::Router"):
            plugins.plugin("OS::Neutron::Router")
    assert not HEAT_TYPES_WITHOUT_PLUGIN & set(SCHEMAS)


def test_validate_names_a_native_type_without_a_plugin(write: object) -> None:
    from tripleo import engine
    from tripleo.errors import TemplateError

    path = write(  # type: ignore[operator]
        "t.yaml",
        {"heat_template_version": "wallaby", "resources": {"R": {"type": "OS::Neutron::Router"}}},
    )
    with pytest.raises(TemplateError) as info:
        engine.load_tree(str(path))
    assert "OS::Neutron::Router" in str(info.value) and "has no plugin" in str(info.value)
    assert "resources.R.type" in str(info.value)
