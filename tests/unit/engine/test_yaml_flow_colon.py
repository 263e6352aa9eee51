"""Issue 23: the bounded loader takes what libyaml refuses and PyYAML's pure parser takes, as the Heat of
Train and Ussuri took it: flow mappings with no space after the colon (``{get_attr:[Controller, name]}``,
in tripleo-heat-templates' puppet/role.role.j2.yaml of those releases). Such documents load as the pure
loader loads them, stay within the same bounds, and a document both parsers refuse is still one line with
its line and column."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tripleo import boundedyaml
from tripleo.boundedyaml import LIMITS, Limits, YamlLimitError
from tripleo.cli.main import cli
from tripleo.engine.template.yamlfile import load_yaml_text
from tripleo.errors import TemplateError

# as puppet/role.role.j2.yaml of Train and Ussuri renders it for the Controller role
ROLE = """heat_template_version: rocky
resources:
  Controller:
    type: OS::TripleO::ControllerServer
  NetHostMap:
    type: OS::Heat::Value
    properties:
      value:
        HOSTNAME: {get_attr:[Controller, name]}
        PORTS: {list_concat:[[a, b],{get_param:[ExtraPorts, Controller]}]}
        NESTED: {a:{b:{c:[1,2]}}, d:[2018-08-31]}
