"""status's cluster view (tripleo.workflows.clusterview): VIP holders and the templates' probes, read from
each host's answer to one script; the HA lab test asks real nodes."""

from __future__ import annotations

from typing import Any

from tripleo.nodeshell import FakeShell, Result, ShellTimeout
from tripleo.workflows.clusterview import UNREACHABLE, cluster_view, parse_values, vip_lines

PROBES = [{"name": "galera", "command": "show galera"}]
HOSTS: list[dict[str, Any]] = [
    {"name": "c0.lab", "ctlplane": "192.0.2.10", "probes": PROBES},
    {"name": "c1.lab", "ctlplane": "192.0.2.11", "probes": PROBES},
    {"name": "c2.lab", "ctlplane": "192.0.2.12", "probes": PROBES},
]


def _answer(addresses: list[str], galera: str) -> Result:
    text = "::tripleo-probe::addresses\n" + "\n".join(addresses) + "\n::tripleo-probe::galera\n" + galera
    return Result(0, text + "\n")


def test_one_holder_per_vip_and_each_hosts_probe_values() -> None:
    shells = {
        "192.0.2.10": FakeShell(
            default=_answer(["192.0.2.10/24", "10.0.0.4/32"], "cluster_size=3\nstate=Synced")
        ),
        "192.0.2.11": FakeShell(default=_answer(["192.0.2.11/24"], "cluster_size=3\nnoise without equals")),
        "192.0.2.12": FakeShell(default=ShellTimeout("192.0.2.12", "probe", 10)),
    }
    view = cluster_view(HOSTS, {"External": "10.0.0.4", "InternalApi": "172.16.2.4"},
                        connect=lambda h: shells[h["ctlplane"]])  # fmt: skip
    assert view["vip_holders"] == {"External": ["c0.lab"], "InternalApi": []}
    assert view["probes"]["galera"] == {
        "c0.lab": {"cluster_size": "3", "state": "Synced"},
        "c1.lab": {"cluster_size": "3"},
        "c2.lab": UNREACHABLE,
    }
    # one round trip per host, the probe's command inside the one script
    assert all(len(s.calls) == 1 for s in shells.values())
    assert "( show galera ) 2>/dev/null" in str(shells["192.0.2.10"].calls[0].command)


def test_vip_lines_say_what_is_wrong() -> None:
    lines = vip_lines({"External": "10.0.0.4", "InternalApi": "172.16.2.4", "Storage": "172.16.1.4"},
                      {"External": ["c0.lab"], "InternalApi": ["c0.lab", "c1.lab"]})  # fmt: skip
    assert lines == [
        "VIP External 10.0.0.4: c0.lab",
        "VIP InternalApi 172.16.2.4: ERROR: held by c0.lab, c1.lab",
        "VIP Storage 172.16.1.4: ERROR: no holder",
    ]
    assert parse_values(" a=1 \nb==2\n=3\nc\n") == {"a": "1", "b": "=2"}
