"""engine/plan.py: the desired resource against its stored record gives one action; deciding changes
nothing, and the plugin is asked about an update in place only when the properties changed."""

from __future__ import annotations

from tripleo.engine.plan import ADDED, REPLACED, UNCHANGED, UPDATED, choose
from tripleo.engine.state import COMPLETE, FAILED, ResourceRecord


def _stored(**changes: object) -> ResourceRecord:
    fields: dict[str, object] = {"path": "r", "stack_path": "", "name": "r", "type": "OS::Heat::Value",
                                 "implementation": "OS::Heat::Value", "kind": "native", "action": "CREATE",
                                 "status": COMPLETE, "physical_id": "id-1", "props_hash": "h1"}  # fmt: skip
    return ResourceRecord(**{**fields, **changes})  # type: ignore[arg-type]


WANTED = _stored(props_hash="h2")


def _never() -> bool:
    raise AssertionError("the plugin was asked about an update it does not need")


def test_a_new_resource_is_added_under_a_new_id_and_a_failed_create_keeps_its_id() -> None:
    first, second = choose(WANTED, None, None, _never), choose(WANTED, None, None, _never)
    assert (first.label, first.verb) == (ADDED, "CREATE") and first.physical_id != second.physical_id
    retried = choose(WANTED, _stored(status=FAILED), None, _never)
    assert (retried.label, retried.physical_id) == (ADDED, "id-1")


def test_same_properties_are_unchanged_without_asking_the_plugin() -> None:
    assert choose(WANTED, _stored(props_hash="h2"), None, _never).label == UNCHANGED


def test_changed_properties_update_in_place_when_the_plugin_can_else_replace() -> None:
    updated = choose(WANTED, _stored(), None, lambda: True)
    assert (updated.label, updated.verb, updated.physical_id, updated.old_properties) == (
        UPDATED, "UPDATE", "id-1", None)  # fmt: skip
    replaced = choose(WANTED, _stored(), None, lambda: False)
    assert (replaced.label, replaced.verb) == (REPLACED, "CREATE") and replaced.physical_id != "id-1"
    retried = choose(WANTED, _stored(), _stored(path="r#failed", physical_id="id-9"), lambda: False)
    assert retried.physical_id == "id-9"  # a replacement tried before keeps its id


def test_a_type_change_replaces_and_an_interrupted_update_runs_again_without_old_properties() -> None:
    assert choose(WANTED, _stored(type="OS::Heat::None"), None, _never).label == REPLACED
    again = choose(WANTED, _stored(action="UPDATE", status=FAILED), None, _never)
    assert (again.label, again.physical_id, again.old_properties) == (UPDATED, "id-1", {})