"""

needs_libyaml = pytest.mark.skipif(
    boundedyaml.SafeLoader is yaml.SafeLoader, reason="PyYAML is built without libyaml here"
)


def pure(text: str, loader: type[Any] = yaml.SafeLoader) -> Any:
    return yaml.load(text, Loader=loader)


@needs_libyaml
def test_libyaml_refuses_the_document_and_the_pure_parser_takes_it() -> None:
    """The premise: without the fallback, the C loader would refuse what Heat took."""
    with pytest.raises(yaml.MarkedYAMLError, match="found unexpected ':'"):
        yaml.load(ROLE, Loader=boundedyaml.SafeLoader)
    value = pure(ROLE)["resources"]["NetHostMap"]["properties"]["value"]
    assert value["HOSTNAME"] == {"get_attr": ["Controller", "name"]}


def test_safe_load_gives_what_the_pure_loader_gives() -> None:
    assert boundedyaml.safe_load(ROLE) == pure(ROLE)
    value = boundedyaml.safe_load(ROLE)["resources"]["NetHostMap"]["properties"]["value"]
    assert value["PORTS"] == {"list_concat": [["a", "b"], {"get_param": ["ExtraPorts", "Controller"]}]}
    assert str(value["NESTED"]["d"][0]) == "2018-08-31" and not isinstance(value["NESTED"]["d"][0], str)


def test_heat_load_gives_what_the_pure_loader_gives_with_dates_kept_as_strings() -> None:
    heat = boundedyaml.heat_load(ROLE)
    value = heat["resources"]["NetHostMap"]["properties"]["value"]
    assert value["HOSTNAME"] == {"get_attr": ["Controller", "name"]}
    assert value["NESTED"] == {"a": {"b": {"c": [1, 2]}}, "d": ["2018-08-31"]}
    assert heat["heat_template_version"] == "rocky"
    reference = pure(ROLE)
    reference["resources"]["NetHostMap"]["properties"]["value"]["NESTED"]["d"] = ["2018-08-31"]
    assert heat == reference


def test_the_engine_loads_it_and_a_template_using_it_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_yaml_text(ROLE, "role.yaml") == boundedyaml.heat_load(ROLE)
    monkeypatch.chdir(tmp_path)
    Path("t.yaml").write_text(
        "heat_template_version: rocky\n"
        "parameters: {Names: {type: comma_delimited_list, default: [a, b]}}\n"
        "resources:\n"
        "  Host: {type: OS::Heat::Value, properties: {value: {get_param:[Names, 1]}}}\n"
        "  Map:\n"
        "    type: OS::Heat::Value\n"
        "    properties:\n"
        "      value: {HOSTNAME: {get_attr:[Host, value]}}\n"
        "outputs: {hostname: {value: {get_attr:[Map, value, HOSTNAME]}}}\n"
    )
    result = CliRunner().invoke(cli, ["stack", "validate", "-t", "t.yaml"])
    assert result.exit_code == 0, result.output
    assert "valid: 2 resources" in result.output


def flow_bomb(levels: int) -> str:
    """The alias bomb written with the colons libyaml refuses: each level a mapping whose one key holds
    ten aliases of the level before, ``{k:[*l0,*l0,...]}``."""
    lines = ['l0: &l0 {k:["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]}']
    for level in range(1, levels):
        refs = ",".join([f"*l{level - 1}"] * 10)
        lines.append(f"l{level}: &l{level} {{k:[{refs}]}}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("load", [boundedyaml.safe_load, boundedyaml.heat_load], ids=["safe", "heat"])
def test_a_bomb_written_that_way_is_still_refused_fast(load: Callable[[str], Any]) -> None:
    text = flow_bomb(6)
    assert len(text) < 1000
    if boundedyaml.SafeLoader is not yaml.SafeLoader:  # with libyaml, this is the pure parser's path
        with pytest.raises(yaml.MarkedYAMLError, match="found unexpected ':'"):
            yaml.load(text, Loader=boundedyaml.SafeLoader)
    start = time.perf_counter()
    with pytest.raises(YamlLimitError, match=f"expand to more than {LIMITS.max_alias_nodes} nodes") as err:
        load(text)
    assert time.perf_counter() - start < 0.5
    assert "\n" not in str(err.value) and "line " in str(err.value)
    small = load(flow_bomb(3))  # 3 levels: 20 aliases, as the pure loader builds them
    assert small == pure(flow_bomb(3)) and small["l2"]["k"][9]["k"][0] == {"k": ["lol"] * 10}


def test_the_other_bounds_hold_on_that_path() -> None:
    with pytest.raises(YamlLimitError, match="refers to a node that contains it"):
        boundedyaml.heat_load("a: &a {b:[1, *a]}\n")
    deep = "{a:" * 100 + "[]" + "}" * 100
    assert boundedyaml.safe_load("x: " + "[" * 98 + "]" * 98 + "\ny: {a:[]}\n")["y"] == {"a": []}
    with pytest.raises(YamlLimitError, match="nested deeper than 100 levels"):
        boundedyaml.safe_load(deep)
    many = "a: &a x\nb: {k:[" + ", ".join(["*a"] * 11) + "]}\n"
    with pytest.raises(YamlLimitError, match="more than 10 YAML aliases"):
        boundedyaml.safe_load(many, limits=Limits(max_aliases=10))
    with pytest.raises(YamlLimitError, match="larger than 10 bytes"):
        boundedyaml.safe_load("a: {b:[1]}\n", limits=Limits(max_bytes=10))
    # far past the pure composer's recursion: refused as too deep, not a RecursionError
    with pytest.raises(YamlLimitError, match="nested deeper"):
        boundedyaml.safe_load("{a:" * 3000 + "[]" + "}" * 3000)


def test_a_document_both_refuse_reports_the_pure_parsers_error() -> None:
    bad = "a: {get_attr:[x, name]}\nb: [1, 2\nc: 3\n"
    with pytest.raises(yaml.MarkedYAMLError) as ours:
        boundedyaml.heat_load(bad)
    with pytest.raises(yaml.MarkedYAMLError) as reference:
        pure(bad)
    assert not isinstance(ours.value, YamlLimitError)
    assert str(ours.value) == str(reference.value)
    assert ours.value.problem_mark is not None and ours.value.problem_mark.line == 2


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a: {get_attr:[x, name]}\nb: [1, 2\nc: 3\n", "line 3, column 2"),
        ("a: {get_attr:[x, name]}\nb: {c: d\ne: f\n", "line 3, column 2"),
        ("a: {b:[1]}\n  c: 2\n", "line 2, column 3"),
        ("a: {b:[1]}\nb: *nope\n", "line 2, column 4"),
    ],
    ids=["sequence", "mapping", "indent", "alias"],
)
def test_a_malformed_document_is_one_line_with_line_and_column(text: str, where: str) -> None:
    with pytest.raises(TemplateError) as err:
        load_yaml_text(text, "t.yaml")
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"t.yaml: {where}: malformed YAML: "), message


def test_the_cli_exits_2_with_one_line_for_such_a_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("t.yaml").write_text("heat_template_version: rocky\noutputs: {o: {value: {get_param:[p, 0]}}\n")
    result = CliRunner().invoke(cli, ["stack", "validate", "-t", "t.yaml"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: t.yaml: line 3, column 1: malformed YAML"), lines
