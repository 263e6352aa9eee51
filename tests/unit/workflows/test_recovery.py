"""Which member bootstraps a cluster after a full outage (tripleo.workflows.recovery.decide), on recorded
facts; the HA lab test recovers a real Galera (tests/functional/ha)."""

from __future__ import annotations

import pytest

from tripleo.errors import OperationError
from tripleo.workflows.recovery import decide

ORDER = ["c0", "c1", "c2"]
UUID = "8b1a3f6e-2c1d-11ef-9d55-6b1d9e1a0c11"


def stopped(seqno: str, recovered: str = "", safe: str = "0", uuid: str = UUID) -> dict[str, str]:
    fact = {"running": "no", "uuid": uuid, "seqno": seqno, "safe_to_bootstrap": safe}
    return fact | ({"recovered": recovered} if recovered else {})


def test_a_member_in_a_primary_component_means_the_others_only_join() -> None:
    facts = {"c0": None, "c1": {"running": "yes", "state": "Primary"}, "c2": stopped("-1")}
    decision = decide(facts, ORDER)
    assert (decision.bootstrap, decision.join, decision.stop) == (None, ["c2"], [])
    assert "c1 runs in a primary component" in decision.reason


def test_members_waiting_outside_a_primary_component_are_stopped_first() -> None:
    facts = {"c0": {"running": "yes", "state": "non-Primary"}, "c1": stopped("12"), "c2": None}
    decision = decide(facts, ORDER)
    assert (decision.bootstrap, decision.stop) == (None, ["c0"])


def test_the_most_advanced_member_bootstraps_its_recovered_position_counts() -> None:
    facts = {"c0": stopped("-1", f"{UUID}:8120"), "c1": stopped("-1", f"{UUID}:8123"), "c2": None}
    decision = decide(facts, ORDER)
    assert (decision.bootstrap, decision.join) == ("c1", ["c0"])
    assert decision.reason == "c1 committed the most (seqno 8123; c0 8120; c2 unreachable)"


def test_a_tie_goes_to_the_member_marked_safe_then_to_the_bootstrap_order() -> None:
    assert (
        decide({"c0": stopped("40"), "c1": stopped("40", safe="1"), "c2": stopped("40")}, ORDER).bootstrap
        == "c1"
    )
    assert decide({"c0": stopped("40"), "c1": stopped("40"), "c2": stopped("40")}, ORDER).bootstrap == "c0"


def test_a_fresh_cluster_starts_on_the_first_member() -> None:
    zero = "00000000-0000-0000-0000-000000000000"
    decision = decide({h: stopped("-1", uuid=zero) for h in ORDER}, ORDER)
    assert (decision.bootstrap, decision.join) == ("c0", ["c1", "c2"])


def test_members_of_different_clusters_or_none_answering_are_refused() -> None:
    other = "11111111-2c1d-11ef-9d55-6b1d9e1a0c11"
    with pytest.raises(OperationError, match="different clusters"):
        decide({"c0": stopped("5"), "c1": stopped("9", uuid=other), "c2": None}, ORDER)
    with pytest.raises(OperationError, match="no member answered"):
        decide(dict.fromkeys(ORDER), ORDER)
