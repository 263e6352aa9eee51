"""Intrinsic-function conformance suite: cases as data in tests/data/functions/*.yaml.

Every expected value or error was derived from OpenStack Heat itself (heat/engine/hot/functions.py,
heat/engine/cfn/functions.py, heat/engine/hot/template.py) and checked by evaluating each case as a
stack output with Heat 27.0.1 in-process. A case is::

    name, version, expr, and exactly one of expect / error;
    optional params, values, files, conditions, resources, attributes, stack_name.

``expect`` is compared exactly (bool, int and float are distinct, as YAML gives them); ``error`` is
a case-insensitive substring of the TemplateError message.

Values known only after create (issue 13): ``expect`` is what ``stack validate`` computes, where the
string ``<unknown>`` stands for an unknown value (a get_attr of a resource not created yet, and every
function over one). Two optional keys check the other two stages: ``preview`` is what ``stack preview``
shows (null for an unknown, as Heat's preview does), and ``created`` is the value once the stack is
created (with the noop backend, in memory), when every input is known.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import tripleo.engine as engine
from tripleo.engine.executor import Executor
from tripleo.engine.functions.base import UNKNOWN
from tripleo.errors import TemplateError
from tripleo.resources.registry import Plugins

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "functions"

CASE_KEYS = {"name", "version", "expr", "expect", "error", "preview", "created"}
OPTIONAL_KEYS = ("params", "values", "files", "conditions", "resources", "attributes", "stack_name")

VERSIONS = (
    "2013-05-23",
    "2014-10-16",
    "2015-04-30",
    "2015-10-15",
    "2016-04-08",
    "2016-10-14",
    "2017-02-24",
    "2017-09-01",
    "2018-03-02",
    "2018-08-31",
    "2021-04-16",
)
ALIASES = {
    "newton": "2016-10-14",
    "ocata": "2017-02-24",
    "pike": "2017-09-01",
    "queens": "2018-03-02",
    "rocky": "2018-08-31",
    "wallaby": "2021-04-16",
}

# What Heat's function table holds in each version (heat/engine/hot/template.py).
_CFN_2013 = {
    "Fn::GetAZs",
    "Ref",
    "Fn::Select",
    "Fn::Join",
    "Fn::Split",
    "Fn::Replace",
    "Fn::Base64",
    "Fn::MemberListToMap",
    "Fn::ResourceFacade",
}
_BASE = {"get_param", "get_resource", "get_attr", "get_file", "list_join", "str_replace", "resource_facade"}
_ADDED = {
    "2013-05-23": _BASE | _CFN_2013,
    "2014-10-16": set(),
    "2015-04-30": {"repeat", "digest"},
    "2015-10-15": {"str_split"},
    "2016-04-08": {"map_merge"},
    "2016-10-14": {"yaql", "map_replace", "if"},
    "2017-02-24": {"filter", "str_replace_strict"},
    "2017-09-01": {"make_url", "list_concat", "str_replace_vstrict", "list_concat_unique", "contains"},
    "2018-03-02": set(),
    "2018-08-31": set(),
    "2021-04-16": set(),
}
# Functions mapped to hot_funcs.Removed ("not supported in this version of HOT").
_REMOVED_FROM = {name: "2014-10-16" for name in _CFN_2013 - {"Fn::Select"}} | {"Fn::Select": "2015-10-15"}
# Condition functions (only valid in the conditions section and in an `if` condition).
_CONDITION_ADDED = {
    "2016-10-14": {"get_param", "equals", "not", "and", "or"},
    "2017-09-01": {"yaql", "contains"},
}


def _tables() -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, set[str]]]:
    functions: dict[str, set[str]] = {}
    removed: dict[str, set[str]] = {}
    conditions: dict[str, set[str]] = {}
    live: set[str] = set()
    cond: set[str] = set()
    for version in VERSIONS:
        live |= _ADDED[version]
        cond |= _CONDITION_ADDED.get(version, set())
        gone = {name for name, since in _REMOVED_FROM.items() if since <= version}
        functions[version] = live - gone
        removed[version] = gone
        conditions[version] = set(cond)
    return functions, removed, conditions


HEAT_FUNCTIONS, HEAT_REMOVED, HEAT_CONDITION_FUNCTIONS = _tables()

# Resolving Fn::GetAZs makes Heat ask Nova for the availability zones, which needs a cloud; its
# presence in 2013-05-23 is not checked by value (its removal from 2014-10-16 is).
COVERAGE_EXEMPT = {("2013-05-23", "Fn::GetAZs")}


def _load() -> list[tuple[str, str, dict[str, Any]]]:
    cases = []
    for path in sorted(DATA_DIR.glob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or []
        assert isinstance(data, list), f"{path.name}: expected a list of cases"
        for case in data:
            cases.append((path.stem, str(case.get("name")), case))
    return cases


CASES = _load()


def canonical(version: str) -> str:
    return ALIASES.get(version, version)


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, int | float) or isinstance(actual, int | float):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(_same(actual[k], expected[k]) for k in expected)
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list | tuple)
            and len(actual) == len(expected)
            and all(_same(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return type(actual) is type(expected) and actual == expected


def _shown(value: Any) -> Any:
    """The value with each unknown written as the case files write it."""
    if value is UNKNOWN:
        return "<unknown>"
    if isinstance(value, dict):
        return {k: _shown(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_shown(v) for v in value]
    return value


class _MemoryStore:
    def __init__(self) -> None:
        self.records: dict[str, Any] = {}

    def load(self) -> dict[str, Any]:
        return dict(self.records)

    def save(self, records: Any, events: Any, removed: Any) -> None:
        self.records.update({r.path: r for r in records})
        for path in removed:
            self.records.pop(path, None)

    def properties(self, path: str) -> Any:
        return self.records[path].properties


def created_value(case: dict[str, Any]) -> Any:
    """The case's expression as an output of a stack created with the noop backend."""
    kwargs = {key: case[key] for key in OPTIONAL_KEYS if key in case and key != "attributes"}
    top = engine.expression_stack(case["expr"], version=case["version"], **kwargs)
    result = Executor(Plugins("noop"), _MemoryStore(), workers=1).converge(top)
    assert result.ok, result.reason
    return result.outputs.get("result")


