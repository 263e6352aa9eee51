"""The stack tree: registry resolution, nested stacks, groups, conditions, parameters, dependencies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tripleo.engine import load_tree, summarise
from tripleo.engine.graph import find_cycle, toposort
from tripleo.errors import TemplateError

Write = Callable[[str, Any], Path]


def _tree(
    write: Write, top: dict[str, Any], envs: list[dict[str, Any]] = (), **params: Any
) -> dict[str, Any]:  # type: ignore[assignment]
    t = write("top.yaml", top)
    env_paths = [str(write(f"env{i}.yaml", env)) for i, env in enumerate(envs)]
    return summarise(load_tree(str(t), env_paths, params or None, preview=True), preview=True)


def _paths(summary: dict[str, Any]) -> dict[str, str]:
    return {r["path"]: r["implementation"] for r in summary["resources"]}


NODE = {
    "heat_template_version": "2015-04-30",
    "parameters": {"Index": {"type": "string"}, "Flavor": {"type": "string", "default": "baremetal"}},
    "resources": {"Server": {"type": "OS::TripleO::Server", "properties": {"name": {"get_param": "Index"}}}},
    "outputs": {"hostname": {"value": {"list_join": ["-", ["node", {"get_param": "Index"}]]}}},
}


def test_group_members_nested_templates_and_counts(write: Write) -> None:
    write("node.yaml", NODE)
    top = {
        "heat_template_version": "2015-04-30",
        "parameters": {"Count": {"type": "number", "default": 3}},
        "resources": {
            "Nodes": {
                "type": "OS::Heat::ResourceGroup",
                "properties": {
                    "count": {"get_param": "Count"},
                    "resource_def": {"type": "OS::TripleO::Node", "properties": {"Index": "%index%"}},
                    "removal_policies": [{"resource_list": ["1"]}],
                },
            },
            "Hosts": {
                "type": "OS::Heat::Value",
                "properties": {"value": {"get_attr": ["Nodes", "hostname"]}},
            },
        },
    }
    registry = {
        "resource_registry": {"OS::TripleO::Node": "node.yaml", "OS::TripleO::Server": "OS::Heat::None"}
    }
    summary = _tree(write, top, [registry])
    paths = _paths(summary)
    # group + 3 members (names 0, 2, 3: "1" is on the removal list) each with a Server, plus Hosts
    assert [p for p in paths if p.startswith("Nodes/") and p.count("/") == 1] == [
        "Nodes/0",
        "Nodes/2",
        "Nodes/3",
    ]
    assert summary["resource_count"] == 1 + 3 + 3 + 1
    assert summary["nested_stack_count"] == 1 + 3
    assert summary["max_depth"] == 2
    assert paths["Nodes/2/Server"] == "OS::Heat::None"
    member = next(r for r in summary["resources"] if r["path"] == "Nodes/3")
    assert member["properties"] == {"Index": "3"}
    assert member["outputs"] == {"hostname": "node-3"}


def test_registry_later_environment_wins_and_null_deletes(write: Write) -> None:
    write("a.yaml", {"heat_template_version": "2015-04-30", "resources": {}})
    write("sub/b.yaml", {"heat_template_version": "2015-04-30", "resources": {}})
    top = {"heat_template_version": "2015-04-30", "resources": {"R": {"type": "OS::TripleO::Thing"}}}
    first = {"resource_registry": {"OS::TripleO::Thing": "a.yaml"}}
    second = {"resource_registry": {"OS::TripleO::Thing": "b.yaml"}}
    write("sub/env.yaml", second)
    t = write("top.yaml", top)
    e1 = write("env1.yaml", first)
    tree = summarise(load_tree(str(t), [str(e1), str(Path(e1).parent / "sub" / "env.yaml")]))
    assert tree["resources"][0]["implementation"].endswith("sub/b.yaml")  # relative to the env file
    third = write("env3.yaml", {"resource_registry": {"OS::TripleO::Thing": None}})
    with pytest.raises(TemplateError, match='Unknown resource type "OS::TripleO::Thing"'):
        load_tree(str(t), [str(e1), str(third)])


def test_glob_and_per_resource_override(write: Write) -> None:
    write("special.yaml", {"heat_template_version": "2015-04-30", "resources": {}})
    top = {
        "heat_template_version": "2015-04-30",
        "resources": {
            "A": {"type": "OS::TripleO::Services::Foo"},
            "B": {"type": "OS::TripleO::Services::Bar"},
        },
    }
    env = {
        "resource_registry": {
            "OS::TripleO::Services::*": "OS::Heat::None",
            "resources": {"B": {"OS::TripleO::Services::Bar": "special.yaml"}},
        }
    }
    paths = _paths(_tree(write, top, [env]))
    assert paths["A"] == "OS::Heat::None"
    assert paths["B"].endswith("special.yaml")


def test_registry_loop_is_named(write: Write) -> None:
    top = {"heat_template_version": "2015-04-30", "resources": {"R": {"type": "OS::A"}}}
    env = {"resource_registry": {"OS::A": "OS::B", "OS::B": "OS::A"}}
    with pytest.raises(TemplateError, match="OS::A -> OS::B -> OS::A"):
        _tree(write, top, [env])


def test_parameter_precedence(write: Write) -> None:
    string = {"type": "string", "default": "t"}
    write("child.yaml", {
        "heat_template_version": "2015-04-30",
        "parameters": {"Shared": string, "Own": string},
        "outputs": {"shared": {"value": {"get_param": "Shared"}}, "own": {"value": {"get_param": "Own"}}},
    })  # fmt: skip
    top = {
        "heat_template_version": "2015-04-30",
        "parameters": {"Shared": {"type": "string", "default": "t"}},
        "resources": {"C": {"type": "child.yaml", "properties": {"Own": "prop"}}},
        "outputs": {"shared": {"value": {"get_param": "Shared"}}},
    }
    env = {"parameter_defaults": {"Shared": "pd", "Own": "pd"}, "parameters": {"Shared": "user"}}
    summary = _tree(write, top, [env])
    assert summary["outputs"] == {"shared": "user"}  # parameters > parameter_defaults at the top
    child = next(r for r in summary["resources"] if r["path"] == "C")
    assert child["outputs"] == {"shared": "pd", "own": "prop"}  # properties > parameter_defaults > default


def test_merge_strategies(write: Write) -> None:
    top = {
        "heat_template_version": "2015-04-30",
        "parameters": {"L": {"type": "json"}, "M": {"type": "json"}},
        "outputs": {"l": {"value": {"get_param": "L"}}, "m": {"value": {"get_param": "M"}}},
    }
    first = {"parameter_defaults": {"L": ["a"], "M": {"x": {"p": 1}}}}
    second = {
        "parameter_merge_strategies": {"L": "merge", "M": "deep_merge"},
        "parameter_defaults": {"L": ["b"], "M": {"x": {"q": 2}}},
    }
    assert _tree(write, top, [first, second])["outputs"] == {"l": ["a", "b"], "m": {"x": {"p": 1, "q": 2}}}


def test_conditions_disable_resources_and_guard_references(write: Write) -> None:
    top = {
        "heat_template_version": "wallaby",
        "parameters": {"On": {"type": "boolean", "default": False}},
        "conditions": {"on": {"get_param": "On"}, "also": {"not": {"not": "on"}}},
        "resources": {
            "A": {"type": "OS::Heat::Value", "condition": "also", "properties": {"value": 1}},
            "B": {
                "type": "OS::Heat::Value",
                "depends_on": ["A"],
                "properties": {"value": {"if": ["on", {"get_attr": ["A", "value"]}, "off"]}},
            },
        },
    }
    summary = _tree(write, top)
    assert _paths(summary) == {"B": "OS::Heat::Value"}
    assert summary["resources"][0]["properties"] == {"value": "off"}
    assert summary["resource_count"] == 1
    top["resources"]["B"]["properties"] = {"value": {"get_attr": ["A", "value"]}}
    with pytest.raises(TemplateError, match='"A" is disabled'):
        _tree(write, top)


def test_dependency_cycle_through_get_attr(write: Write) -> None:
    top = {
        "heat_template_version": "2015-04-30",
        "resources": {
            "A": {"type": "OS::Heat::Value", "properties": {"value": {"get_attr": ["B", "value"]}}},
            "B": {"type": "OS::Heat::Value", "depends_on": "C"},
            "C": {"type": "OS::Heat::Value", "properties": {"value": {"get_resource": "A"}}},
        },
    }
    with pytest.raises(TemplateError, match=r"dependency cycle: A -> B -> C -> A") as err:
        _tree(write, top)
    assert str(err.value).startswith("top.yaml: resources: ")


def test_nested_error_names_nested_file(write: Write) -> None:
    write("child.yaml", {"heat_template_version": "2015-04-30", "resources": {"X": {"type": "OS::Nope"}}})
    top = {"heat_template_version": "2015-04-30", "resources": {"C": {"type": "child.yaml"}}}
    with pytest.raises(TemplateError) as err:
        _tree(write, top)
    assert str(err.value).startswith("child.yaml: resources.X.type: Unknown resource type")


def test_unknown_property_and_bad_attribute(write: Write) -> None:
    write("child.yaml", {"heat_template_version": "2015-04-30", "outputs": {"o": {"value": 1}}})
    top = {
        "heat_template_version": "2015-04-30",
        "resources": {"C": {"type": "child.yaml", "properties": {"x": 1}}},
    }
    with pytest.raises(TemplateError, match="Unknown Property x"):
        _tree(write, top)
    top = {
        "heat_template_version": "2015-04-30",
        "resources": {
            "C": {"type": "child.yaml"},
            "D": {"type": "OS::Heat::Value", "properties": {"value": {"get_attr": ["C", "nope"]}}},
        },
    }
    with pytest.raises(
        TemplateError, match=r"resources.D.properties.value.get_attr: The Referenced Attribute"
    ):
        _tree(write, top)


def test_chain_and_deployment_group(write: Write) -> None:
    top = {
        "heat_template_version": "wallaby",
        "resources": {
            "Chain": {
                "type": "OS::Heat::ResourceChain",
                "properties": {
                    "resources": ["OS::Heat::None", "OS::Heat::RandomString"],
                    "concurrent": False,
                },
            },
            "Deploy": {
                "type": "OS::Heat::SoftwareDeploymentGroup",
                "properties": {"config": "c", "servers": {"ctl-0": "id0", "cmp-0": "id1"}},
            },
        },
    }
    paths = _paths(_tree(write, top))
    assert paths["Chain/1"] == "OS::Heat::RandomString"
    assert paths["Deploy/cmp-0"] == "OS::Heat::SoftwareDeployment"


def test_missing_values_are_unset_in_validate_but_constraints_hold(write: Write) -> None:
    top = {
        "heat_template_version": "2015-04-30",
        "parameters": {"Pw": {"type": "string", "hidden": True}, "N": {"type": "number", "default": 1,
                       "constraints": [{"range": {"min": 1, "max": 3}}]}},
    }  # fmt: skip
    assert _tree(write, top)["unset_parameters"] == ["Pw"]
    with pytest.raises(TemplateError, match=r"--parameter N: value of \"7\" must be between 1 and 3"):
        _tree(write, top, N="7")


def test_graph_toposort_and_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a", "c"}}
    order = toposort(graph)
    assert order.index("c") < order.index("b") < order.index("a") < order.index("d")
    assert find_cycle(graph) is None
    assert find_cycle({"a": {"b"}, "b": {"a"}}) in (["a", "b", "a"], ["b", "a", "b"])
    with pytest.raises(ValueError, match="->"):
        toposort({"x": {"y"}, "y": {"x"}})
