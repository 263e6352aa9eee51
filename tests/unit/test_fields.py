"""The typed fields layer: each accessor takes what it should and refuses the rest with the file, the dotted
path and a message that says what was expected (tests as data: call in, value or error out)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tripleo.errors import InputError
from tripleo.fields import Collector, Field, Reader

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
PM_TYPES = {"ipmi": "ipmi", "pxe_ipmitool": "ipmi", "redfish": "redfish"}

GOOD: list[tuple[str, tuple[Any, ...], dict[str, Any], Any]] = [
    ("mapping", ({"a": 1},), {}, {"a": 1}),
    ("seq", ([1, 2],), {}, [1, 2]),
    ("text", ("", None), {}, ""),
    ("text", ("internal_api", NAME), {}, "internal_api"),
    ("text", (" ",), {"empty": False}, " "),
    ("integer", (0, 0, 10), {}, 0),
    ("integer", (10, 0, 10), {}, 10),
    ("integer", (-5,), {}, -5),
    ("integer", ("8", 1, 9), {"digits": True}, 8),
    ("integer", (" 8 ", 1, 9), {"digits": True}, 8),
    ("boolean", (False,), {}, False),
    ("one_of", ("pxe_ipmitool", PM_TYPES), {}, "ipmi"),
    ("texts", (["a", ""],), {}, ("a", "")),
    ("texts", ([],), {"empty": False}, ()),
]

BAD: list[tuple[str, tuple[Any, ...], dict[str, Any], str]] = [
    ("mapping", ([1],), {}, "expected a mapping, got list"),
    ("mapping", (None,), {}, "expected a mapping, got NoneType"),
    ("seq", ("a,b",), {}, "expected a list, got str"),
    ("seq", ({"a": 1},), {}, "expected a list, got dict"),
    ("text", (1,), {}, "expected a string, got 1"),
    ("text", ("Internal", NAME), {}, "expected a string matching ^[a-z][a-z0-9_]*$, got 'Internal'"),
    ("text", ("",), {"empty": False}, "expected a non-empty string, got ''"),
    ("integer", (11, 0, 10), {}, "expected an integer from 0 to 10, got 11"),
    ("integer", (-1, 0, 10), {}, "expected an integer from 0 to 10, got -1"),
    ("integer", (-1, 0), {}, "expected an integer from 0, got -1"),
    ("integer", (11, None, 10), {}, "expected an integer up to 10, got 11"),
    ("integer", (True,), {}, "expected an integer, got True"),
    ("integer", (1.0,), {}, "expected an integer, got 1.0"),
    ("integer", ("8", 1, 9), {}, "expected an integer from 1 to 9, got '8'"),
    ("integer", ("²", 1, 9), {"digits": True}, "expected an integer from 1 to 9, got '²'"),
    ("integer", ("99", 1, 9), {"digits": True}, "expected an integer from 1 to 9, got '99'"),
    ("boolean", ("no",), {}, "expected true or false, got 'no'"),
    ("boolean", (0,), {}, "expected true or false, got 0"),
    ("one_of", ("drac", PM_TYPES), {"what": "pm_type"},
     "unknown pm_type 'drac' (expected one of: ipmi, pxe_ipmitool, redfish)"),
    ("one_of", (["ipmi"], PM_TYPES), {},
     "unknown value ['ipmi'] (expected one of: ipmi, pxe_ipmitool, redfish)"),
    ("texts", ("a",), {}, "expected a list of strings, got 'a'"),
    ("texts", (["a", 1],), {}, "expected a list of strings, got ['a', 1]"),
    ("texts", (["a", ""],), {"empty": False}, "expected a list of non-empty strings, got ['a', '']"),
    ("mapping", ("x",), {"message": "a route needs destination and nexthop"},
     "a route needs destination and nexthop"),
]  # fmt: skip


def _call(reader: Reader, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    value, *rest = args
    return getattr(reader, method)(value, "nodes.2.x", *rest, **kwargs)


@pytest.mark.parametrize(("method", "args", "kwargs", "expected"), GOOD)
def test_a_value_of_the_right_type_comes_back_typed(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any], expected: Any
) -> None:
    got = _call(Reader("f.yaml"), method, args, kwargs)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(("method", "args", "kwargs", "message"), BAD)
def test_a_wrong_value_names_the_file_the_path_and_what_was_expected(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError) as caught:
        _call(Reader("f.yaml"), method, args, kwargs)
    assert (caught.value.file, caught.value.path, caught.value.message) == ("f.yaml", "nodes.2.x", message)
    assert str(caught.value) == f"f.yaml: nodes.2.x: {message}"
    assert caught.value.exit_code == 2


def test_paths_sit_under_at_and_messages_start_with_prefix() -> None:
    r = Reader("deployment/m.yaml", at="outputs.role_data.value", prefix="service memcached: ")
    with pytest.raises(InputError) as caught:
        r.boolean("no", "docker_config.step_2.m.detach")
    assert str(caught.value) == (
        "deployment/m.yaml: outputs.role_data.value.docker_config.step_2.m.detach: "
        "service memcached: expected true or false, got 'no'"
    )
    assert r.fail("", "whole").path == "outputs.role_data.value"  # the root itself
    assert Reader().fail("", "top").path is None and Reader().fail("", "top").file is None


def test_keys_refuses_the_first_unknown_key_at_its_own_path() -> None:
    r = Reader("lab.yaml")
    r.keys({"name": "n", "cpus": 2}, "nodes.0", {"name", "cpus", "memory_mb"})
    with pytest.raises(InputError) as caught:
        r.keys({"name": "n", "colour": 1, "size": 2}, "nodes.0", {"name", "cpus"})
    assert caught.value.path == "nodes.0.colour"
    assert caught.value.message == "unknown key 'colour' (expected one of: cpus, name)"
    with pytest.raises(InputError) as caught:
        r.keys({"extra": 1}, "", {"nodes"})
    assert (caught.value.file, caught.value.path) == ("lab.yaml", "extra")
    assert Reader.unknown({"b": 1, "a": 2, "ok": 3}, {"ok"}) == ["b", "a"]  # the data's order


def test_a_collector_records_every_problem_and_goes_on() -> None:
    check = Collector("nodes.json")
    assert check.attempt(check.integer, "4", "nodes.0.cpu", 1, 4096, digits=True) == 4
    assert check.attempt(check.integer, 0, "nodes.0.cpu", 1, 4096) is None
    assert check.attempt(check.mapping, "x", "nodes.1") is None
    check.note("nodes.2.bogus", "unknown field")
    assert [str(p) for p in check.problems] == [
        "nodes.json: nodes.0.cpu: expected an integer from 1 to 4096, got 0",
        "nodes.json: nodes.1: expected a mapping, got str",
        "nodes.json: nodes.2.bogus: unknown field",
    ]


def test_a_collector_lets_other_errors_through() -> None:
    def broken(value: Any, path: str) -> int:
        raise KeyError(path)

    with pytest.raises(KeyError):
        Collector().attempt(broken, 1, "x")


VLAN = Field("vlan", lambda r, value, path: r.integer(value, path, 1, 4094), default=None)
NAME_FIELD = Field("name", lambda r, value, path: r.text(value, path, NAME), missing="a network needs a name")


def test_a_field_reads_its_key_with_the_adapter_at_the_key_s_path() -> None:
    r = Reader("network_data.yaml")
    assert VLAN.read(r, {"vlan": 20}, "3") == 20
    assert VLAN.read(r, {}, "3") is None and VLAN.read(r, {"vlan": None}, "3") is None  # null is absent
    assert Field("tags", Reader.texts, default=()).read(r, {}, "3") == ()
    with pytest.raises(InputError) as caught:
        VLAN.read(r, {"vlan": 5000}, "3")
    assert str(caught.value) == "network_data.yaml: 3.vlan: expected an integer from 1 to 4094, got 5000"
    with pytest.raises(InputError) as caught:
        VLAN.read(r, {"vlan": "20"})
    assert caught.value.path == "vlan"


def test_a_field_without_a_default_is_required() -> None:
    r = Reader("network_data.yaml")
    assert NAME_FIELD.read(r, {"name": "tenant"}, "0") == "tenant"
    for data in ({}, {"name": None}):
        with pytest.raises(InputError) as caught:
            NAME_FIELD.read(r, data, "0")
        assert (caught.value.path, caught.value.message) == ("0.name", "a network needs a name")
    with pytest.raises(InputError, match=r"0\.name: missing"):
        Field("name", Reader.text).read(r, {}, "0")