@pytest.mark.parametrize("case", [c for _, _, c in CASES], ids=[f"{f}:{n}" for f, n, _ in CASES])
def test_case(case: dict[str, Any]) -> None:
    kwargs = {key: case[key] for key in OPTIONAL_KEYS if key in case}
    if "error" in case:
        with pytest.raises(TemplateError) as info:
            engine.evaluate(case["expr"], version=case["version"], **kwargs)
        assert case["error"].lower() in str(info.value).lower(), (
            f"error {str(info.value)!r} does not mention {case['error']!r}"
        )
        return
    actual = _shown(engine.evaluate(case["expr"], version=case["version"], **kwargs))
    assert _same(actual, case["expect"]), f"validate: expected {case['expect']!r}, got {actual!r}"
    if "preview" in case:
        shown = engine.evaluate(case["expr"], version=case["version"], preview=True, **kwargs)
        assert _same(shown, case["preview"]), f"preview: expected {case['preview']!r}, got {shown!r}"
    if "created" in case:
        value = created_value(case)
        assert _same(value, case["created"]), f"create: expected {case['created']!r}, got {value!r}"


def test_unknown_is_never_none_before_create() -> None:
    """A get_attr before create is UNKNOWN, never None, and so is a function over it."""
    resources = {"R": {"type": "OS::Heat::Value", "properties": {"value": [1, 2]}}}
    expr = {"yaql": {"expression": "$.data.len()", "data": {"get_attr": ["R", "value"]}}}
    assert engine.evaluate(expr, version="wallaby", resources=resources) is UNKNOWN
    case = {"version": "wallaby", "expr": expr, "resources": resources}
    assert created_value(case) == 2


