"""The provision state machine, as data: (state, event) -> next state, and what is refused."""

from __future__ import annotations

import pytest

from tripleo.baremetal import states
from tripleo.errors import OperationError

ALLOWED = [
    ("enroll", "manage", "verifying"),
    ("verifying", "done", "manageable"),
    ("verifying", "fail", "enroll"),
    ("manageable", "inspect", "inspecting"),
    ("inspecting", "done", "manageable"),
    ("inspecting", "fail", "inspect failed"),
    ("inspect failed", "inspect", "inspecting"),
    ("inspect failed", "manage", "manageable"),
    ("manageable", "provide", "cleaning"),
    ("cleaning", "done", "available"),
    ("cleaning", "fail", "clean failed"),
    ("clean failed", "manage", "manageable"),
    ("available", "deploy", "deploying"),
    ("deploying", "wait", "wait call-back"),
    ("wait call-back", "done", "active"),
    ("wait call-back", "fail", "deploy failed"),
    ("active", "undeploy", "deleting"),
    ("deploy failed", "undeploy", "deleting"),
    ("deploy failed", "deploy", "deploying"),
    ("deleting", "done", "cleaning"),
    ("deleting", "fail", "error"),
    ("error", "undeploy", "deleting"),
]
REFUSED = [
    ("enroll", "provide"),
    ("enroll", "inspect"),
    ("available", "inspect"),
    ("active", "deploy"),
    ("active", "manage"),
    ("manageable", "deploy"),
    ("deploying", "undeploy"),
]


@pytest.mark.parametrize(("state", "event", "target"), ALLOWED)
def test_allowed_transition(state: str, event: str, target: str) -> None:
    assert states.next_state(state, event) == target


@pytest.mark.parametrize(("state", "event"), REFUSED)
def test_refused_transition_names_where_it_is_allowed(state: str, event: str) -> None:
    with pytest.raises(
        OperationError, match=rf"node-1: cannot {event} a node in state '{state}' \(allowed from: "
    ):
        states.next_state(state, event, "node-1")


def test_every_transient_state_has_a_landing_state_after_an_interruption() -> None:
    assert set(states.INTERRUPTED) == set(states.TRANSIENT)
    for transient, landing in states.INTERRUPTED.items():
        assert landing not in states.TRANSIENT, transient
        assert landing in states.STATES


def test_the_issue_states_all_exist() -> None:
    wanted = {
        "enroll", "verifying", "manageable", "inspecting", "inspect failed", "available", "deploying",
        "wait call-back", "active", "deploy failed", "deleting", "cleaning", "error",
    }  # fmt: skip
    assert wanted <= set(states.STATES)
