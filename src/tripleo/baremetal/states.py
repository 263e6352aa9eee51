"""Ironic's provision states and the transitions between them, as one explicit table.

::

    enroll --manage--> verifying --done--> manageable --inspect--> inspecting --done--> manageable
                                  \\--fail--> enroll                          \\--fail--> inspect failed
    manageable --provide--> cleaning --done--> available --deploy--> deploying --wait--> wait call-back
                                      \\--fail--> clean failed                             --done--> active
    active --undeploy--> deleting --done--> cleaning --done--> available
    deploying / wait call-back --fail--> deploy failed --undeploy--> deleting --fail--> error
                                         deploy failed --deploy--> deploying (a retry)

A state ending in ``ing`` (and ``wait call-back``) is transient: a process works on the node and holds its
lock. A transient node whose lock owner died was interrupted; :data:`INTERRUPTED` says where it lands.
"""

from __future__ import annotations

from tripleo.errors import OperationError

__all__ = [
    "ACTIVE",
    "AVAILABLE",
    "CLEANING",
    "CLEAN_FAILED",
    "DELETING",
    "DEPLOYING",
    "DEPLOY_FAILED",
    "ENROLL",
    "ERROR",
    "INSPECTING",
    "INSPECT_FAILED",
    "INTERRUPTED",
    "MANAGEABLE",
    "POWER_OFF",
    "POWER_ON",
    "STATES",
    "TRANSIENT",
    "VERIFYING",
    "WAIT_CALLBACK",
    "next_state",
]

ENROLL = "enroll"
VERIFYING = "verifying"
MANAGEABLE = "manageable"
INSPECTING = "inspecting"
INSPECT_FAILED = "inspect failed"
CLEANING = "cleaning"
CLEAN_FAILED = "clean failed"
AVAILABLE = "available"
DEPLOYING = "deploying"
WAIT_CALLBACK = "wait call-back"
ACTIVE = "active"
DEPLOY_FAILED = "deploy failed"
DELETING = "deleting"
ERROR = "error"

POWER_ON = "power on"
POWER_OFF = "power off"

# state -> {event: next state}
_MACHINE: dict[str, dict[str, str]] = {
    ENROLL: {"manage": VERIFYING},
    VERIFYING: {"done": MANAGEABLE, "fail": ENROLL},
    MANAGEABLE: {"manage": MANAGEABLE, "inspect": INSPECTING, "provide": CLEANING},
    INSPECTING: {"done": MANAGEABLE, "fail": INSPECT_FAILED},
    INSPECT_FAILED: {"manage": MANAGEABLE, "inspect": INSPECTING},
    CLEANING: {"done": AVAILABLE, "fail": CLEAN_FAILED},
    CLEAN_FAILED: {"manage": MANAGEABLE},
    AVAILABLE: {"manage": MANAGEABLE, "provide": AVAILABLE, "deploy": DEPLOYING},
    DEPLOYING: {"wait": WAIT_CALLBACK, "done": ACTIVE, "fail": DEPLOY_FAILED},
    WAIT_CALLBACK: {"done": ACTIVE, "fail": DEPLOY_FAILED},
    ACTIVE: {"undeploy": DELETING},
    DEPLOY_FAILED: {"undeploy": DELETING, "deploy": DEPLOYING},
    DELETING: {"done": CLEANING, "fail": ERROR},
    ERROR: {"undeploy": DELETING, "manage": MANAGEABLE},
}

STATES: tuple[str, ...] = tuple(_MACHINE)
TRANSIENT = frozenset({VERIFYING, INSPECTING, CLEANING, DEPLOYING, WAIT_CALLBACK, DELETING})
# Where a transient node lands when the process working on it died (Ironic's conductor take-over).
INTERRUPTED: dict[str, str] = {
    VERIFYING: ENROLL,
    INSPECTING: INSPECT_FAILED,
    CLEANING: CLEAN_FAILED,
    DEPLOYING: DEPLOY_FAILED,
    WAIT_CALLBACK: DEPLOY_FAILED,
    DELETING: ERROR,
}


def next_state(state: str, event: str, label: str = "node") -> str:
    """The state ``event`` leads to from ``state``.

    :raises OperationError: the event is not allowed in that state (names what is allowed).
    """
    events = _MACHINE.get(state)
    if events is None:
        raise OperationError(f"{label}: unknown provision state {state!r}")
    target = events.get(event)
    if target is None:
        allowed = sorted(s for s, evs in _MACHINE.items() if event in evs)
        raise OperationError(
            f"{label}: cannot {event} a node in state {state!r} (allowed from: {', '.join(allowed)})"
        )
    return target