def test_case_format() -> None:
    problems = []
    for file, name, case in CASES:
        where = f"{file}:{name}"
        unknown = set(case) - CASE_KEYS - set(OPTIONAL_KEYS)
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
        if not {"name", "version", "expr"} <= set(case):
            problems.append(f"{where}: needs name, version and expr")
        if ("expect" in case) == ("error" in case):
            problems.append(f"{where}: needs exactly one of expect / error")
        if "error" in case and ({"preview", "created"} & set(case)):
            problems.append(f"{where}: preview / created go with expect, not error")
        if "error" in case and not (isinstance(case["error"], str) and case["error"]):
            problems.append(f"{where}: error must be a non-empty string")
        if canonical(str(case.get("version"))) not in VERSIONS:
            problems.append(f"{where}: unknown version {case.get('version')!r}")
    assert not problems, "\n".join(problems)


def test_at_least_200_cases() -> None:
    assert len(CASES) >= 200, len(CASES)


def test_case_names_unique_per_file() -> None:
    seen: set[tuple[str, str]] = set()
    duplicates = []
    for file, name, _ in CASES:
        if (file, name) in seen:
            duplicates.append(f"{file}:{name}")
        seen.add((file, name))
    assert not duplicates, duplicates


def _function_keys(node: Any, table: set[str]) -> Iterator[str]:
    if isinstance(node, dict):
        if len(node) == 1:
            (key,) = node
            if key in table:
                yield key
        for value in node.values():
            yield from _function_keys(value, table)
    elif isinstance(node, list):
        for item in node:
            yield from _function_keys(item, table)


def test_every_function_covered_in_every_version() -> None:
    covered: set[tuple[str, str]] = set()
    for _, _, case in CASES:
        version = canonical(str(case["version"]))
        if version not in VERSIONS:
            continue
        for fn in _function_keys(case["expr"], HEAT_FUNCTIONS[version]):
            covered.add((version, fn))
        for fn in _function_keys(case.get("conditions"), HEAT_CONDITION_FUNCTIONS[version]):
            covered.add((version, fn))
    missing = [
        f"{version}: {fn}"
        for version in VERSIONS
        for fn in sorted(HEAT_FUNCTIONS[version] | HEAT_CONDITION_FUNCTIONS[version])
        if (version, fn) not in covered and (version, fn) not in COVERAGE_EXEMPT
    ]
    assert not missing, "functions without a case:\n" + "\n".join(missing)


def test_removed_functions_have_not_supported_cases() -> None:
    hits = [
        (canonical(str(case["version"])), next(iter(case["expr"])))
        for _, _, case in CASES
        if "not supported" in str(case.get("error", "")).lower()
        and isinstance(case["expr"], dict)
        and len(case["expr"]) == 1
    ]
    assert hits, "no 'not supported in this version' case"
    for version, fn in hits:
        # Removed by Heat, or (tripleo's rule from issue 2) a function of another version used here.
        assert fn in HEAT_REMOVED.get(version, set()) or fn not in HEAT_FUNCTIONS[version], (
            f"{fn} exists in {version}"
        )
    # every removed function is checked in at least one version
    assert {fn for _, fn in hits} >= set(_REMOVED_FROM)


# Functions that never see an unknown: get_resource and Ref give the resource name before create;
# resource_facade reads the parent's definition; Fn::GetAZs takes no argument; condition functions
# (equals, not, and, or) read only parameters, which are known before create.
_NEVER_UNKNOWN = {"get_resource", "Ref", "resource_facade", "Fn::ResourceFacade", "Fn::GetAZs"}


def test_every_function_has_an_unknown_case_in_each_stage() -> None:
    """Every function of wallaby, and every CFN function of 2013-05-23, has a case where an argument
    is unknown: validate gives <unknown> without an error, preview shows null, create computes it."""
    covered: set[str] = set()
    for file, _, case in CASES:
        if file != "unknown" or "<unknown>" not in str(case.get("expect")):
            continue
        assert {"preview", "created"} <= set(case), f"unknown:{case['name']}: needs preview and created"
        table = HEAT_FUNCTIONS[canonical(str(case["version"]))]
        outer = next(iter(case["expr"])) if isinstance(case["expr"], dict) else None
        if outer in table:
            covered.add(outer)
    wanted = (HEAT_FUNCTIONS["2021-04-16"] | HEAT_FUNCTIONS["2013-05-23"]) - _NEVER_UNKNOWN
    assert sorted(wanted - covered) == []
