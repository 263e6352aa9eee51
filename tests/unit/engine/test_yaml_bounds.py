"""The bounded YAML loader (tripleo.boundedyaml) and every path that loads through it: alias bombs, deep
nesting, recursive aliases and oversized documents are refused before any object is built, fast, with
the file named; ordinary anchors, aliases and merge keys still load, and Heat's documents keep dates as
strings."""

from __future__ import annotations

import datetime as dt
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tripleo import boundedyaml
from tripleo.boundedyaml import LIMITS, Limits, YamlLimitError
from tripleo.cli.main import cli
from tripleo.engine.template.environment import load_environments
from tripleo.engine.template.template import load_template
from tripleo.engine.template.yamlfile import load_yaml_file, load_yaml_text
from tripleo.errors import InputError, TemplateError


def bomb(levels: int, fanout: int = 10, indent: str = "") -> str:
    """The classic alias bomb: ``levels`` anchors, a list of ten strings then each a list of ``fanout``
    aliases of the one before (six levels: a million strings from some 500 bytes)."""
    lines = [f'{indent}l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        refs = ",".join([f"*l{level - 1}"] * fanout)
        lines.append(f"{indent}l{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


def merge_bomb(levels: int) -> str:
    """The same with merge keys: each mapping merges the one before ten times."""
    lines = ["m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10}"]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*m{level - 1}"] * 10)
        lines.append(f"m{level}: &m{level} {{<<: [{refs}], k{level}: {level}}}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def quick() -> Iterator[Callable[[], None]]:
    """Asserts, when called, that the test ran in well under a second and allocated little."""
    tracemalloc.start()
    start = time.perf_counter()

    def check() -> None:
        took = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        assert took < 0.5, f"took {took:.2f} s"
        assert peak < 20 * 1024 * 1024, f"peak allocation {peak / 1e6:.1f} MB"

    yield check
    tracemalloc.stop()


# -- the loader -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("load", [boundedyaml.safe_load, boundedyaml.heat_load], ids=["safe", "heat"])
@pytest.mark.parametrize("text", [bomb(6), bomb(9), merge_bomb(6)], ids=["six", "nine", "merge"])
def test_an_alias_bomb_is_refused_fast(
    load: Callable[[str], Any], text: str, quick: Callable[[], None]
) -> None:
    with pytest.raises(YamlLimitError, match=f"expand to more than {LIMITS.max_alias_nodes} nodes") as err:
        load(text)
    quick()
    assert isinstance(err.value, yaml.YAMLError)  # every caller's `except yaml.YAMLError` catches it
    assert "\n" not in str(err.value) and "line " in str(err.value)


def test_four_levels_of_ten_load_and_five_do_not() -> None:
    data = boundedyaml.safe_load(bomb(4))
    assert len(data["l3"]) == 10 and data["l3"][0][0][0] == data["l0"]
    with pytest.raises(YamlLimitError):
        boundedyaml.safe_load(bomb(5))


def test_alias_uses_are_counted() -> None:
    many = "a: &a x\nb: [" + ", ".join(["*a"] * 101) + "]\n"
    assert len(boundedyaml.safe_load(many, limits=Limits(max_aliases=101))["b"]) == 101
    with pytest.raises(YamlLimitError, match="more than 100 YAML aliases"):
        boundedyaml.safe_load(many, limits=Limits(max_aliases=100))


def test_nesting_depth_is_bounded_with_aliases_expanded() -> None:
    deep = "[" * 100 + "]" * 100
    assert boundedyaml.safe_load(deep) == eval(deep)  # a literal of nested lists
    with pytest.raises(YamlLimitError, match="nested deeper than 100 levels"):
        boundedyaml.safe_load("[" * 101 + "]" * 101)
    # sixty levels used under sixty more through an alias: each part is shallow, the document is not
    nested = "a: &a " + "[" * 60 + "]" * 60 + "\nb: " + "[" * 60 + "*a" + "]" * 60 + "\n"
    with pytest.raises(YamlLimitError, match="nested deeper"):
        boundedyaml.safe_load(nested)


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(YamlLimitError, match="refers to a node that contains it"):
        boundedyaml.safe_load("a: &a [1, *a]\n")
    with pytest.raises(YamlLimitError, match="refers to a node that contains it"):
        boundedyaml.heat_load("a: &a {b: *a}\n")


def test_a_document_too_large_is_refused_before_it_is_parsed(quick: Callable[[], None]) -> None:
    text = "x: " + "y" * (LIMITS.max_bytes + 1)
    with pytest.raises(YamlLimitError, match=f"larger than {LIMITS.max_bytes} bytes"):
        boundedyaml.safe_load(text)
    quick()


def test_ordinary_anchors_aliases_and_merge_keys_still_load() -> None:
    text = """
base: &base {image: centos, tag: "9"}
ports: &ports [80, 443]
web:
  <<: *base
  tag: "10"
  ports: *ports
db: {<<: [*base], ports: [*ports, *ports]}
"""
    data = boundedyaml.heat_load(text)
    assert data["web"] == {"image": "centos", "tag": "10", "ports": [80, 443]}
    assert data["db"] == {"image": "centos", "tag": "9", "ports": [[80, 443], [80, 443]]}
    assert boundedyaml.safe_load("") is None and boundedyaml.safe_load("# nothing\n") is None
    assert boundedyaml.safe_load(b"a: 1\n") == {"a": 1}


def test_heat_documents_keep_dates_as_strings_and_others_do_not() -> None:
    text = "heat_template_version: 2018-08-31\nwhen: 2001-12-14t21:59:43.10-05:00\n"
    heat = boundedyaml.heat_load(text)
    assert heat == {"heat_template_version": "2018-08-31", "when": "2001-12-14t21:59:43.10-05:00"}
    assert boundedyaml.safe_load(text)["heat_template_version"] == dt.date(2018, 8, 31)


def test_malformed_yaml_is_still_a_yaml_error_with_its_line() -> None:
    with pytest.raises(yaml.MarkedYAMLError) as err:
        boundedyaml.safe_load("a: [1, 2\nb: 3\n")
    assert not isinstance(err.value, YamlLimitError)
    with pytest.raises(yaml.YAMLError, match="undefined alias"):
        boundedyaml.safe_load("a: *nope\n")


# -- the engine's paths -----------------------------------------------------------------------------------


def _template_with(part: str) -> str:
    return "heat_template_version: wallaby\nparameters:\n  p:\n    type: json\n    default:\n" + part


def test_the_engine_refuses_a_bomb_naming_the_file(tmp_path: Path, quick: Callable[[], None]) -> None:
    with pytest.raises(TemplateError) as err:
        load_yaml_text(bomb(6), "bomb.yaml")
    assert str(err.value).startswith("bomb.yaml: YAML aliases expand to more than")
    path = tmp_path / "t.yaml"
    path.write_text(_template_with(bomb(6, indent="      ")))
    with pytest.raises(TemplateError) as err:
        load_template(str(path))
    assert err.value.file is not None and err.value.file.endswith("t.yaml")
    env = tmp_path / "env.yaml"
    env.write_text("parameter_defaults:\n" + bomb(6, indent="  "))
    with pytest.raises(TemplateError) as err:
        load_environments([str(env)])
    assert err.value.file is not None and err.value.file.endswith("env.yaml")
    other = tmp_path / "other.yaml"
    other.write_text(merge_bomb(7))
    with pytest.raises(TemplateError, match="expand to more than"):
        load_yaml_file(str(other))
    quick()


def test_the_engine_still_refuses_tabs_and_bad_yaml_with_lines() -> None:
    with pytest.raises(TemplateError, match="line 2: tab character"):
        load_yaml_text("a:\n\tb: 1\n", "t.yaml")
    with pytest.raises(TemplateError, match=r"t.yaml: line 2, column \d+: malformed YAML"):
        load_yaml_text("a: [1\nb: 2\n", "t.yaml")


@pytest.mark.parametrize("where", ["template", "environment", "default"])
def test_the_cli_exits_2_with_one_line_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    monkeypatch.chdir(tmp_path)
    template = "heat_template_version: wallaby\noutputs: {o: {value: {get_param: p}}}\n"
    if where == "default":  # five levels: what `stack create` once stored and `output show` printed
        template += "parameters:\n  p:\n    type: json\n    default:\n" + bomb(5, indent="      ")
    else:
        template += "parameters: {p: {type: json, default: {}}}\n"
    if where == "template":
        template += bomb(6)
    Path("t.yaml").write_text(template)
    Path("e.yaml").write_text(
        "parameter_defaults:\n" + bomb(6, indent="  ") if where == "environment" else "{}\n"
    )
    start = time.perf_counter()
    result = CliRunner().invoke(cli, ["stack", "validate", "-t", "t.yaml", "-e", "e.yaml"])
    assert time.perf_counter() - start < 1.0
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.stderr
    named = "e.yaml" if where == "environment" else "t.yaml"
    assert lines[0].startswith(f"ERROR: {named}: ") and "expand to more than" in lines[0]


# -- the other readers of YAML ------------------------------------------------------------------------------


def _readers() -> list[tuple[str, Callable[[Path], Any]]]:
    from tripleo.baremetal.enroll import ImportProblems, load_nodes
    from tripleo.config.images import load_image_set
    from tripleo.lab.config import load_config
    from tripleo.network.model import load_network_data

    def nodes(path: Path) -> Any:
        try:
            return load_nodes(path)
        except ImportProblems as exc:
            raise exc.problems[0] from None

    return [
        ("lab", load_config),
        ("images", load_image_set),
        ("network", load_network_data),
        ("nodes", nodes),
    ]


@pytest.mark.parametrize("name", [name for name, _ in _readers()])
def test_every_reader_refuses_a_bomb_as_bad_input_naming_the_file(
    tmp_path: Path, name: str, quick: Callable[[], None]
) -> None:
    reader = dict(_readers())[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(bomb(7))
    with pytest.raises(InputError) as err:
        reader(path)
    quick()
    assert err.value.file == str(path) and "expand to more than" in str(err.value)
    assert "\n" not in str(err.value)
