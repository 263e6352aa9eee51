"""Config digests: which unit a change reaches, and the plan against what the nodes applied."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tripleo.config.digests import UnitInputs, acting_steps, plan, query, unit_digests
from tripleo.config.roledata import Service
from tripleo.nodeshell import Call, FakeShell, Result, ShellTimeout

MODULES = Path(__file__).resolve().parents[3] / "templates" / "puppet" / "modules"
ALL = frozenset(range(1, 6))


def test_the_steps_a_profile_acts_in_come_from_its_step_tests() -> None:
    assert acting_steps("include tripleo::profile::base::keystone", MODULES, 5) == {3}
    assert acting_steps("include tripleo::profile::base::glance::api", MODULES, 5) == {4}
    assert acting_steps("include tripleo::profile::base::database::mysql", MODULES, 5) == {2, 3, 4, 5}
    assert acting_steps("include tripleo::profile::base", MODULES, 5) == ALL
    # unknown classes and classes that test no step act in every step; no Puppet acts in none
    assert acting_steps("include nosuch::thing", MODULES, 5) == ALL
    assert acting_steps("include tripleo::profile::base::keystone", None, 5) == ALL
    assert acting_steps("", MODULES, 5) == frozenset()


KEYSTONE = Service("keystone", "Controller", config_settings={"keystone::token_expiration": 3600},
                   step_config="include tripleo::profile::base::keystone")  # fmt: skip
MYSQL = Service("mysql", "Controller", config_settings={"mysql::password": "x"},
                step_config="include tripleo::profile::base::database::mysql")  # fmt: skip
ACTING = {"keystone": frozenset({3}), "mysql": frozenset({2, 3, 4, 5})}
SHARED = UnitInputs(modules="m1", hierarchy="h", agent="a")


def digests(settings: dict[str, object], all_nodes: object = 1, nic: object = None) -> dict[str, str]:
    hieradata = {"service_configs": settings, "all_nodes": {"x": all_nodes}}
    return unit_digests(hieradata=hieradata, network_config=nic, firewall="", services=[KEYSTONE, MYSQL],
                        acting=ACTING, shared=SHARED)  # fmt: skip


def changed(a: dict[str, str], b: dict[str, str]) -> list[str]:
    return [unit for unit in a if a[unit] != b[unit]]


def test_a_keystone_setting_reaches_step_3_only() -> None:
    base = {"keystone::token_expiration": 3600, "mysql::password": "x", "global": 1}
    before = digests(base)
    assert digests(dict(base)) == before  # the same inputs, the same digests
    assert changed(before, digests({**base, "keystone::token_expiration": 7200})) == ["step3"]
    assert changed(before, digests({**base, "mysql::password": "y"})) == ["step2", "step3", "step4", "step5"]
    every = ["step1", "step2", "step3", "step4", "step5"]
    assert changed(before, digests({**base, "global": 2})) == every  # owned by no service: every step
    assert changed(before, digests(base, all_nodes=2)) == every
    assert changed(before, digests(base, nic={"type": "interface"})) == ["network"]


def test_the_modules_digest_sees_contents_and_names(tmp_path: Path) -> None:
    """The modules' digest is their archive's: the same tree gives the same bytes, any change others."""
    from tripleo.config.download import _archive

    tree = tmp_path / "tree"
    (tree / "a").mkdir(parents=True)

    def digest() -> str:
        target = tmp_path / "modules.tar"
        _archive(tree, target)
        return hashlib.sha256(target.read_bytes()).hexdigest()

    (tree / "a" / "x.pp").write_text("class a {}\n")
    first = digest()
    assert digest() == first
    (tree / "a" / "x.pp").write_text("class a { }\n")
    second = digest()
    (tree / "a" / "x.pp").rename(tree / "a" / "y.pp")
    assert len({first, second, digest()}) == 3


def test_the_plan_runs_what_differs_what_was_never_applied_and_everything_when_forced() -> None:
    wanted = {"h1": {"network": "n", "step1": "a"}, "h2": {"network": "n", "step1": "a"},
              "h3": {"network": "n", "step1": "a"}}  # fmt: skip
    applied = {"h1": {"network": "n", "step1": "old"}, "h2": {"network": "n"}, "h3": None}
    plans = plan(wanted, applied)
    assert (plans["h1"].run, plans["h1"].reasons) == (["step1"], {"step1": "changed"})
    assert (plans["h2"].run, plans["h2"].reasons["step1"]) == (["step1"], "never applied on this node")
    assert plans["h3"].run == ["network", "step1"]  # a node that did not answer: everything
    assert plan(wanted, {h: dict(d) for h, d in wanted.items()})["h1"].run == []
    forced = plan(wanted, {h: dict(d) for h, d in wanted.items()}, force=["h2"])
    assert (forced["h1"].run, forced["h2"].run) == ([], ["network", "step1"])


def test_a_node_that_does_not_answer_is_none(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("not a key\n")
    key.chmod(0o600)
    # 127.0.0.1 on a port nothing listens on would be ssh's port 22: an address of the loopback net that no
    # sshd answers instead (nothing leaves the host)
    assert query({"h": "127.0.0.9"}, key, timeout=2) == {"h": None}


# what every node is asked, byte for byte: each record of /var/lib/tripleo/applied as "<unit> <digest>"
ASK = (
    '(cd /var/lib/tripleo/applied 2>/dev/null && for f in *; do [ -f "$f" ] && echo "$f $(cat "$f")"; done); '
    "if [ -f /etc/tripleo/boot-check.sh ]; then sh /etc/tripleo/boot-check.sh; "
    "elif [ -f /etc/tripleo/boot-services.json ] && [ -f /var/lib/tripleo/tripleo-agent.pyz ]; then "
    "python3 /var/lib/tripleo/tripleo-agent.pyz boot check; fi; true"
)

# address -> (the node's answer to ASK, what query makes of it)
NODES: dict[str, tuple[Result | ShellTimeout, dict[str, str] | None]] = {
    "192.0.2.10": (Result(0, "network n1\nstep1 a1\nstep3 c1\n"),
                   {"network": "n1", "step1": "a1", "step3": "c1"}),
    "192.0.2.11": (Result(0, ""), {}),  # a new node: nothing applied, every unit runs
    "192.0.2.12": (Result(0, "step1 a1\n  \njunk\nstep2 b1 \n"), {"step1": "a1", "step2": "b1"}),
    # a boot service found dead (tripleo.config.boot check): the deploy runs its service's steps again
    "192.0.2.15": (Result(0, "step1 a1\ndead haproxy\n"), {"step1": "a1", "dead:haproxy": ""}),
    "192.0.2.13": (Result(255, "", "ssh: connect to host 192.0.2.13 port 22: No route to host\n"), None),
    "192.0.2.14": (ShellTimeout("192.0.2.14", "cd", 7), None),  # connected, then hung
}  # fmt: skip


def test_query_asks_each_node_once_and_reads_its_records() -> None:
    shells = {address: FakeShell(address, {ASK: answer}) for address, (answer, _) in NODES.items()}
    hosts = {f"h{i}": address for i, address in enumerate(NODES)}
    applied = query(hosts, Path("/unused/key"), timeout=2, connect=shells.__getitem__)
    assert applied == {f"h{i}": expected for i, (_, expected) in enumerate(NODES.values())}
    # one round trip per node, the connect timeout plus five seconds for the answer
    assert all(shell.calls == [Call(ASK, None, 7)] for shell in shells.values())
    assert query({}, Path("/unused/key"), connect=shells.__getitem__) == {}


def test_what_query_reads_is_what_plan_compares() -> None:
    wanted = {"h0": {"network": "n1", "step1": "a1", "step3": "c2"}, "h1": {"network": "n1"}}
    shells = {"192.0.2.10": FakeShell(answers={ASK: NODES["192.0.2.10"][0]}),
              "192.0.2.13": FakeShell(answers={ASK: NODES["192.0.2.13"][0]})}  # fmt: skip
    applied = query({"h0": "192.0.2.10", "h1": "192.0.2.13"}, Path("/k"), connect=shells.__getitem__)
    plans = plan(wanted, applied)
    assert (plans["h0"].run, plans["h0"].reasons) == (["step3"], {"step3": "changed"})
    assert (plans["h1"].run, plans["h1"].reasons) == (["network"], {"network": "the node did not answer"})
