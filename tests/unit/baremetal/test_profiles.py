"""``profiles match``: assignments explained; a short role named with what every other node lacked."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from bmkit import fake_node

from tripleo.baremetal import Conductor, ProfileShortage, match_profiles, parse_role
from tripleo.errors import InputError

AddNodes = Callable[..., list[str]]
PROFILES = {"Controller": "control", "Compute": "compute"}  # as roles_data's `profile` keys say
ROLES = [parse_role("Controller=1", PROFILES), parse_role("Compute=2", PROFILES)]


def test_parse_role_maps_tripleo_roles_to_profiles() -> None:
    assert (parse_role("Controller=1", PROFILES).profile, parse_role("Compute=2", PROFILES).count) == (
        "control",
        2,
    )
    assert parse_role("Networker=1", PROFILES).profile == "networker"
    assert parse_role("Compute=3:fast", PROFILES).profile == "fast"
    with pytest.raises(InputError, match="--role Compute: expected ROLE=COUNT"):
        parse_role("Compute")


def test_tagged_nodes_are_assigned_with_a_reason_each(conductor: Conductor, add_nodes: AddNodes) -> None:
    add_nodes(
        fake_node("node-0", "control"), fake_node("node-1", "compute", 1), fake_node("node-2", "compute", 2)
    )
    choices = match_profiles(conductor, ROLES)
    assert [(c.role, c.node, c.reason) for c in choices] == [
        ("Controller", "node-0", "has profile:control"),
        ("Compute", "node-1", "has profile:compute"),
        ("Compute", "node-2", "has profile:compute"),
    ]


def test_possible_profiles_are_given_only_when_every_role_is_covered(
    conductor: Conductor, add_nodes: AddNodes
) -> None:
    add_nodes(
        fake_node("node-0", "control"),
        fake_node("node-1", "compute", 1),
        fake_node("node-2", None, 2, capabilities="compute_profile:1,boot_option:local"),
    )
    choices = match_profiles(conductor, ROLES, dry_run=True)
    assert choices[-1].reason == "given profile:compute (it offers compute_profile)"
    assert conductor.get("node-2").profile is None  # dry run
    match_profiles(conductor, ROLES)
    assert conductor.get("node-2").profile == "compute"


def test_too_few_compute_nodes_says_which_role_and_what_the_others_lacked(
    conductor: Conductor, add_nodes: AddNodes
) -> None:
    add_nodes(fake_node("node-0", "control"), fake_node("node-1", "compute", 1), fake_node("node-3", None, 3))
    add_nodes(fake_node("node-2", "compute", 2), state="manageable")
    with pytest.raises(ProfileShortage) as info:
        match_profiles(conductor, ROLES)
    assert info.value.problems == [
        "Compute needs 2 nodes with profile:compute, found 1 (node-1); the others lack it: "
        "node-0 went to Controller; node-2 is manageable (not available); "
        "node-3 has no profile and does not offer compute_profile"
    ]
